/* Causal attention over the KV cache, split by KV heads across the pool. */
#include <math.h>
#include <string.h>

#include "forward/forward.h"
#include "core/isa.h"
#include "kernels/kernels_isa.h"
#include "types/types.h"

typedef struct attention_job {
    const nt_attention_args *a;
    nt_attn_scores_fn scores; /* the ISA's loops over all keys, or NULL: */
    nt_attn_accum_fn accum;   /*   one dot and one axpy per key */
    nt_vec_dot_fn dot;       /* q . key head, in the cache's row type */
    nt_to_float_fn decode;   /* value head to F32; NULL when rows are F32 */
    nt_axpy_fn axpy;
    nt_softmax_fn softmax;
    int32_t parts;           /* jobs per KV head, each a share of its query heads */
    int32_t kv_per_task;     /* KV heads a job takes (a divisor of n_head_kv) */
} attention_job;

/* Keys per block: the query heads that share a KV head pass over a block
 * of its K (then V) rows while they are in cache, so grouped-query
 * attention reads each row from memory once, not once per query head. 64
 * keys of a job's slices (32 KiB of F32 rows for two KV heads of 64
 * values) stay in L1 while its query heads pass; 256 spilled to L2. */
#define NT_ATTENTION_BLOCK 64
/* The ISA loops may take keys in groups (16 on AVX-512) reduced otherwise
 * than single keys: calls start at multiples of this (or take fewer keys
 * than it), so a key's score does not depend on where a range was split
 * (windows, ring wraps, blocks). */
#define NT_ATTENTION_ALIGN 16

/* The end of the segment of keys [s, e) that one kernel call takes: the
 * next alignment for an unaligned start, the next block, or the ring's
 * wrap, whichever comes first. */
static int32_t segment_end(const nt_kv_view *kv, int layer, int32_t s, int32_t e)
{
    int32_t end = s % NT_ATTENTION_ALIGN ? (s / NT_ATTENTION_ALIGN + 1) * NT_ATTENTION_ALIGN
                                         : (s / NT_ATTENTION_BLOCK + 1) * NT_ATTENTION_BLOCK;
    if (end > e) end = e;
    return s + nt_kv_run_len(kv, layer, s, end - s);
}

/* The query heads of part `part` of KV head kvh's group: [*h0, *h1). */
static void part_heads(const attention_job *job, int32_t kvh, int32_t part, int32_t *h0, int32_t *h1)
{
    const int32_t g = job->a->n_head / job->a->n_head_kv;
    *h0 = kvh * g + part * g / job->parts;
    *h1 = kvh * g + (part + 1) * g / job->parts;
}

/* KV heads [kv0, kv1), part `part` of each group's query heads, for every
 * token of the batch, with the ISA's loops. A segment's rows are taken for
 * all of the task's KV heads before the next segment's: the heads' slices
 * of a row lie side by side, so a task of several KV heads reads whole
 * lines of each row in one pass over memory, where one task per KV head
 * read each row's lines in as many passes, and the hardware's prefetch
 * (following lines, not slices of rows) fetched the rest of each row
 * again for each. Every head's scores and sums run the same operations in
 * the same order whatever the tasks, so the results do not depend on them. */
static void attention_segments(const attention_job *job, int32_t kv0, int32_t kv1, int32_t part)
{
    const nt_attention_args *a = job->a;
    const nt_batch *b = a->batch;
    const int32_t hd = a->head_dim;
    const float scale = a->scale;
    const int64_t stride_sc = a->sc->att_stride;
    int32_t h0, h1;

    for (int32_t t = 0; t < b->n_tok; t++) {
        const nt_kv_view *kv = nt_batch_view(a->kv, b, t);
        const int32_t j0 = a->window > 0 && b->pos[t] >= a->window ? b->pos[t] - a->window + 1 : 0;
        const int32_t e = b->pos[t] + 1, n_keys = e - j0;
        const float *q = a->q + t * a->q_stride;
        float *out = a->out + (int64_t)t * a->n_head * hd;
        const size_t stride = nt_kv_pos_stride(kv);
        for (int32_t s = j0, s1; s < e; s = s1) {
            s1 = segment_end(kv, a->layer, s, e);
            for (int32_t kvh = kv0; kvh < kv1; kvh++) {
                const void *k = nt_kv_k_head(kv, a->layer, s, kvh);
                part_heads(job, kvh, part, &h0, &h1);
                job->scores(q + h0 * hd, h1 - h0, k, stride, s1 - s, hd, scale, a->sc->att + h0 * stride_sc + (s - j0),
                            stride_sc);
            }
        }
        for (int32_t kvh = kv0; kvh < kv1; kvh++) {
            part_heads(job, kvh, part, &h0, &h1);
            for (int32_t h = h0; h < h1; h++) {
                float *scores = a->sc->att + h * stride_sc;
                if (a->softcap > 0.0f) nt_softcap(scores, a->softcap, n_keys);
                job->softmax(scores, n_keys);
                for (int32_t i = 0; i < hd; i++) out[h * hd + i] = 0.0f;
            }
        }
        for (int32_t s = j0, s1; s < e; s = s1) {
            s1 = segment_end(kv, a->layer, s, e);
            for (int32_t kvh = kv0; kvh < kv1; kvh++) {
                const void *v = nt_kv_v_head(kv, a->layer, s, kvh);
                part_heads(job, kvh, part, &h0, &h1);
                job->accum(out + h0 * hd, h1 - h0, a->sc->att + h0 * stride_sc + (s - j0), stride_sc, v, stride, s1 - s,
                           hd);
            }
        }
    }
}

