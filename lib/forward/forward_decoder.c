/* The RoPE decoder pass of Llama and its relatives (Qwen, Gemma, Phi-3,
 * SmolLM3, OLMo 2, Granite, StableLM, StarCoder2). Per layer:
 *
 *   h = x + s * post_norm(attention(pre_norm(x)))
 *   x = h + s * post_norm(mlp(pre_norm(h)))
 *
 * (or x + attention(n) + mlp(n) with n = pre_norm(x) in a parallel layer),
 * where each step the family lacks is the identity: the architecture row
 * says which norm, RoPE and MLP, the layer's tensors say which norms and
 * biases exist, and the hyper-parameters give the scales and caps. */
#include <string.h>

#include "forward/forward.h"
#include "kernels/kernels.h"

void nt_forward_decoder_scratch(const nexttok_model *m, nt_scratch_dims *d)
{
    const nt_hparams *hp = &m->hp;
    const int64_t q = (int64_t)hp->n_head * hp->head_dim, kv = (int64_t)hp->n_head_kv * hp->head_dim;
    d->x = d->xb = hp->n_embd;
    d->xb2 = q;
    d->qkv = q + 2 * kv;
    d->hb = m->arch->ffn == NT_FFN_SWIGLU_FUSED ? 2 * (int64_t)hp->n_ff : hp->n_ff;
    d->hb2 = m->arch->ffn == NT_FFN_SWIGLU || m->arch->ffn == NT_FFN_GEGLU ? hp->n_ff : 0;
}

/* out = norm(x) row by row in the family's norm; no weight: a copy. */
static void norm_rows(const nexttok_model *m, const float *w, const float *bias, const float *x, float *out,
                      int32_t n_tok)
{
    const int64_t E = m->hp.n_embd;
    if (!w) {
        if (out != x) memcpy(out, x, (size_t)n_tok * (size_t)E * sizeof *out);
        return;
    }
    for (int32_t t = 0; t < n_tok; t++) {
        if (m->arch->norm == NT_NORM_LAYER) nt_layernorm(out + t * E, x + t * E, w, bias, E, m->hp.norm_eps);
        else nt_rmsnorm(out + t * E, x + t * E, w, E, m->hp.norm_eps);
    }
}

/* Where token t's q, k and v rows are: three arrays, or one fused row. */
typedef struct qkv_rows {
    float *q, *k, *v;
    int64_t q_stride, k_stride, v_stride;
} qkv_rows;

static void add_bias_strided(float *y, int64_t stride, const float *bias, int32_t n_tok, int64_t n)
{
    if (!bias) return;
    for (int32_t t = 0; t < n_tok; t++) nt_add(y + t * stride, bias, n);
}

static qkv_rows project_qkv(const nexttok_model *m, nt_run *run, const nt_layer *L, const float *in,
                            int32_t n_tok)
{
    const nt_hparams *hp = &m->hp;
    const int64_t Q = (int64_t)hp->n_head * hp->head_dim, KV = (int64_t)hp->n_head_kv * hp->head_dim;
    float *buf = run->sc.qkv;
    qkv_rows r;
    if (L->wqkv.data) {
        nt_run_matmul(run, &L->wqkv, in, n_tok, buf);
        NT_STEP(run) add_bias_strided(buf, Q + 2 * KV, L->bqkv, n_tok, Q + 2 * KV);
        r = (qkv_rows){buf, buf + Q, buf + Q + KV, Q + 2 * KV, Q + 2 * KV, Q + 2 * KV};
    } else {
        r = (qkv_rows){buf, buf + run->batch * Q, buf + run->batch * (Q + KV), Q, KV, KV};
        nt_run_matmul(run, &L->wq, in, n_tok, r.q);
        nt_run_matmul(run, &L->wk, in, n_tok, r.k);
        nt_run_matmul(run, &L->wv, in, n_tok, r.v);
    }
    NT_STEP(run) {
        add_bias_strided(r.q, r.q_stride, L->bq, n_tok, Q);
        add_bias_strided(r.k, r.k_stride, L->bk, n_tok, KV);
        add_bias_strided(r.v, r.v_stride, L->bv, n_tok, KV);
    }
    return r;
}

/* The Q/K norm of the family, on one token's rows of n_heads heads. */
static void qk_norm(const nexttok_model *m, const float *w, float *row, int32_t n_heads)
{
    const nt_hparams *hp = &m->hp;
    const int64_t HD = hp->head_dim;
    if (!w) return;
    switch (m->arch->qk_norm) {
    case NT_QK_NORM_FULL:
        nt_rmsnorm(row, row, w, n_heads * HD, hp->norm_eps);
        break;
    case NT_QK_NORM_HEAD:
        for (int32_t h = 0; h < n_heads; h++) nt_rmsnorm(row + h * HD, row + h * HD, w, HD, hp->norm_eps);
        break;
    case NT_QK_NORM_HEAD_LN:
        for (int32_t h = 0; h < n_heads; h++)
            nt_layernorm(row + h * HD, row + h * HD, w + h * HD, NULL, HD, hp->norm_eps);
        break;
    case NT_QK_NORM_NONE:
        break;
    }
}

