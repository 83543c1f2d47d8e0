/*
 * Matrix products over weight rows. The rows are split into chunks that the
 * pool's threads claim one at a time; a chunk computes every token's outputs
 * for its rows, so with several tokens the chunk's weights are read from
 * memory once and then reused from cache. Each output element is one
 * vec_dot call, or a GEMM tile's or multi-token dot's same operations in
 * the same order, whatever the chunking, so results depend neither on the
 * number of threads nor on how many tokens come at once.
 */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/isa.h"
#include "kernels/kernels.h"
#include "kernels/kernels_isa.h"
#include "kernels/qdot.h"
#include "types/types.h"

/* Below this many multiply-adds a product runs on the caller's thread: the
 * pool's wake-up would cost more than it saves. */
#define NT_MATMUL_SERIAL_MACS (64 * 1024)
/* Bytes of weights per chunk when several tokens share it: a fraction of a
 * core's L2 so the rows stay resident while every token passes over them. */
#define NT_MATMUL_CHUNK_BYTES (192 * 1024)
/* The same for the GEMM tiles, which pass over the chunk's rows once per
 * few tokens and repack the tokens once per chunk: larger chunks pay the
 * packing less often, and the rows still fit L2 (measured on Sapphire
 * Rapids: 512 KiB beat 192 KiB by 10-25% on 768..5632-wide rows, 1 MiB
 * was no better). */
#define NT_MATMUL_GEMM_CHUNK_BYTES (512 * 1024)
/* Values per block of a long row in multi-token products (a multiple of
 * NT_DOTK_ALIGN), and rows that pass over one block together. Measured on
 * Zen 5 with 4096- and 11008-wide F16 rows: 2048 x 16 beat 512..4096 x
 * 4..32 (smaller blocks pay more for parking the accumulators). */
#define NT_MATMUL_BLOCK 2048
#define NT_MATMUL_GROUP_ROWS 16
/* Quantized rows for several tokens are dequantized to F32 in groups of
 * about this many bytes (L2-resident while every token passes over them). */
#ifndef NT_MATMUL_DEQ_BYTES
#  define NT_MATMUL_DEQ_BYTES (256 * 1024)
#endif
/* Tokens from which fast mode packs the activations transposed for the
 * dotk_qt kernels (qdot.h nt_q8a_pack_t): with two, the packed kernels
 * were still as fast (their per-token reduction costs less than the
 * transposition of the weights it saves). */
#ifndef NT_MATMUL_QT_MIN_TOKENS
#  define NT_MATMUL_QT_MIN_TOKENS 3
#endif
/* Up to this many tokens the GEMM is told which rows its thread will
 * probably take next, to prefetch them (nt_gemm_fn). With more, a chunk's
 * arithmetic dwarfs its fetch: on one thread the hint still gained 3-6% at
 * 512 tokens, but end-to-end runs on two busy threads, where the guess is
 * often wrong, came out slower (noisy: measured on a loaded machine). */
#define NT_MATMUL_PREFETCH_MAX_TOKENS 256
/* Chunks per thread for a single token, so uneven threads even out. */
#define NT_MATMUL_CHUNKS_PER_THREAD 8

typedef struct nt_matmul_job {
    const nt_weight *w;
    const float *x;
    float *y;
    int64_t n_tok;
    int64_t rows_per_chunk;
    int64_t stride; /* chunks between two that a thread takes in turn (its threads) */
    nt_vec_dot_fn dot;
    nt_gemm_fn gemm; /* every token at once, over blocks of rows; or NULL */
    int gemm_rows;   /* its tile's rows */
    nt_dotk_fn dotk; /* NULL: one token at a time */
    int dotk_tokens;
    nt_to_float_fn deq; /* quantized rows: dotk is the F32 one, run over rows
                           dequantized with this */
    /* fast mode: x quantized into xq (one row of xq_stride bytes a token) */
    nt_vec_dot_q_fn dot_q;
    nt_dotk_q_fn dotk_q;
    const unsigned char *xq;
    const unsigned char *xq2; /* residual pass, or NULL */
    size_t xq_stride;
    nt_dotk_qp_fn dotk_qp; /* with xp (and xp2): xq (xq2) packed, or NULL */
    const unsigned char *xp, *xp2;
    nt_stop *stop;         /* with done: chunks are parts that may stop */
    unsigned char *done;
} nt_matmul_job;

