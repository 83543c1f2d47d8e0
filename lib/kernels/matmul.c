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

#include "core/alloc.h"
#include "kernels/isa.h"
#include "kernels/kernels.h"
#include "kernels/kernels_isa.h"
#include "types/type_kernels.h"
#include "types/types.h"

/* Below this many multiply-adds a product runs on the caller's thread: the
 * pool's wake-up would cost more than it saves. */
#define NT_MATMUL_SERIAL_MACS (64 * 1024)
/* Bytes of weights per chunk when several tokens share it: a fraction of a
 * core's L2 so the rows stay resident while every token passes over them. */
#define NT_MATMUL_CHUNK_BYTES (192 * 1024)
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
/* Chunks per thread for a single token, so uneven threads even out. */
#define NT_MATMUL_CHUNKS_PER_THREAD 8

typedef struct nt_matmul_job {
    const nt_weight *w;
    const float *x;
    float *y;
    int64_t n_tok;
    int64_t rows_per_chunk;
    nt_vec_dot_fn dot;
    nt_dotk_fn dotk; /* NULL: one token at a time */
    int dotk_tokens;
    nt_to_float_fn deq; /* quantized rows: dotk is the F32 one, run over rows
                           dequantized with this */
} nt_matmul_job;

/* The multi-token dots per weight type for each ISA, with their token
 * counts; each agrees bitwise with the same ISA's single dot. */
typedef struct nt_dotk_entry {
    nt_dotk_fn fn[NT_ISA_COUNT];
} nt_dotk_entry;

#if NT_HAVE_X86
#  define NT_DOTK_ROW(t) {{NULL, nt_dotk_##t##_avx2, nt_dotk_##t##_avx512, NULL}}
#elif NT_HAVE_NEON
#  define NT_DOTK_ROW(t) {{NULL, NULL, NULL, nt_dotk_##t##_neon}}
#else
#  define NT_DOTK_ROW(t) {{NULL}}
#endif

static const int nt_dotk_tokens[NT_ISA_COUNT] = {
    [NT_ISA_AVX2] = NT_DOTK_AVX2, [NT_ISA_AVX512] = NT_DOTK_AVX512, [NT_ISA_NEON] = NT_DOTK_NEON};

static nt_dotk_fn nt_dotk_get(uint32_t type, nt_isa isa)
{
    static const nt_dotk_entry f32 = NT_DOTK_ROW(f32), f16 = NT_DOTK_ROW(f16), bf16 = NT_DOTK_ROW(bf16);
    switch (type) {
    case NT_TYPE_F32: return f32.fn[isa];
    case NT_TYPE_F16: return f16.fn[isa];
    case NT_TYPE_BF16: return bf16.fn[isa];
    default: return NULL;
    }
}

/* The fastest row dequantizer of a quantized type on `isa`: a register
 * decoder where the ISA has one (same values as the traits' to_float). */
static nt_to_float_fn nt_deq_get(const nt_type_traits *tr, uint32_t type, nt_isa isa)
{
#if NT_HAVE_X86
    const bool x512 = isa == NT_ISA_AVX512, x2 = isa == NT_ISA_AVX2;
    switch (type) {
    case NT_TYPE_Q8_0: if (x512) return nt_q8_0_to_float_avx512; if (x2) return nt_q8_0_to_float_avx2; break;
    case NT_TYPE_Q4_0: if (x512) return nt_q4_0_to_float_avx512; if (x2) return nt_q4_0_to_float_avx2; break;
    case NT_TYPE_Q4_1: if (x512) return nt_q4_1_to_float_avx512; if (x2) return nt_q4_1_to_float_avx2; break;
    case NT_TYPE_Q5_0: if (x512) return nt_q5_0_to_float_avx512; if (x2) return nt_q5_0_to_float_avx2; break;
    case NT_TYPE_Q5_1: if (x512) return nt_q5_1_to_float_avx512; if (x2) return nt_q5_1_to_float_avx2; break;
    case NT_TYPE_Q5_K: if (x512) return nt_q5_k_to_float_avx512; if (x2) return nt_q5_k_to_float_avx2; break;
    case NT_TYPE_Q2_K: if (x512) return nt_q2_k_to_float_avx512; if (x2) return nt_q2_k_to_float_avx2; break;
    case NT_TYPE_Q3_K: if (x512) return nt_q3_k_to_float_avx512; if (x2) return nt_q3_k_to_float_avx2; break;
    case NT_TYPE_Q4_K: if (x512) return nt_q4_k_to_float_avx512; if (x2) return nt_q4_k_to_float_avx2; break;
    case NT_TYPE_Q6_K: if (x512) return nt_q6_k_to_float_avx512; if (x2) return nt_q6_k_to_float_avx2; break;
    default: break;
    }
#else
    (void)type;
    (void)isa;
#endif
    return tr->to_float;
}

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
    const int64_t n_in = w->n_in, k = job->dotk_tokens;
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
        for (int64_t t = 0; t < n_groups * k; t += k)
            nt_matmul_rows_dotk(job, (const unsigned char *)buf, (size_t)n_in * sizeof *buf, g0, g0, g1, t);
    }
    nt_free(buf);
    return n_groups * k;
}