static const nt_rope_cfg *layer_rope(const nexttok_model *m, const nt_run *run, const nt_layer *L)
{
    switch (L->rope) {
    case NT_LAYER_ROPE_NONE: return NULL;
    case NT_LAYER_ROPE_SWA: return &m->rope_swa;
    case NT_LAYER_ROPE_GLOBAL: break;
    }
    return run->long_rope ? &m->rope_long : &m->rope;
}

/* Attention after the projections: Q/K norms, RoPE, the cache, the
 * scores over the layer's window, the output projection into `out`. */
static void attend(const nexttok_model *m, nt_run *run, const nt_layer *L, int l, const nt_kv_view *kv,
                   const nt_batch *b, const qkv_rows *r, float *out)
{
    const nt_hparams *hp = &m->hp;
    const int64_t HD = hp->head_dim, E = hp->n_embd;
    const nt_rope_cfg *rope = layer_rope(m, run, L);
    NT_STEP_PARTS(run, t0, t1, b->n_tok, 1) {
        /* the rotations of the batch's positions, made once for the layers */
        const nt_rope_table *rt = rope ? nt_run_rope_table(run, b, rope, HD) : NULL;
        for (int64_t t = t0; t < t1; t++) {
            float *q = r->q + t * r->q_stride, *k = r->k + t * r->k_stride;
            qk_norm(m, L->q_norm, q, hp->n_head);
            qk_norm(m, L->k_norm, k, hp->n_head_kv);
            if (rt) {
                const double *c = rt->cos_t + t * rt->stride, *s = rt->sin_t + t * rt->stride;
                for (int h = 0; h < hp->n_head; h++) nt_rope_apply(q + h * HD, HD, rope, c, s);
                for (int h = 0; h < hp->n_head_kv; h++) nt_rope_apply(k + h * HD, HD, rope, c, s);
            } else {
                for (int h = 0; rope && h < hp->n_head; h++) nt_rope(q + h * HD, HD, b->pos[t], rope);
                for (int h = 0; rope && h < hp->n_head_kv; h++) nt_rope(k + h * HD, HD, b->pos[t], rope);
            }
            nt_kv_store(nt_batch_view(kv, b, t), l, b->pos[t], k, r->v + t * r->v_stride);
        }
    }
    nt_run_attention(run, &(nt_attention_args){
        .q = r->q, .q_stride = r->q_stride, .kv = kv, .batch = b, .layer = l, .out = run->sc.xb2, .sc = &run->sc,
        .n_head = hp->n_head, .n_head_kv = hp->n_head_kv, .head_dim = hp->head_dim, .scale = hp->kq_scale,
        .softcap = hp->attn_softcap, .window = L->window});
    nt_run_matmul(run, &L->wo, run->sc.xb2, b->n_tok, out);
    if (L->bo) NT_STEP(run) nt_add_bias_rows(out, L->bo, b->n_tok, E);
}

/* out = mlp(in) in the family's form; out may be in. */
static void mlp(const nexttok_model *m, nt_run *run, const nt_layer *L, const float *in, float *out,
                int32_t n_tok)
{
    const int64_t F = m->hp.n_ff;
    float *hb = run->sc.hb, *hb2 = run->sc.hb2;
    switch (m->arch->ffn) {
    case NT_FFN_SWIGLU:
    case NT_FFN_GEGLU:
        nt_run_matmul(run, &L->ffn_gate, in, n_tok, hb);
        nt_run_matmul(run, &L->ffn_up, in, n_tok, hb2);
        NT_STEP_PARTS(run, e0, e1, n_tok * F, NT_OPS_POOL_CHUNK) {
            if (m->arch->ffn == NT_FFN_SWIGLU) nt_silu_mul_pool(run->mm.pool, hb + e0, hb2 + e0, e1 - e0);
            else nt_gelu_mul_pool(run->mm.pool, hb + e0, hb2 + e0, e1 - e0);
        }
        break;
    case NT_FFN_SWIGLU_FUSED:
        /* rows of [gate | up]; the gated products close up to rows of F */
        nt_run_matmul(run, &L->ffn_up, in, n_tok, hb);
        NT_STEP_PARTS(run, t0, t1, n_tok, 1) for (int64_t t = t0; t < t1; t++) {
            nt_silu_mul(hb + t * 2 * F, hb + t * 2 * F + F, F);
            memmove(hb + t * F, hb + t * 2 * F, (size_t)F * sizeof *hb);
        }
        break;
    case NT_FFN_GELU:
        nt_run_matmul(run, &L->ffn_up, in, n_tok, hb);
        NT_STEP_PARTS(run, e0, e1, n_tok * F, NT_OPS_POOL_CHUNK) {
            if (L->ffn_up_b) nt_add_bias_range(hb, L->ffn_up_b, F, e0, e1);
            nt_gelu_tanh_pool(run->mm.pool, hb + e0, e1 - e0);
        }
        break;
    }
    nt_run_matmul(run, &L->ffn_down, hb, n_tok, out);
    if (L->ffn_down_b) NT_STEP(run) nt_add_bias_rows(out, L->ffn_down_b, n_tok, m->hp.n_embd);
}