/* Rows [r0, r1) for tokens [t, t + k) with the multi-token dot; row r is
 * at base + (r - rbase) * row_bytes. Long rows
 * go in blocks of NT_MATMUL_BLOCK values so the k activation slices stay
 * near L1 while a group of rows passes over them; the dots' running sums
 * wait in `state` between blocks. */
static void nt_matmul_rows_dotk(const nt_matmul_job *job, const unsigned char *base, size_t row_bytes,
                                int64_t rbase, int64_t r0, int64_t r1, int64_t t)
{
    const nt_weight *w = job->w;
    const int64_t n_in = w->n_in, n_out = w->n_out;
    const int k = job->dotk_tokens;
    const float *xg = job->x + t * n_in;
    float out[NT_DOTK_MAX];
    if (n_in <= NT_MATMUL_BLOCK) {
        for (int64_t r = r0; r < r1; r++) {
            job->dotk(n_in, base + (size_t)(r - rbase) * row_bytes, xg, n_in, 0, n_in, NULL, out);
            for (int j = 0; j < k; j++) job->y[(t + j) * n_out + r] = out[j];
        }
        return;
    }
    _Alignas(64) float state[NT_MATMUL_GROUP_ROWS][NT_DOTK_STATE_FLOATS];
    for (int64_t g0 = r0; g0 < r1; g0 += NT_MATMUL_GROUP_ROWS) {
        const int64_t g1 = g0 + NT_MATMUL_GROUP_ROWS < r1 ? g0 + NT_MATMUL_GROUP_ROWS : r1;
        for (int64_t b0 = 0; b0 < n_in; b0 += NT_MATMUL_BLOCK) {
            const int64_t b1 = b0 + NT_MATMUL_BLOCK < n_in ? b0 + NT_MATMUL_BLOCK : n_in;
            for (int64_t r = g0; r < g1; r++) {
                job->dotk(n_in, base + (size_t)(r - rbase) * row_bytes, xg, n_in, b0, b1, state[r - g0], out);
                if (b1 == n_in)
                    for (int j = 0; j < k; j++) job->y[(t + j) * n_out + r] = out[j];
            }
        }
    }
}

/* Quantized rows for every whole group of tokens: a group of rows is
 * dequantized once into F32 and all token groups pass over it with the
 * F32 multi-token dot, which gives bitwise the quantized single dot (the
 * quantized dots keep the F32 dot's accumulator layout). Returns the
 * tokens done: 0 when the buffer cannot be had. */
static int64_t nt_matmul_rows_dequant(const nt_matmul_job *job, int64_t r0, int64_t r1)
{
    const nt_weight *w = job->w;
    const unsigned char *base = w->data;
    const int64_t n_in = w->n_in, n_out = w->n_out, k = job->dotk_tokens;
    const int64_t n_groups = job->n_tok / k;
    /* rows per dequantized group: about NT_MATMUL_DEQ_BYTES of F32, whole
     * groups of NT_MATMUL_GROUP_ROWS */
    int64_t rows = NT_MATMUL_DEQ_BYTES / (n_in * (int64_t)sizeof(float));
    rows = rows / NT_MATMUL_GROUP_ROWS * NT_MATMUL_GROUP_ROWS;
    if (rows < NT_MATMUL_GROUP_ROWS) rows = NT_MATMUL_GROUP_ROWS;
    if (rows > r1 - r0) rows = r1 - r0;
    float *buf = nt_malloc_array((size_t)rows * (size_t)n_in, sizeof *buf);
    if (!buf) return 0;
    for (int64_t g0 = r0; g0 < r1; g0 += rows) {
        const int64_t g1 = g0 + rows < r1 ? g0 + rows : r1;
        for (int64_t r = g0; r < g1; r++)
            job->deq(base + (size_t)r * w->row_bytes, buf + (r - g0) * n_in, n_in);
        if (job->gemm) {
            job->gemm(n_in, buf, (size_t)n_in * sizeof *buf, g1 - g0, job->x, n_in, job->n_tok, job->y + g0, n_out,
                      NULL, 0);
            continue;
        }
        for (int64_t t = 0; t < n_groups * k; t += k)
            nt_matmul_rows_dotk(job, (const unsigned char *)buf, (size_t)n_in * sizeof *buf, g0, g0, g1, t);
    }
    nt_free(buf);
    return job->gemm ? job->n_tok : n_groups * k;
}