/* Query heads [h0, h1) of KV head kvh, for every token of the batch, one
 * dot and one axpy per key (types without ISA loops). */
static void attention_heads(const attention_job *job, int32_t kvh, int32_t h0, int32_t h1)
{
    const nt_attention_args *a = job->a;
    const nt_batch *b = a->batch;
    const int32_t hd = a->head_dim;
    const float scale = a->scale;
    const int64_t stride_sc = a->sc->att_stride;

    for (int32_t t = 0; t < b->n_tok; t++) {
        const nt_kv_view *kv = nt_batch_view(a->kv, b, t);
        const int32_t j0 = a->window > 0 && b->pos[t] >= a->window ? b->pos[t] - a->window + 1 : 0;
        const int32_t e = b->pos[t] + 1, n_keys = e - j0;
        const float *q = a->q + t * a->q_stride;
        float *out = a->out + (int64_t)t * a->n_head * hd;
        for (int32_t h = h0; h < h1; h++) {
            float *scores = a->sc->att + h * stride_sc;
            float *vbuf = scores + (stride_sc - hd); /* a decoded value head */
            float *o = out + h * hd;
            for (int32_t j = 0; j < n_keys; j++)
                scores[j] = job->dot(hd, nt_kv_k_head(kv, a->layer, j0 + j, kvh), q + h * hd) * scale;
            if (a->softcap > 0.0f) nt_softcap(scores, a->softcap, n_keys);
            job->softmax(scores, n_keys);
            for (int32_t i = 0; i < hd; i++) o[i] = 0.0f;
            for (int32_t j = 0; j < n_keys; j++) {
                const void *vh = nt_kv_v_head(kv, a->layer, j0 + j, kvh);
                if (job->decode) {
                    job->decode(vh, vbuf, hd);
                    vh = vbuf;
                }
                job->axpy(o, scores[j], vh, hd);
            }
        }
    }
}

static void attention_job_run(void *ctx, int64_t index)
{
    const attention_job *job = ctx;
    const int32_t task = (int32_t)(index / job->parts), part = (int32_t)(index % job->parts);
    const int32_t kv0 = task * job->kv_per_task;
    if (job->scores) {
        attention_segments(job, kv0, kv0 + job->kv_per_task, part);
        return;
    }
    for (int32_t kvh = kv0; kvh < kv0 + job->kv_per_task; kvh++) {
        int32_t h0, h1;
        part_heads(job, kvh, part, &h0, &h1);
        attention_heads(job, kvh, h0, h1);
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
                         type == NT_TYPE_F32 ? NULL : k->to_float, isa->axpy_f32,
                         isa->softmax_f32 ? isa->softmax_f32 : nt_softmax_f32_scalar, 1, 1};
    double keys = 0.0;
    for (int32_t t = 0; t < a->batch->n_tok; t++)
        keys += a->window > 0 && a->batch->pos[t] >= a->window ? (double)a->window : (double)a->batch->pos[t] + 1.0;
    const double macs = 2.0 * keys * a->head_dim * a->n_head;
    nt_pool *use = macs < NT_ATTENTION_SERIAL_MACS ? NULL : pool;
    /* Fewer KV heads than threads: split each group's query heads so every
     * thread has work (each part still shares its K and V reads). */
    const int32_t g = a->n_head / a->n_head_kv, threads = nt_pool_n_threads(use);
    job.parts = threads > a->n_head_kv ? (threads + a->n_head_kv - 1) / a->n_head_kv : 1;
    if (job.parts > g) job.parts = g;
    /* More KV heads than threads: as few KV heads a job as keep every
     * thread busy, each job then reading a wider slice of every row. */
    job.kv_per_task = 1;
    if (job.parts == 1)
        for (int32_t d = a->n_head_kv / threads; d > 1; d--)
            if (a->n_head_kv % d == 0) {
                job.kv_per_task = d;
                break;
            }
    nt_pool_run(use, attention_job_run, &job, (int64_t)(a->n_head_kv / job.kv_per_task) * job.parts);
}

void nt_add_bias_rows(float *y, const float *b, int32_t n_tok, int64_t n)
{
    for (int32_t t = 0; t < n_tok; t++) nt_add(y + t * n, b, n);
}

void nt_add_bias_range(float *y, const float *b, int64_t n, int64_t e0, int64_t e1)
{
    for (int64_t e = e0; e < e1;) {
        const int64_t i = e % n, len = n - i < e1 - e ? n - i : e1 - e;
        nt_add(y + e, b + i, len);
        e += len;
    }
}

void nt_forward_logits(const nexttok_model *m, nt_run *run, float *x, const nt_batch *b,
                       void (*norm)(const nexttok_model *m, float *row))
{
    const int64_t E = m->hp.n_embd;
    const int32_t n_tok = b->n_tok;
    const int32_t first = b->all_logits ? 0 : n_tok - 1;
    NT_STEP_PARTS(run, t0, t1, n_tok - first, 1) for (int64_t t = first + t0; t < first + t1; t++) norm(m, x + t * E);
    /* The logits take the activations' rounding without a norm after it,
     * and one product's worth of extra work is small: in fast mode the
     * output projection runs with the residual pass. */
    nt_matmul_ctx head = run->mm;
    head.residual = head.fast;
    nt_run_matmul_ex(run, &head, &m->output, x + first * E, n_tok - first, b->logits);
}
