/* The GPT-2 forward pass: token + learned position embeddings, pre-LayerNorm
 * blocks with fused QKV attention and a tanh-GELU MLP, final LayerNorm. */
#include <string.h>

#include "forward/forward.h"
#include "kernels/kernels.h"

static void final_norm(const nexttok_model *m, float *row)
{
    nt_layernorm(row, row, m->out_norm_w, m->out_norm_b, m->hp.n_embd, m->hp.norm_eps);
}

void nt_forward_gpt2(nexttok_session *s, const int32_t *tokens, int32_t n_tok, float *rows)
{
    const nexttok_model *m = s->model;
    const nt_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd, F = hp->n_ff;
    const nt_scratch *sc = &s->scratch;
    float *x = sc->x, *xb = sc->xb, *xb2 = sc->xb2, *qkv = sc->qkv, *hb = sc->hb;

    for (int32_t t = 0; t < n_tok; t++) {
        nt_weight_row_get(&m->tok_embd, tokens[t], x + t * E);
        nt_weight_row_get(&m->pos_embd, s->pos + t, xb);
        nt_add(x + t * E, xb, E);
    }

    for (int l = 0; l < hp->n_layer; l++) {
        const nt_gpt2_layer *L = &m->gpt2_layers[l];

        /* attention: qkv = W x + b, rows laid out [q | k | v] */
        for (int32_t t = 0; t < n_tok; t++)
            nt_layernorm(xb + t * E, x + t * E, L->attn_norm_w, L->attn_norm_b, E, hp->norm_eps);
        nt_matmul(s->pool, &L->attn_qkv, xb, n_tok, qkv);
        nt_add_bias_rows(qkv, L->attn_qkv_b, n_tok, 3 * E);
        for (int32_t t = 0; t < n_tok; t++) {
            memcpy(nt_kv_row(s, s->k_cache, l, s->pos + t), qkv + t * 3 * E + E, (size_t)E * sizeof(float));
            memcpy(nt_kv_row(s, s->v_cache, l, s->pos + t), qkv + t * 3 * E + 2 * E, (size_t)E * sizeof(float));
        }
        nt_attention(s->pool, &(nt_attention_args){
            .q = qkv, .q_stride = 3 * E,
            .k = nt_kv_row(s, s->k_cache, l, 0), .v = nt_kv_row(s, s->v_cache, l, 0), .kv_dim = (int32_t)E,
            .out = xb2, .scores = sc->att, .n_ctx = s->n_ctx,
            .n_tok = n_tok, .pos0 = s->pos,
            .n_head = hp->n_head, .n_head_kv = hp->n_head_kv, .head_dim = hp->head_dim});
        nt_matmul(s->pool, &L->attn_out, xb2, n_tok, xb);
        nt_add_bias_rows(xb, L->attn_out_b, n_tok, E);
        nt_add(x, xb, n_tok * E);

        /* MLP: down(gelu(up(x) + b_up)) + b_down */
        for (int32_t t = 0; t < n_tok; t++)
            nt_layernorm(xb + t * E, x + t * E, L->ffn_norm_w, L->ffn_norm_b, E, hp->norm_eps);
        nt_matmul(s->pool, &L->ffn_up, xb, n_tok, hb);
        nt_add_bias_rows(hb, L->ffn_up_b, n_tok, F);
        nt_gelu_tanh(hb, n_tok * F);
        nt_matmul(s->pool, &L->ffn_down, hb, n_tok, xb);
        nt_add_bias_rows(xb, L->ffn_down_b, n_tok, E);
        nt_add(x, xb, n_tok * E);
    }

    nt_forward_logits(s, x, n_tok, rows, final_norm);
}