/* Fast mode: rows [r0, r1) against the quantized activations, up to
 * NT_DOTK_Q_MAX tokens per pass over a row. */
/* k (up to NT_DOTK_Q_MAX) tokens of one quantization pass against one
 * row: the packed-activation kernel when the pass has a packed copy (xp). */
static inline void nt_dotk_q_pass(const nt_matmul_job *job, int64_t n_in, const unsigned char *wr,
                                  const unsigned char *xq, const unsigned char *xp, int k, float *out)
{
    if (xp) job->dotk_qp(n_in, wr, xq, xp, job->xq_stride, k, out);
    else job->dotk_q(n_in, wr, xq, job->xq_stride, k, out);
}

static void nt_matmul_rows_q(const nt_matmul_job *job, int64_t r0, int64_t r1)
{
    const nt_weight *w = job->w;
    const unsigned char *base = w->data;
    const int64_t n_in = w->n_in, n_out = w->n_out;
    int64_t t = 0;
    if (job->dotk_q) {
        float out[NT_DOTK_Q_MAX], out2[NT_DOTK_Q_MAX];
        for (; t + NT_DOTK_Q_MAX <= job->n_tok; t += NT_DOTK_Q_MAX)
            for (int64_t r = r0; r < r1; r++) {
                const unsigned char *wr = base + (size_t)r * w->row_bytes;
                const size_t off = (size_t)t * job->xq_stride;
                nt_dotk_q_pass(job, n_in, wr, job->xq + off, job->xp ? job->xp + off : NULL, NT_DOTK_Q_MAX, out);
                if (job->xq2) {
                    nt_dotk_q_pass(job, n_in, wr, job->xq2 + off, job->xp2 ? job->xp2 + off : NULL, NT_DOTK_Q_MAX,
                                   out2);
                    for (int j = 0; j < NT_DOTK_Q_MAX; j++) out[j] += out2[j];
                }
                for (int j = 0; j < NT_DOTK_Q_MAX; j++) job->y[(t + j) * n_out + r] = out[j];
            }
        /* the last few tokens (a batch of a few sessions' decodes) still
         * read each row once for all of them; a single token too when it
         * has a packed copy (the packed kernels take fewer steps) */
        const int k = (int)(job->n_tok - t);
        if (k > 1 || (k == 1 && job->xp)) {
            for (int64_t r = r0; r < r1; r++) {
                const unsigned char *wr = base + (size_t)r * w->row_bytes;
                const size_t off = (size_t)t * job->xq_stride;
                nt_dotk_q_pass(job, n_in, wr, job->xq + off, job->xp ? job->xp + off : NULL, k, out);
                if (job->xq2) {
                    nt_dotk_q_pass(job, n_in, wr, job->xq2 + off, job->xp2 ? job->xp2 + off : NULL, k, out2);
                    for (int j = 0; j < k; j++) out[j] += out2[j];
                }
                for (int j = 0; j < k; j++) job->y[(t + j) * n_out + r] = out[j];
            }
            t = job->n_tok;
        }
    }
    for (; t < job->n_tok; t++) {
        const unsigned char *xt = job->xq + (size_t)t * job->xq_stride;
        const unsigned char *xt2 = job->xq2 ? job->xq2 + (size_t)t * job->xq_stride : NULL;
        float *yt = job->y + t * n_out;
        for (int64_t r = r0; r < r1; r++) {
            const unsigned char *wr = base + (size_t)r * w->row_bytes;
            float v = job->dot_q(n_in, wr, xt);
            if (xt2) v += job->dot_q(n_in, wr, xt2);
            yt[r] = v;
        }
    }
}

