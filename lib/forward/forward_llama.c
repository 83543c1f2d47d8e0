/* The Llama forward pass: RMSNorm, RoPE attention with grouped K/V heads,
 * SwiGLU MLP, residual adds. Reads like the math, one layer at a time. */
#include <string.h>

#include "forward/forward.h"
#include "kernels/kernels.h"

static void final_norm(const nexttok_model *m, float *row)
{
    nt_rmsnorm(row, row, m->out_norm_w, m->hp.n_embd, m->hp.norm_eps);
}

void nt_forward_llama(nexttok_session *s, const int32_t *tokens, int32_t n_tok, float *rows)
{
    const nexttok_model *m = s->model;
    const nt_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd, F = hp->n_ff, KV = s->kv_dim, HD = hp->head_dim;
    const nt_scratch *sc = &s->scratch;
    float *x = sc->x, *xb = sc->xb, *xb2 = sc->xb2, *hb = sc->hb, *hb2 = sc->hb2;
    float *q = sc->qkv, *k = q + NT_BATCH * E, *v = k + NT_BATCH * KV;

    for (int32_t t = 0; t < n_tok; t++) nt_weight_row_get(&m->tok_embd, tokens[t], x + t * E);

    for (int l = 0; l < hp->n_layer; l++) {
        const nt_llama_layer *L = &m->llama_layers[l];

        /* attention */
        for (int32_t t = 0; t < n_tok; t++) nt_rmsnorm(xb + t * E, x + t * E, L->attn_norm, E, hp->norm_eps);
        nt_matmul(s->pool, &L->wq, xb, n_tok, q);
        nt_matmul(s->pool, &L->wk, xb, n_tok, k);
        nt_matmul(s->pool, &L->wv, xb, n_tok, v);
        for (int32_t t = 0; t < n_tok; t++) {
            const int32_t pos = s->pos + t;
            for (int h = 0; h < hp->n_head; h++)
                nt_rope(q + t * E + h * HD, HD, pos, &m->rope);
            for (int h = 0; h < hp->n_head_kv; h++)
                nt_rope(k + t * KV + h * HD, HD, pos, &m->rope);
            memcpy(nt_kv_row(s, s->k_cache, l, pos), k + t * KV, (size_t)KV * sizeof(float));
            memcpy(nt_kv_row(s, s->v_cache, l, pos), v + t * KV, (size_t)KV * sizeof(float));
        }
        nt_attention(s->pool, &(nt_attention_args){
            .q = q, .q_stride = E,
            .k = nt_kv_row(s, s->k_cache, l, 0), .v = nt_kv_row(s, s->v_cache, l, 0), .kv_dim = (int32_t)KV,
            .out = xb2, .scores = sc->att, .n_ctx = s->n_ctx,
            .n_tok = n_tok, .pos0 = s->pos,
            .n_head = hp->n_head, .n_head_kv = hp->n_head_kv, .head_dim = hp->head_dim});
        nt_matmul(s->pool, &L->wo, xb2, n_tok, xb);
        nt_add(x, xb, n_tok * E);

        /* MLP: down(silu(gate(x)) * up(x)) */
        for (int32_t t = 0; t < n_tok; t++) nt_rmsnorm(xb + t * E, x + t * E, L->ffn_norm, E, hp->norm_eps);
        nt_matmul(s->pool, &L->ffn_gate, xb, n_tok, hb);
        nt_matmul(s->pool, &L->ffn_up, xb, n_tok, hb2);
        nt_silu_mul(hb, hb2, n_tok * F);
        nt_matmul(s->pool, &L->ffn_down, hb, n_tok, xb);
        nt_add(x, xb, n_tok * E);
    }

    nt_forward_logits(s, x, n_tok, rows, final_norm);
}
