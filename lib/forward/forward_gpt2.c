/* The GPT-2 forward pass: token + learned position embeddings, pre-LayerNorm
 * blocks with fused QKV attention and a tanh-GELU MLP, final LayerNorm. */
#include "forward/forward.h"
#include "kernels/kernels.h"

void nt_forward_gpt2_scratch(const nexttok_model *m, nt_scratch_dims *d)
{
    const nt_hparams *hp = &m->hp;
    d->x = d->xb = d->xb2 = hp->n_embd;
    d->qkv = 3 * (int64_t)hp->n_embd;
    d->hb = hp->n_ff;
    d->hb2 = 0;
}

static void final_norm(const nexttok_model *m, float *row)
{
    nt_layernorm(row, row, m->out_norm_w, m->out_norm_b, m->hp.n_embd, m->hp.norm_eps);
}

void nt_forward_gpt2(const nexttok_model *m, nt_run *run, const nt_kv_view *kv, const nt_batch *b)
{
    const nt_hparams *hp = &m->hp;
    const int32_t n_tok = b->n_tok;
    const int64_t E = hp->n_embd, F = hp->n_ff;
    const nt_scratch *sc = &run->sc;
    float *x = sc->x, *xb = sc->xb, *xb2 = sc->xb2, *qkv = sc->qkv, *hb = sc->hb;

    nt_pass_begin(run);
    NT_STEP_PARTS(run, t0, t1, n_tok, 1) for (int64_t t = t0; t < t1; t++) {
        nt_weight_row_get(&m->tok_embd, b->tokens[t], x + t * E);
        nt_weight_row_get(&m->pos_embd, b->pos[t], xb);
        nt_add(x + t * E, xb, E);
    }

    for (int l = 0; l < hp->n_layer; l++) {
        const nt_gpt2_layer *L = &m->gpt2_layers[l];

        /* attention: qkv = W x + b, rows laid out [q | k | v] */
        NT_STEP_PARTS(run, t0, t1, n_tok, 1) for (int64_t t = t0; t < t1; t++)
            nt_layernorm(xb + t * E, x + t * E, L->attn_norm_w, L->attn_norm_b, E, hp->norm_eps);
        nt_run_matmul(run, &L->attn_qkv, xb, n_tok, qkv);
        NT_STEP_PARTS(run, t0, t1, n_tok, 1) for (int64_t t = t0; t < t1; t++) {
            nt_add(qkv + t * 3 * E, L->attn_qkv_b, 3 * E);
            nt_kv_store(nt_batch_view(kv, b, t), l, b->pos[t], qkv + t * 3 * E + E, qkv + t * 3 * E + 2 * E);
        }
        nt_run_attention(run, &(nt_attention_args){
            .q = qkv, .q_stride = 3 * E, .kv = kv, .batch = b, .layer = l, .out = xb2, .sc = sc,
            .n_head = hp->n_head, .n_head_kv = hp->n_head_kv, .head_dim = hp->head_dim,
            .scale = hp->kq_scale});
        nt_run_matmul(run, &L->attn_out, xb2, n_tok, xb);
        NT_STEP_PARTS(run, t0, t1, n_tok, 1) {
            nt_add_bias_rows(xb + t0 * E, L->attn_out_b, (int32_t)(t1 - t0), E);
            nt_add(x + t0 * E, xb + t0 * E, (t1 - t0) * E);
        }

        /* MLP: down(gelu(up(x) + b_up)) + b_down */
        NT_STEP_PARTS(run, t0, t1, n_tok, 1) for (int64_t t = t0; t < t1; t++)
            nt_layernorm(xb + t * E, x + t * E, L->ffn_norm_w, L->ffn_norm_b, E, hp->norm_eps);
        nt_run_matmul(run, &L->ffn_up, xb, n_tok, hb);
        NT_STEP_PARTS(run, e0, e1, n_tok * F, NT_OPS_POOL_CHUNK) {
            nt_add_bias_range(hb, L->ffn_up_b, F, e0, e1);
            nt_gelu_tanh_pool(run->mm.pool, hb + e0, e1 - e0);
        }
        nt_run_matmul(run, &L->ffn_down, hb, n_tok, xb);
        NT_STEP_PARTS(run, t0, t1, n_tok, 1) {
            nt_add_bias_rows(xb + t0 * E, L->ffn_down_b, (int32_t)(t1 - t0), E);
            nt_add(x + t0 * E, xb + t0 * E, (t1 - t0) * E);
        }
    }

    nt_forward_logits(m, run, x, b, final_norm);
}