static void nt_matmul_rows(const nt_matmul_job *job, int64_t r0, int64_t r1)
{
    const nt_weight *w = job->w;
    const unsigned char *base = w->data;
    const int64_t n_in = w->n_in, n_out = w->n_out;
    if (job->dot_q) {
        nt_matmul_rows_q(job, r0, r1);
        return;
    }
    int64_t t = 0;
    if (job->gemm && !job->deq) {
        /* the chunk this thread will probably take next: the pool hands
         * chunks out in order, so about `stride` chunks on */
        const int64_t nr0 = r0 + job->stride * job->rows_per_chunk;
        const void *next = nr0 < n_out && job->n_tok <= NT_MATMUL_PREFETCH_MAX_TOKENS
                               ? base + (size_t)nr0 * w->row_bytes
                               : NULL;
        const int64_t nr1 = nr0 + job->rows_per_chunk < n_out ? nr0 + job->rows_per_chunk : n_out;
        const size_t next_bytes = next ? (size_t)(nr1 - nr0) * w->row_bytes : 0;
        job->gemm(n_in, base + (size_t)r0 * w->row_bytes, w->row_bytes, r1 - r0, job->x, n_in, job->n_tok,
                  job->y + r0, n_out, next, next_bytes);
        return;
    }
    if (job->dotk && job->deq)
        t = nt_matmul_rows_dequant(job, r0, r1);
    else if (job->dotk)
        for (; t + job->dotk_tokens <= job->n_tok; t += job->dotk_tokens)
            nt_matmul_rows_dotk(job, base, w->row_bytes, 0, r0, r1, t);
    for (; t < job->n_tok; t++) {
        const float *xt = job->x + t * n_in;
        float *yt = job->y + t * n_out;
        for (int64_t r = r0; r < r1; r++) yt[r] = job->dot(n_in, base + (size_t)r * w->row_bytes, xt);
    }
}

static void nt_matmul_task(void *ctx, int64_t chunk)
{
    const nt_matmul_job *job = ctx;
    if (job->done && (job->done[chunk] || nt_stop_check(job->stop, false))) return;
    int64_t r0 = chunk * job->rows_per_chunk;
    int64_t r1 = r0 + job->rows_per_chunk;
    if (r1 > job->w->n_out) r1 = job->w->n_out;
    nt_matmul_rows(job, r0, r1);
    if (job->done) {
        job->done[chunk] = 1;
        nt_stop_progress(job->stop);
    }
}

/* x - dequantized(xq) for one row of n activations quantized for `act`. */
static void nt_act_residual(nt_act_type act, const float *x, const void *xq, int64_t n, float *r)
{
    if (act == NT_ACT_Q8A) {
        const nt_q8a_block *b = xq;
        for (int64_t i = 0; i < n; i++) r[i] = x[i] - b[i / NT_Q8A_VALUES].d * (float)b[i / NT_Q8A_VALUES].qs[i % NT_Q8A_VALUES];
    } else {
        const nt_q8k_block *b = xq;
        for (int64_t i = 0; i < n; i++) r[i] = x[i] - b[i / NT_Q8K_VALUES].d * (float)b[i / NT_Q8K_VALUES].qs[i % NT_Q8K_VALUES];
    }
}

/* Quantize the n_tok activation rows for fast mode into ctx->qbuf; with
 * ctx->residual, also what that quantization left over, after them. With
 * `pack` (a dotk_qp kernel and whole groups of tokens), also the rows in
 * the packed layout (qdot.h) after those, when qbuf has room; with
 * `transposed` too, in the transposed layout (nt_q8a_pack_t) instead. */