static void nt_matmul_rows(const nt_matmul_job *job, int64_t r0, int64_t r1)
{
    const nt_weight *w = job->w;
    const unsigned char *base = w->data;
    const int64_t n_in = w->n_in, n_out = w->n_out;
    int64_t t = 0;
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
    int64_t r0 = chunk * job->rows_per_chunk;
    int64_t r1 = r0 + job->rows_per_chunk;
    if (r1 > job->w->n_out) r1 = job->w->n_out;
    nt_matmul_rows(job, r0, r1);
}

void nt_matmul(nt_pool *pool, const nt_weight *w, const float *x, int64_t n_tok, float *y)
{
    if (n_tok <= 0 || w->n_out <= 0) return;
    const nt_type_traits *tr = nt_type_traits_get(w->type);
    const nt_isa isa = nt_isa_active(); /* read once: dot and dotk must agree */
    nt_vec_dot_fn dot = tr ? tr->vec_dot[isa] : NULL;
    nt_dotk_fn dotk = dot ? nt_dotk_get(w->type, isa) : NULL;
    nt_to_float_fn deq = NULL;
    if (dot && !dotk && tr->blck_size > 1 && tr->to_float) { /* quantized: see nt_matmul_rows_dequant */
        dotk = nt_dotk_get(NT_TYPE_F32, isa);
        deq = dotk ? nt_deq_get(tr, w->type, isa) : NULL;
    }
    if (!dot && tr) dot = tr->vec_dot[NT_ISA_SCALAR];
    if (!dot) { /* callers check nt_type_is_computable; make a slip visible */
        for (int64_t i = 0; i < n_tok * w->n_out; i++) y[i] = NAN;
        return;
    }
    nt_matmul_job job = {w, x, y, n_tok, w->n_out, dot, dotk, dotk ? nt_dotk_tokens[isa] : 1, deq};
    if (job.dotk && n_tok < job.dotk_tokens) job.dotk = NULL;

    const int64_t threads = nt_pool_n_threads(pool);
    const double macs = (double)w->n_in * (double)w->n_out * (double)n_tok;
    int64_t rows = w->n_out;
    if (threads > 1 && macs >= NT_MATMUL_SERIAL_MACS)
        rows = (w->n_out + threads * NT_MATMUL_CHUNKS_PER_THREAD - 1) /
               (threads * NT_MATMUL_CHUNKS_PER_THREAD);
    if (n_tok > job.dotk_tokens && w->row_bytes > 0) {
        int64_t cache_rows = (int64_t)(NT_MATMUL_CHUNK_BYTES / w->row_bytes);
        if (cache_rows < 1) cache_rows = 1;
        if (cache_rows < rows) rows = cache_rows;
    }
    if (rows < 1) rows = 1;
    job.rows_per_chunk = rows;
    const int64_t n_chunks = (w->n_out + rows - 1) / rows;
    if (threads <= 1 || macs < NT_MATMUL_SERIAL_MACS) {
        for (int64_t c = 0; c < n_chunks; c++) nt_matmul_task(&job, c);
        return;
    }
    nt_pool_run(pool, nt_matmul_task, &job, n_chunks);
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