/* x += s * post_norm(branch), the branch's rows in `branch` (overwritten). */
static void residual_add(const nexttok_model *m, float *x, float *branch, const float *post_norm, int32_t n_tok)
{
    const int64_t E = m->hp.n_embd;
    if (post_norm)
        for (int32_t t = 0; t < n_tok; t++) nt_rmsnorm(branch + t * E, branch + t * E, post_norm, E, m->hp.norm_eps);
    if (m->hp.residual_scale != 1.0f) nt_scale(branch, m->hp.residual_scale, n_tok * E);
    nt_add(x, branch, n_tok * E);
}

static void final_norm(const nexttok_model *m, float *row)
{
    if (m->arch->norm == NT_NORM_LAYER) nt_layernorm(row, row, m->out_norm_w, m->out_norm_b, m->hp.n_embd, m->hp.norm_eps);
    else nt_rmsnorm(row, row, m->out_norm_w, m->hp.n_embd, m->hp.norm_eps);
}

void nt_forward_decoder(const nexttok_model *m, nt_run *run, const nt_kv_view *kv, const nt_batch *b)
{
    const nt_hparams *hp = &m->hp;
    const int32_t n_tok = b->n_tok;
    const int64_t E = hp->n_embd;
    float *x = run->sc.x, *xb = run->sc.xb;

    nt_pass_begin(run);
    NT_STEP_PARTS(run, t0, t1, n_tok, 1) {
        for (int64_t t = t0; t < t1; t++) nt_weight_row_get(&m->tok_embd, b->tokens[t], x + t * E);
        if (hp->embd_scale != 1.0f) nt_scale(x + t0 * E, hp->embd_scale, (t1 - t0) * E);
    }

    for (int l = 0; l < hp->n_layer; l++) {
        const nt_layer *L = &m->layers[l];

        NT_STEP_PARTS(run, t0, t1, n_tok, 1)
            norm_rows(m, L->attn_norm, L->attn_norm_b, x + t0 * E, xb + t0 * E, (int32_t)(t1 - t0));
        const qkv_rows r = project_qkv(m, run, L, xb, n_tok);
        if (L->parallel) {
            /* the MLP reads the same normed input, before xb is reused */
            mlp(m, run, L, xb, xb, n_tok);
            NT_STEP_PARTS(run, t0, t1, n_tok, 1)
                residual_add(m, x + t0 * E, xb + t0 * E, L->post_ffn_norm, (int32_t)(t1 - t0));
        }
        attend(m, run, L, l, kv, b, &r, xb);
        NT_STEP_PARTS(run, t0, t1, n_tok, 1)
            residual_add(m, x + t0 * E, xb + t0 * E, L->post_attn_norm, (int32_t)(t1 - t0));

        if (!L->parallel) {
            NT_STEP_PARTS(run, t0, t1, n_tok, 1)
                norm_rows(m, L->ffn_norm, L->ffn_norm_b, x + t0 * E, xb + t0 * E, (int32_t)(t1 - t0));
            mlp(m, run, L, xb, xb, n_tok);
            NT_STEP_PARTS(run, t0, t1, n_tok, 1)
                residual_add(m, x + t0 * E, xb + t0 * E, L->post_ffn_norm, (int32_t)(t1 - t0));
        }
    }

    nt_forward_logits(m, run, x, b, final_norm);
    const int64_t rows = b->all_logits ? n_tok : 1, V = hp->n_vocab;
    NT_STEP_PARTS(run, e0, e1, rows * V, NT_OPS_POOL_CHUNK) {
        if (hp->logit_scale != 1.0f) nt_scale(b->logits + e0, 1.0f / hp->logit_scale, e1 - e0);
        if (hp->final_softcap > 0.0f) nt_softcap(b->logits + e0, hp->final_softcap, e1 - e0);
    }
}