static bool nt_matmul_quantize(const nt_matmul_ctx *ctx, const nt_type_traits *tr, nt_isa isa,
                               const nt_weight *w, const float *x, int64_t n_tok, bool pack,
                               bool transposed, nt_matmul_job *job)
{
    /* a resumed product finds its activations where its stopped run left them */
    const bool fill = !(ctx->stop && ctx->resume);
    const int64_t row = nt_act_row_bytes(tr->act, w->n_in);
    const int passes = ctx->residual ? 2 : 1;
    nt_quantize_act_fn q = nt_act_quantizer(tr->act, isa);
    if (!q || row <= 0 || !ctx->qbuf || (uint64_t)row * (uint64_t)n_tok * (uint64_t)passes > ctx->qbuf_bytes)
        return false;
    if (ctx->residual && (!ctx->rbuf || (size_t)w->n_in > ctx->rbuf_floats)) return false;
    unsigned char *dst = ctx->qbuf;
    for (int64_t t = 0; fill && t < n_tok; t++) q(x + t * w->n_in, dst + (size_t)(t * row), w->n_in);
    job->xq = dst;
    job->xq_stride = (size_t)row;
    if (ctx->residual) {
        unsigned char *dst2 = dst + (size_t)(n_tok * row);
        for (int64_t t = 0; fill && t < n_tok; t++) {
            nt_act_residual(tr->act, x + t * w->n_in, dst + (size_t)(t * row), w->n_in, ctx->rbuf);
            q(ctx->rbuf, dst2 + (size_t)(t * row), w->n_in);
        }
        job->xq2 = dst2;
    }
    if (pack && tr->act == NT_ACT_Q8A &&
        (uint64_t)row * (uint64_t)n_tok * (uint64_t)passes * 2 <= ctx->qbuf_bytes) {
        const int64_t nb = w->n_in / NT_Q8A_VALUES;
        unsigned char *p = dst + (size_t)(n_tok * row) * (size_t)passes;
        for (int pass = 0; pass < passes; pass++) {
            const unsigned char *src = pass ? job->xq2 : job->xq;
            unsigned char *pd = p + (size_t)(pass * n_tok * row);
            const int32_t s_mul = nt_q8a_pack_t_smul(w->type);
            for (int64_t t = 0; fill && t < n_tok; t++) {
                if (transposed) nt_q8a_pack_t(src + (size_t)(t * row), pd + (size_t)(t * row), nb, s_mul);
                else nt_q8a_pack(src + (size_t)(t * row), pd + (size_t)(t * row), nb);
            }
            if (pass) job->xp2 = pd;
            else job->xp = pd;
        }
    }
    return true;
}

