/* The Llama forward pass: RMSNorm, RoPE attention with grouped K/V heads,
 * SwiGLU MLP, residual adds. Reads like the math, one layer at a time. */
#include "forward/forward.h"
#include "kernels/kernels.h"

void nt_forward_llama_scratch(const nt_hparams *hp, nt_scratch_dims *d)
{
    const int64_t q = (int64_t)hp->n_head * hp->head_dim, kv = (int64_t)hp->n_head_kv * hp->head_dim;
    d->x = d->xb = hp->n_embd;
    d->xb2 = q;
    d->qkv = q + 2 * kv;
    d->hb = d->hb2 = hp->n_ff;
}

static void final_norm(const nexttok_model *m, float *row)
{
    nt_rmsnorm(row, row, m->out_norm_w, m->hp.n_embd, m->hp.norm_eps);
}

void nt_forward_llama(const nexttok_model *m, nt_run *run, const nt_kv_view *kv, const nt_batch *b)
{
    const nt_hparams *hp = &m->hp;
    const int32_t n_tok = b->n_tok;
    const int64_t E = hp->n_embd, F = hp->n_ff, HD = hp->head_dim;
    const int64_t Q = hp->n_head * HD, KV = hp->n_head_kv * HD;
    const nt_scratch *sc = &run->sc;
    const nt_matmul_ctx *mm = &run->mm;
    float *x = sc->x, *xb = sc->xb, *xb2 = sc->xb2, *hb = sc->hb, *hb2 = sc->hb2;
    float *q = sc->qkv, *k = q + run->batch * Q, *v = k + run->batch * KV;

    for (int32_t t = 0; t < n_tok; t++) nt_weight_row_get(&m->tok_embd, b->tokens[t], x + t * E);

    for (int l = 0; l < hp->n_layer; l++) {
        const nt_llama_layer *L = &m->llama_layers[l];

        /* attention */
        for (int32_t t = 0; t < n_tok; t++) nt_rmsnorm(xb + t * E, x + t * E, L->attn_norm, E, hp->norm_eps);
        nt_matmul_ex(mm, &L->wq, xb, n_tok, q);
        nt_matmul_ex(mm, &L->wk, xb, n_tok, k);
        nt_matmul_ex(mm, &L->wv, xb, n_tok, v);
        for (int32_t t = 0; t < n_tok; t++) {
            for (int h = 0; h < hp->n_head; h++) nt_rope(q + t * Q + h * HD, HD, b->pos[t], &m->rope);
            for (int h = 0; h < hp->n_head_kv; h++) nt_rope(k + t * KV + h * HD, HD, b->pos[t], &m->rope);
            nt_kv_store(nt_batch_view(kv, b, t), l, b->pos[t], k + t * KV, v + t * KV);
        }
        nt_attention(mm->pool, &(nt_attention_args){
            .q = q, .q_stride = Q, .kv = kv, .batch = b, .layer = l, .out = xb2, .sc = sc,
            .n_head = hp->n_head, .n_head_kv = hp->n_head_kv, .head_dim = hp->head_dim});
        nt_matmul_ex(mm, &L->wo, xb2, n_tok, xb);
        nt_add(x, xb, n_tok * E);

        /* MLP: down(silu(gate(x)) * up(x)) */
        for (int32_t t = 0; t < n_tok; t++) nt_rmsnorm(xb + t * E, x + t * E, L->ffn_norm, E, hp->norm_eps);
        nt_matmul_ex(mm, &L->ffn_gate, xb, n_tok, hb);
        nt_matmul_ex(mm, &L->ffn_up, xb, n_tok, hb2);
        nt_silu_mul(hb, hb2, n_tok * F);
        nt_matmul_ex(mm, &L->ffn_down, hb, n_tok, xb);
        nt_add(x, xb, n_tok * E);
    }

    nt_forward_logits(m, run, x, b, final_norm);
}
