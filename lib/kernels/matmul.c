/*
 * Matrix products over weight rows. The rows are split into chunks that the
 * pool's threads claim one at a time; a chunk computes every token's outputs
 * for its rows, so with several tokens the chunk's weights are read from
 * memory once and then reused from cache. Each output element is one
 * vec_dot call whatever the chunking, so results do not depend on the
 * number of threads.
 */
#include <math.h>
#include <string.h>

#include "kernels/kernels.h"
#include "types/types.h"

/* Below this many multiply-adds a product runs on the caller's thread: the
 * pool's wake-up would cost more than it saves. */
#define NT_MATMUL_SERIAL_MACS (64 * 1024)
/* Bytes of weights per chunk when several tokens share it: a fraction of a
 * core's L2 so the rows stay resident while every token passes over them. */
#define NT_MATMUL_CHUNK_BYTES (192 * 1024)
/* Chunks per thread for a single token, so uneven threads even out. */
#define NT_MATMUL_CHUNKS_PER_THREAD 8

typedef struct nt_matmul_job {
    const nt_weight *w;
    const float *x;
    float *y;
    int64_t n_tok;
    int64_t rows_per_chunk;
    nt_vec_dot_fn dot;
} nt_matmul_job;

static void nt_matmul_rows(const nt_matmul_job *job, int64_t r0, int64_t r1)
{
    const nt_weight *w = job->w;
    const unsigned char *base = w->data;
    for (int64_t t = 0; t < job->n_tok; t++) {
        const float *xt = job->x + t * w->n_in;
        float *yt = job->y + t * w->n_out;
        for (int64_t r = r0; r < r1; r++)
            yt[r] = job->dot(w->n_in, base + (size_t)r * w->row_bytes, xt);
    }
}

static void nt_matmul_task(void *ctx, int64_t chunk)
{
    const nt_matmul_job *job = ctx;
    int64_t r0 = chunk * job->rows_per_chunk;
    int64_t r1 = r0 + job->rows_per_chunk;
    if (r1 > job->w->n_out) r1 = job->w->n_out;
    nt_matmul_rows(job, r0, r1);
}

void nt_matmul(nt_pool *pool, const nt_weight *w, const float *x, int64_t n_tok, float *y)
{
    if (n_tok <= 0 || w->n_out <= 0) return;
    nt_vec_dot_fn dot = nt_type_vec_dot(w->type);
    if (!dot) { /* callers check nt_type_is_computable; make a slip visible */
        for (int64_t i = 0; i < n_tok * w->n_out; i++) y[i] = NAN;
        return;
    }
    nt_matmul_job job = {w, x, y, n_tok, w->n_out, dot};

    const int64_t threads = nt_pool_n_threads(pool);
    const double macs = (double)w->n_in * (double)w->n_out * (double)n_tok;
    if (threads <= 1 || macs < NT_MATMUL_SERIAL_MACS) {
        nt_matmul_rows(&job, 0, w->n_out);
        return;
    }

    int64_t rows = (w->n_out + threads * NT_MATMUL_CHUNKS_PER_THREAD - 1) /
                   (threads * NT_MATMUL_CHUNKS_PER_THREAD);
    if (n_tok > 1 && w->row_bytes > 0) {
        int64_t cache_rows = (int64_t)(NT_MATMUL_CHUNK_BYTES / w->row_bytes);
        if (cache_rows < 1) cache_rows = 1;
        if (cache_rows < rows) rows = cache_rows;
    }
    if (rows < 1) rows = 1;
    job.rows_per_chunk = rows;
    nt_pool_run(pool, nt_matmul_task, &job, (w->n_out + rows - 1) / rows);
}

void nt_weight_row_get(const nt_weight *w, int64_t row, float *out)
{
    const nt_type_traits *t = nt_type_traits_get(w->type);
    const unsigned char *base = w->data;
    if (!t || !t->to_float) {
        for (int64_t i = 0; i < w->n_in; i++) out[i] = NAN;
        return;
    }
    t->to_float(base + (size_t)row * w->row_bytes, out, w->n_in);
}