void nt_matmul_ex(const nt_matmul_ctx *ctx, const nt_weight *w, const float *x, int64_t n_tok, float *y)
{
    if (n_tok <= 0 || w->n_out <= 0) return;
    const nt_type_traits *tr = nt_type_traits_get(w->type);
    const nt_isa isa = nt_isa_active(); /* read once: dot and dotk must agree */
    const nt_type_kernels *k = nt_type_kernels_isa(w->type, isa);
    if (!tr || !k || !k->vec_dot) { /* callers check nt_type_is_computable; make a slip visible */
        for (int64_t i = 0; i < n_tok * w->n_out; i++) y[i] = NAN;
        return;
    }
    nt_matmul_job job = {.w = w, .x = x, .y = y, .n_tok = n_tok, .dot = k->vec_dot, .dotk_tokens = 1};
    const bool pack = k->dotk_qp && k->dotk_q;
    /* Several tokens a pass: the transposed layout, whose kernels pay once
     * per group of weights what the packed ones pay per token; a lone
     * token keeps the packed one. */
    const bool transposed = pack && k->dotk_qt && n_tok >= NT_MATMUL_QT_MIN_TOKENS;
    if (ctx->fast && tr->act != NT_ACT_F32 && k->vec_dot_q &&
        nt_matmul_quantize(ctx, tr, isa, w, x, n_tok, pack, transposed, &job)) {
        job.dot_q = k->vec_dot_q;
        job.dotk_q = k->dotk_q;
        if (job.xp) job.dotk_qp = transposed ? k->dotk_qt : k->dotk_qp;
        job.dotk_tokens = NT_DOTK_Q_MAX;
    } else {
        const nt_isa_kernels *own = nt_isa_kernels_get(isa);
        if (k->dotk) {
            job.dotk = k->dotk;
            job.gemm = k->gemm;
            job.gemm_rows = k->gemm_rows;
        } else if (k->dotk_decoded) { /* quantized: see nt_matmul_rows_dequant */
            job.dotk = k->dotk_decoded;
            job.gemm = k->gemm_decoded;
            job.gemm_rows = k->gemm_rows;
            job.deq = k->to_float;
        }
        if (job.dotk) job.dotk_tokens = own->dotk_tokens;
        if (job.dotk && n_tok < job.dotk_tokens) { job.dotk = NULL; job.gemm = NULL; }
    }

    const int64_t threads = nt_pool_n_threads(ctx->pool);
    const double macs = (double)w->n_in * (double)w->n_out * (double)n_tok;
    int64_t rows = w->n_out;
    if (threads > 1 && macs >= NT_MATMUL_SERIAL_MACS)
        rows = (w->n_out + threads * NT_MATMUL_CHUNKS_PER_THREAD - 1) /
               (threads * NT_MATMUL_CHUNKS_PER_THREAD);
    if (n_tok > job.dotk_tokens && w->row_bytes > 0) {
        int64_t cache_rows = (int64_t)((job.gemm ? NT_MATMUL_GEMM_CHUNK_BYTES : NT_MATMUL_CHUNK_BYTES) / w->row_bytes);
        if (cache_rows < 1) cache_rows = 1;
        if (cache_rows < rows) rows = cache_rows;
    }
    if (ctx->stop && ctx->stop->deadline_ns) { /* a deadline: small parts */
        const double part = ctx->part_macs > 0 ? ctx->part_macs : NT_MATMUL_PART_MACS;
        const int64_t part_rows = (int64_t)(part / ((double)w->n_in * (double)n_tok));
        if (part_rows < rows) rows = part_rows;
    }
    /* the tiles take whole tiles of rows; what is left of a chunk goes
     * dot by dot */
    if (job.gemm && job.gemm_rows > 1 && rows >= job.gemm_rows) rows -= rows % job.gemm_rows;
    if (rows < 1) rows = 1;
    if (ctx->chunk_rows) {
        if (ctx->stop && ctx->resume && *ctx->chunk_rows > 0) rows = *ctx->chunk_rows;
        *ctx->chunk_rows = rows;
    }
    job.rows_per_chunk = rows;
    job.stride = threads > 1 && macs >= NT_MATMUL_SERIAL_MACS ? threads : 1;
    const int64_t n_chunks = (w->n_out + rows - 1) / rows;
    if (ctx->stop && ctx->done && (size_t)n_chunks <= ctx->done_cap) {
        job.stop = ctx->stop;
        job.done = ctx->done;
        if (!ctx->resume) memset(job.done, 0, (size_t)n_chunks);
    }
    if (threads <= 1 || macs < NT_MATMUL_SERIAL_MACS) {
        for (int64_t c = 0; c < n_chunks; c++) nt_matmul_task(&job, c);
        return;
    }
    nt_pool_run(ctx->pool, nt_matmul_task, &job, n_chunks);
}

void nt_matmul(nt_pool *pool, const nt_weight *w, const float *x, int64_t n_tok, float *y)
{
    const nt_matmul_ctx ctx = {.pool = pool};
    nt_matmul_ex(&ctx, w, x, n_tok, y);
}

void nt_weight_row_get(const nt_weight *w, int64_t row, float *out)
{
    const nt_type_kernels *t = nt_type_kernels_get(w->type);
    const unsigned char *base = w->data;
    if (!t || !t->to_float) {
        for (int64_t i = 0; i < w->n_in; i++) out[i] = NAN;
        return;
    }
    t->to_float(base + (size_t)row * w->row_bytes, out, w->n_in);
}
