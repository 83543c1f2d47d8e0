/* Causal attention over the KV cache, split by head across the pool. */
#include <math.h>

#include "forward/forward.h"
#include "kernels/kernels.h"

static void attention_head(void *ctx, int64_t h)
{
    const nt_attention_args *a = ctx;
    const int32_t hd = a->head_dim;
    const int32_t kvh = (int32_t)h / (a->n_head / a->n_head_kv);
    const float scale = 1.0f / sqrtf((float)hd);
    float *scores = a->scores + h * a->n_ctx;

    for (int32_t t = 0; t < a->n_tok; t++) {
        const int32_t n_keys = a->pos0 + t + 1;
        const float *q = a->q + t * a->q_stride + h * hd;
        for (int32_t j = 0; j < n_keys; j++)
            scores[j] = nt_dot_f32(q, a->k + (int64_t)j * a->kv_dim + kvh * hd, hd) * scale;
        nt_softmax(scores, n_keys);
        float *out = a->out + (int64_t)t * a->n_head * hd + h * hd;
        for (int32_t i = 0; i < hd; i++) out[i] = 0.0f;
        for (int32_t j = 0; j < n_keys; j++)
            nt_axpy_f32(out, scores[j], a->v + (int64_t)j * a->kv_dim + kvh * hd, hd);
    }
}

/* Below this many multiply-adds the heads run on the caller's thread:
 * waking the pool would cost more than it saves. */
#define NT_ATTENTION_SERIAL_MACS (64 * 1024)

void nt_attention(nt_pool *pool, const nt_attention_args *a)
{
    const double keys = (double)a->n_tok * ((double)a->pos0 + 0.5 * (a->n_tok + 1));
    const double macs = 2.0 * keys * a->head_dim * a->n_head;
    nt_pool_run(macs < NT_ATTENTION_SERIAL_MACS ? NULL : pool, attention_head, (void *)a, a->n_head);
}

void nt_add_bias_rows(float *y, const float *b, int32_t n_tok, int64_t n)
{
    for (int32_t t = 0; t < n_tok; t++) nt_add(y + t * n, b, n);
}

void nt_forward_logits(nexttok_session *s, float *x, int32_t n_tok, float *rows,
                       void (*norm)(const nexttok_model *m, float *row))
{
    const nexttok_model *m = s->model;
    const int64_t E = m->hp.n_embd, V = m->hp.n_vocab;
    const int32_t first = rows ? 0 : n_tok - 1;
    for (int32_t t = first; t < n_tok; t++) norm(m, x + t * E);
    if (rows) {
        nt_matmul(s->pool, &m->output, x, n_tok, rows);
        for (int64_t i = 0; i < V; i++) s->logits[i] = rows[(n_tok - 1) * V + i];
    } else {
        nt_matmul(s->pool, &m->output, x + (n_tok - 1) * E, 1, s->logits);
    }
}
