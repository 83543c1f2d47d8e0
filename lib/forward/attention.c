/* Causal attention over the KV cache, split by head across the pool. */
#include <math.h>
#include <string.h>

#include "forward/forward.h"
#include "core/isa.h"
#include "types/types.h"

typedef struct attention_job {
    const nt_attention_args *a;
    nt_attn_scores_fn scores; /* the ISA's loops over all keys, or NULL: */
    nt_attn_accum_fn accum;   /*   one dot and one axpy per key */
    nt_vec_dot_fn dot;       /* q . key head, in the cache's row type */
    nt_to_float_fn decode;   /* value head to F32; NULL when rows are F32 */
    nt_axpy_fn axpy;
} attention_job;

static void attention_head(void *ctx, int64_t h)
{
    const attention_job *job = ctx;
    const nt_attention_args *a = job->a;
    const nt_batch *b = a->batch;
    const int32_t hd = a->head_dim;
    const int32_t kvh = (int32_t)h / (a->n_head / a->n_head_kv);
    const float scale = a->scale;
    float *scores = a->sc->att + h * a->sc->att_stride;
    float *vbuf = scores + (a->sc->att_stride - hd); /* a decoded value head */

    for (int32_t t = 0; t < b->n_tok; t++) {
        const nt_kv_view *kv = nt_batch_view(a->kv, b, t);
        const int32_t j0 = a->window > 0 && b->pos[t] >= a->window ? b->pos[t] - a->window + 1 : 0;
        const int32_t n_keys = b->pos[t] + 1 - j0;
        const float *q = a->q + t * a->q_stride + h * hd;
        float *out = a->out + (int64_t)t * a->n_head * hd + h * hd;
        if (job->scores) {
            /* keys j0 .. pos in one run of rows, or two where a ring wraps */
            const size_t stride = nt_kv_pos_stride(kv);
            const int32_t n1 = nt_kv_run_len(kv, a->layer, j0, n_keys), j1 = j0 + n1;
            job->scores(q, nt_kv_k_head(kv, a->layer, j0, kvh), stride, n1, hd, scale, scores);
            if (n1 < n_keys)
                job->scores(q, nt_kv_k_head(kv, a->layer, j1, kvh), stride, n_keys - n1, hd, scale, scores + n1);
            if (a->softcap > 0.0f) nt_softcap(scores, a->softcap, n_keys);
            nt_softmax(scores, n_keys);
            for (int32_t i = 0; i < hd; i++) out[i] = 0.0f;
            job->accum(out, scores, nt_kv_v_head(kv, a->layer, j0, kvh), stride, n1, hd);
            if (n1 < n_keys)
                job->accum(out, scores + n1, nt_kv_v_head(kv, a->layer, j1, kvh), stride, n_keys - n1, hd);
            continue;
        }
        for (int32_t j = 0; j < n_keys; j++)
            scores[j] = job->dot(hd, nt_kv_k_head(kv, a->layer, j0 + j, kvh), q) * scale;
        if (a->softcap > 0.0f) nt_softcap(scores, a->softcap, n_keys);
        nt_softmax(scores, n_keys);
        for (int32_t i = 0; i < hd; i++) out[i] = 0.0f;
        for (int32_t j = 0; j < n_keys; j++) {
            const void *vh = nt_kv_v_head(kv, a->layer, j0 + j, kvh);
            if (job->decode) {
                job->decode(vh, vbuf, hd);
                vh = vbuf;
            }
            job->axpy(out, scores[j], vh, hd);
        }
    }
}

/* Below this many multiply-adds the heads run on the caller's thread:
 * waking the pool would cost more than it saves. */
#define NT_ATTENTION_SERIAL_MACS (64 * 1024)

void nt_attention(nt_pool *pool, const nt_attention_args *a)
{
    const uint32_t type = a->kv[0].cache->type;
    const nt_type_kernels *k = nt_type_kernels_get(type);
    const nt_isa_kernels *isa = nt_isa_kernels_get(nt_isa_active());
    attention_job job = {a, k->attn_scores && k->attn_accum ? k->attn_scores : NULL,
                         k->attn_scores && k->attn_accum ? k->attn_accum : NULL, k->vec_dot,
                         type == NT_TYPE_F32 ? NULL : k->to_float, isa->axpy_f32};
    double keys = 0.0;
    for (int32_t t = 0; t < a->batch->n_tok; t++)
        keys += a->window > 0 && a->batch->pos[t] >= a->window ? (double)a->window : (double)a->batch->pos[t] + 1.0;
    const double macs = 2.0 * keys * a->head_dim * a->n_head;
    nt_pool_run(macs < NT_ATTENTION_SERIAL_MACS ? NULL : pool, attention_head, &job, a->n_head);
}

void nt_add_bias_rows(float *y, const float *b, int32_t n_tok, int64_t n)
{
    for (int32_t t = 0; t < n_tok; t++) nt_add(y + t * n, b, n);
}

void nt_forward_logits(const nexttok_model *m, nt_run *run, float *x, const nt_batch *b,
                       void (*norm)(const nexttok_model *m, float *row))
{
    const int64_t E = m->hp.n_embd;
    const int32_t n_tok = b->n_tok;
    const int32_t first = b->all_logits ? 0 : n_tok - 1;
    for (int32_t t = first; t < n_tok; t++) norm(m, x + t * E);
    /* The logits take the activations' rounding without a norm after it,
     * and one product's worth of extra work is small: in fast mode the
     * output projection runs with the residual pass. */
    nt_matmul_ctx head = run->mm;
    head.residual = head.fast;
    nt_matmul_ex(&head, &m->output, x + first * E, n_tok - first, b->logits);
}
