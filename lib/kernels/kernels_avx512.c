/*
 * AVX-512 F/BW/VL kernels: 16 lanes, four accumulators (64 values per
 * iteration), masked loads for the tail so no row is read past its end.
 * BF16 weights are widened to F32 with a shift rather than using
 * vdpbf16ps, which would also round the F32 activations to BF16.
 *
 * The multi-token dots (four tokens per pass over a row, for prompt
 * processing) repeat the single dot's accumulator layout lane for lane, so
 * a token's result is bitwise the same whichever way it was batched.
 */
#include <immintrin.h>
#include <stdbool.h>

#include "core/alloc.h"
#include "core/isa.h"
#include "kernels/hsum_avx512.h"
#include "kernels/kernels_isa.h"
#include "kernels/prefetch_x86.h"
#include "types/type_kernels.h"

static inline __mmask16 nt_tail_mask16(int64_t r) { return (__mmask16)((1u << r) - 1u); }

static inline __m512 nt_load_f32x16(const void *w, int64_t i) { return _mm512_loadu_ps((const float *)w + i); }
static inline __m512 nt_tail_f32x16(const void *w, int64_t i, __mmask16 m)
{
    return _mm512_maskz_loadu_ps(m, (const float *)w + i);
}

static inline __m512 nt_load_f16x16(const void *w, int64_t i)
{
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)w + i)));
}
static inline __m512 nt_tail_f16x16(const void *w, int64_t i, __mmask16 m)
{
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t *)w + i));
}

static inline __m512 nt_widen_bf16(__m256i v)
{
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(v), 16));
}
static inline __m512 nt_load_bf16x16(const void *w, int64_t i)
{
    return nt_widen_bf16(_mm256_loadu_si256((const __m256i *)((const uint16_t *)w + i)));
}
static inline __m512 nt_tail_bf16x16(const void *w, int64_t i, __mmask16 m)
{
    return nt_widen_bf16(_mm256_maskz_loadu_epi16(m, (const uint16_t *)w + i));
}

static inline float nt_reduce4(__m512 a0, __m512 a1, __m512 a2, __m512 a3)
{
    return nt_hsum512(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

/* Bytes per weight value, for the prefetches. */
#define NT_VALUE_BYTES_f32 4
#define NT_VALUE_BYTES_f16 2
#define NT_VALUE_BYTES_bf16 2

/* Each step (64 values) prefetches the weights nt_isa_prefetch_bytes()
 * past its own: decode streams each row once from memory, and the
 * hardware prefetcher stops at every 4 KiB page. Rows shorter than this
 * are not prefetched: tiny models' rows sit in cache, where the prefetches
 * only cost (aidreams260K decode: 22-24k tok/s against 27-29k without),
 * and GPT-2's F32 rows (3 KiB) decoded no faster. */
#define NT_DOT_PREFETCH_ROW_BYTES 4096

/* One row with k tokens (x rows `stride` apart); k = 1 is the plain dot. */
#define NT_DEFINE_DOTS_AVX512(T)                                                          \
    static inline __attribute__((always_inline)) void nt_dotk_##T(                        \
        int64_t n, const void *w, const float *x, int64_t stride, int64_t i0, int64_t i1, \
        float *state, float *out, const int k, const bool pf)                             \
    {                                                                                     \
        const uintptr_t ahead = pf ? (uintptr_t)nt_isa_prefetch_bytes() : 0;             \
        __m512 acc[NT_DOTK_AVX512][4];                                                    \
        for (int t = 0; t < k; t++)                                                       \
            for (int j = 0; j < 4; j++)                                                   \
                acc[t][j] = i0 == 0 ? _mm512_setzero_ps() : _mm512_loadu_ps(state + (t * 4 + j) * 16);    \
        int64_t i = i0;                                                                   \
        for (; i + 64 <= i1; i += 64) {                                                    \
            if (pf) nt_prefetch_ahead_l2((const char *)w + i * NT_VALUE_BYTES_##T, ahead, 64 * NT_VALUE_BYTES_##T); \
            __m512 w0 = nt_load_##T##x16(w, i), w1 = nt_load_##T##x16(w, i + 16);         \
            __m512 w2 = nt_load_##T##x16(w, i + 32), w3 = nt_load_##T##x16(w, i + 48);    \
            for (int t = 0; t < k; t++) {                                                 \
                const float *xt = x + t * stride + i;                                     \
                acc[t][0] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(xt), acc[t][0]);          \
                acc[t][1] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(xt + 16), acc[t][1]);     \
                acc[t][2] = _mm512_fmadd_ps(w2, _mm512_loadu_ps(xt + 32), acc[t][2]);     \
                acc[t][3] = _mm512_fmadd_ps(w3, _mm512_loadu_ps(xt + 48), acc[t][3]);     \
            }                                                                             \
        }                                                                                 \
        if (i1 < n) {                                                                    \
            for (int t = 0; t < k; t++)                                                   \
                for (int j = 0; j < 4; j++) _mm512_storeu_ps(state + (t * 4 + j) * 16, acc[t][j]); \
            return;                                                                       \
        }                                                                                 \
        for (; i + 16 <= n; i += 16) {                                                    \
            __m512 w0 = nt_load_##T##x16(w, i);                                           \
            for (int t = 0; t < k; t++)                                                   \
                acc[t][0] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x + t * stride + i), acc[t][0]); \
        }                                                                                 \
        if (i < n) {                                                                      \
            __mmask16 m = nt_tail_mask16(n - i);                                          \
            __m512 wt = nt_tail_##T##x16(w, i, m);                                        \
            for (int t = 0; t < k; t++)                                                   \
                acc[t][1] = _mm512_fmadd_ps(wt, _mm512_maskz_loadu_ps(m, x + t * stride + i), acc[t][1]); \
        }                                                                                 \
        for (int t = 0; t < k; t++) out[t] = nt_reduce4(acc[t][0], acc[t][1], acc[t][2], acc[t][3]); \
    }                                                                                     \
    float nt_dot_##T##_avx512(int64_t n, const void *w, const float *x)                   \
    {                                                                                     \
        float r;                                                                          \
        if (n * NT_VALUE_BYTES_##T >= NT_DOT_PREFETCH_ROW_BYTES)                          \
            nt_dotk_##T(n, w, x, 0, 0, n, NULL, &r, 1, true);                             \
        else                                                                              \
            nt_dotk_##T(n, w, x, 0, 0, n, NULL, &r, 1, false);                            \
        return r;                                                                         \
    }                                                                                     \
    void nt_dotk_##T##_avx512(int64_t n, const void *w, const float *x, int64_t stride,  \
                                int64_t i0, int64_t i1, float *state, float *out)       \
    {                                                                                     \
        nt_dotk_##T(n, w, x, stride, i0, i1, state, out, NT_DOTK_AVX512,                 \
                    n * NT_VALUE_BYTES_##T >= NT_DOT_PREFETCH_ROW_BYTES);                 \
    }

NT_DEFINE_DOTS_AVX512(f32)
NT_DEFINE_DOTS_AVX512(f16)
NT_DEFINE_DOTS_AVX512(bf16)

/*
 * GEMM tiles: R rows x NT_GEMM_T_AVX512 tokens. The dot above keeps four
 * accumulators per output, vector g of the main loop in accumulator g % 4
 * (then the whole vectors of the rest in accumulator 0, the masked tail in
 * 1), and they never meet before the end, so a tile can run them as
 * separate passes over its rows and combine them as the dot does:
 * (a0 + a1) + (a2 + a3). Two shapes, each where it measured faster on a CPU
 * retiring two 512-bit FMAs a cycle:
 *  - pairs (F32): 2 rows, two passes of accumulators 0, 1 and then 2, 3, two
 *    registers per element. A step loads 16 vectors for 24 FMAs, but reads
 *    a row's weights two adjacent lines at a time.
 *  - quads (F16, BF16): 4 rows, four passes, pass p doing accumulator p, one
 *    register per element: 10 loads for 24 FMAs (a register-only copy of
 *    the loops ran 15% faster than the pairs' at 12 steps a pass). Pass p
 *    reads only every fourth vector of a row, which for F32 is every fourth
 *    line, and F32 prefill then ran no faster (weights streaming from
 *    memory, not in the loop); with 2-byte weights the passes share lines,
 *    and F16 prefill ran 10% faster.
 * Sixteen elements share the shuffles of one horizontal sum.
 */
#define NT_GEMM_T_AVX512 6
/* Long rows go in blocks of this many values (a multiple of 64), so that a
 * tile's six activation slices (24 KiB) stay in L1 while a group of
 * NT_GEMM_GROUP_AVX512 rows passes over them; the accumulators of the
 * group's tiles wait in memory between blocks. */
#define NT_GEMM_KC_AVX512 1024
#define NT_GEMM_GROUP_AVX512 16

/* Elements of a quads tile, and their room in whole sixteens. */
#define NT_GEMM_ELEMS16 ((NT_GEMM_R4_AVX512 * NT_GEMM_T_AVX512 + 15) / 16 * 16)

#include "kernels/gemm_x86.inc" /* the driver, over this file's tiles (defined below) */

/* Loaded once into a register: left alone, GCC folds the load into every
 * FMA that uses it, which multiplies the loads, and loads are what a tile
 * has least room for. */
#define NT_IN_REGISTER(v) __asm__("" : "+v"(v))

/* Fully unrolled: GCC leaves the quads' loops over a tile's 24 elements
 * rolled, which sends the accumulators through memory at each pass's end. */
#define NT_UNROLL _Pragma("GCC unroll 8")

/* acc[r][t][0..1] += rows' vectors at i and i + 16 times each token's,
 * which are at xp (the panel's next 2 * TT vectors). */
#define NT_GEMM_STEP2(T, i, xp)                                                                        \
    do {                                                                                               \
        __m512 w0[NT_GEMM_R2_AVX512], w1[NT_GEMM_R2_AVX512];                                           \
        for (int r = 0; r < R; r++) {                                                                  \
            w0[r] = nt_load_##T##x16(w + r * rb, (i));                                                 \
            w1[r] = nt_load_##T##x16(w + r * rb, (i) + 16);                                            \
        }                                                                                              \
        for (int t = 0; t < TT; t++) {                                                                 \
            __m512 x0 = _mm512_load_ps((xp) + 32 * t), x1 = _mm512_load_ps((xp) + 32 * t + 16);        \
            NT_IN_REGISTER(x0);                                                                        \
            NT_IN_REGISTER(x1);                                                                        \
            for (int r = 0; r < R; r++) acc[r][t][0] = _mm512_fmadd_ps(w0[r], x0, acc[r][t][0]);       \
            for (int r = 0; r < R; r++) acc[r][t][1] = _mm512_fmadd_ps(w1[r], x1, acc[r][t][1]);       \
        }                                                                                              \
    } while (0)

#define NT_DEFINE_GEMM_PAIRS_AVX512(T)                                                                 \
    /* Pass p (accumulators 2p and 2p + 1) of one R x TT tile over the main-loop values [i0, i1),      \
     * the tokens' in the panel `pan` (nt_gemm_pack2), the rest of the row in x: from zero when        \
     * i0 == 0, else from `state`; with `last`, also the rest of the row, and the pair's sum goes      \
     * into sums[r * TT + t] (p == 0) or is added to it (p == 1), else the accumulators go back to     \
     * `state`. */                                                                                     \
    static inline __attribute__((always_inline)) void nt_gemm_pass_##T(                                \
        int64_t n, const unsigned char *w, size_t rb, const float *pan, const float *x, int64_t xs, int p, int64_t i0, \
        int64_t i1, bool last, __m512 *state, __m512 *sums, nt_gemm_pf *pf, const int TT)              \
    {                                                                                                  \
        const int R = NT_GEMM_R2_AVX512;                                                               \
        __m512 acc[NT_GEMM_R2_AVX512][NT_GEMM_T_AVX512][2];                                            \
        for (int r = 0; r < R; r++)                                                                    \
            for (int t = 0; t < TT; t++)                                                               \
                for (int a = 0; a < 2; a++)                                                            \
                    acc[r][t][a] = i0 == 0 ? _mm512_setzero_ps() : state[(r * TT + t) * 2 + a];        \
        const float *xp = pan + (p * (n & ~(int64_t)63) + i0) / 2 * TT;                                \
        const unsigned char *pfp = pf->p;                                                              \
        for (int64_t i = i0 + 32 * p; i < i1; i += 64, xp += 32 * TT) {                                \
            NT_GEMM_STEP2(T, i, xp);                                                                   \
            nt_gemm_pf_step(&pfp, pf->end); /* a line of the next rows, between the multiply-adds */   \
        }                                                                                              \
        pf->p = pfp;                                                                                   \
        if (!last) {                                                                                   \
            for (int r = 0; r < R; r++)                                                                \
                for (int t = 0; t < TT; t++)                                                           \
                    for (int a = 0; a < 2; a++) state[(r * TT + t) * 2 + a] = acc[r][t][a];            \
            return;                                                                                    \
        }                                                                                              \
        if (p == 0) {                                                                                  \
            for (int64_t i = i1; i + 16 <= n; i += 16) {                                               \
                __m512 wv[NT_GEMM_R2_AVX512];                                                          \
                for (int r = 0; r < R; r++) wv[r] = nt_load_##T##x16(w + r * rb, i);                   \
                for (int t = 0; t < TT; t++) {                                                         \
                    const __m512 xv = _mm512_loadu_ps(x + t * xs + i);                                 \
                    for (int r = 0; r < R; r++) acc[r][t][0] = _mm512_fmadd_ps(wv[r], xv, acc[r][t][0]); \
                }                                                                                      \
            }                                                                                          \
            if (n & 15) {                                                                              \
                const int64_t i = n & ~(int64_t)15;                                                    \
                const __mmask16 m = nt_tail_mask16(n - i);                                             \
                __m512 wv[NT_GEMM_R2_AVX512];                                                          \
                for (int r = 0; r < R; r++) wv[r] = nt_tail_##T##x16(w + r * rb, i, m);                \
                for (int t = 0; t < TT; t++) {                                                         \
                    const __m512 xv = _mm512_maskz_loadu_ps(m, x + t * xs + i);                        \
                    for (int r = 0; r < R; r++) acc[r][t][1] = _mm512_fmadd_ps(wv[r], xv, acc[r][t][1]); \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
        for (int r = 0; r < R; r++)                                                                    \
            for (int t = 0; t < TT; t++) {                                                             \
                const __m512 s = _mm512_add_ps(acc[r][t][0], acc[r][t][1]);                            \
                sums[r * TT + t] = p == 0 ? s : _mm512_add_ps(sums[r * TT + t], s);                    \
            }                                                                                          \
    }

#define NT_DEFINE_GEMM_QUADS_AVX512(T)                                                                 \
    /* Pass p (accumulator p) of one R x TT tile over the main-loop values [i0, i1), the tokens' in    \
     * the panel `pan` (nt_gemm_pack4), the rest of the row in x: from zero when i0 == 0, else from    \
     * `state`; with `last`, also the dot's rest of the row (whole vectors in pass 0, the masked tail  \
     * in pass 1), and the accumulator goes into the sums as the dot combines them: a0 into            \
     * sums[e], a1 added to it, a2 into sums[NT_GEMM_ELEMS16 + e], a3 added to that and the pair to    \
     * sums[e]; else the accumulators go back to `state`. */                                           \
    static inline __attribute__((always_inline)) void nt_gemm_pass_##T(                                \
        int64_t n, const unsigned char *w, size_t rb, const float *pan, const float *x, int64_t xs, int p, int64_t i0, \
        int64_t i1, bool last, __m512 *state, __m512 *sums, nt_gemm_pf *pf, const int TT)              \
    {                                                                                                  \
        const int R = NT_GEMM_R4_AVX512;                                                               \
        __m512 acc[NT_GEMM_R4_AVX512][NT_GEMM_T_AVX512];                                               \
        NT_UNROLL for (int r = 0; r < R; r++)                                                          \
            NT_UNROLL for (int t = 0; t < TT; t++) acc[r][t] = i0 == 0 ? _mm512_setzero_ps() : state[r * TT + t]; \
        const float *xp = pan + (p * (n & ~(int64_t)63) + i0) / 4 * TT;                                \
        const unsigned char *pfp = pf->p;                                                              \
        for (int64_t i = i0 + 16 * p; i < i1; i += 64, xp += 16 * TT) {                                \
            __m512 wv[NT_GEMM_R4_AVX512];                                                              \
            NT_UNROLL for (int r = 0; r < R; r++) {                                                    \
                wv[r] = nt_load_##T##x16(w + r * rb, i);                                               \
                NT_IN_REGISTER(wv[r]);                                                                 \
            }                                                                                          \
            NT_UNROLL for (int t = 0; t < TT; t++) {                                                   \
                __m512 xv = _mm512_load_ps(xp + 16 * t);                                               \
                NT_IN_REGISTER(xv);                                                                    \
                NT_UNROLL for (int r = 0; r < R; r++) acc[r][t] = _mm512_fmadd_ps(wv[r], xv, acc[r][t]); \
            }                                                                                          \
            nt_gemm_pf_step(&pfp, pf->end); /* a line of the next rows, between the multiply-adds */   \
        }                                                                                              \
        pf->p = pfp;                                                                                   \
        if (!last) {                                                                                   \
            NT_UNROLL for (int r = 0; r < R; r++)                                                      \
                NT_UNROLL for (int t = 0; t < TT; t++) state[r * TT + t] = acc[r][t];                  \
            return;                                                                                    \
        }                                                                                              \
        if (p == 0)                                                                                    \
            for (int64_t i = i1; i + 16 <= n; i += 16) {                                               \
                __m512 wv[NT_GEMM_R4_AVX512];                                                          \
                NT_UNROLL for (int r = 0; r < R; r++) wv[r] = nt_load_##T##x16(w + r * rb, i);         \
                NT_UNROLL for (int t = 0; t < TT; t++) {                                               \
                    const __m512 xv = _mm512_loadu_ps(x + t * xs + i);                                 \
                    NT_UNROLL for (int r = 0; r < R; r++) acc[r][t] = _mm512_fmadd_ps(wv[r], xv, acc[r][t]); \
                }                                                                                      \
            }                                                                                          \
        if (p == 1 && (n & 15)) {                                                                      \
            const int64_t i = n & ~(int64_t)15;                                                        \
            const __mmask16 m = nt_tail_mask16(n - i);                                                 \
            __m512 wv[NT_GEMM_R4_AVX512];                                                              \
            NT_UNROLL for (int r = 0; r < R; r++) wv[r] = nt_tail_##T##x16(w + r * rb, i, m);          \
            NT_UNROLL for (int t = 0; t < TT; t++) {                                                   \
                const __m512 xv = _mm512_maskz_loadu_ps(m, x + t * xs + i);                            \
                NT_UNROLL for (int r = 0; r < R; r++) acc[r][t] = _mm512_fmadd_ps(wv[r], xv, acc[r][t]); \
            }                                                                                          \
        }                                                                                              \
        NT_UNROLL for (int r = 0; r < R; r++)                                                          \
            NT_UNROLL for (int t = 0; t < TT; t++) {                                                   \
                const int e = r * TT + t;                                                              \
                if (p == 0) sums[e] = acc[r][t];                                                       \
                else if (p == 1) sums[e] = _mm512_add_ps(sums[e], acc[r][t]);                          \
                else if (p == 2) sums[NT_GEMM_ELEMS16 + e] = acc[r][t];                                \
                else sums[e] = _mm512_add_ps(sums[e], _mm512_add_ps(sums[NT_GEMM_ELEMS16 + e], acc[r][t])); \
            }                                                                                          \
    }

/* The k tokens' main-loop values [0, n64) (rows xs apart) in the order the
 * passes read them, so that a pass streams through one contiguous run and
 * rows a power of two apart do not fight over L1 sets: for pass p, step s
 * (values 64s ..), token t, vector a of the pair: vector 4s + 2p + a. */
static inline void nt_gemm_pack2(const float *x, int64_t xs, int64_t k, int64_t n64, float *pan)
{
    for (int p = 0; p < 2; p++)
        for (int64_t i = 32 * p; i < n64; i += 64)
            for (int64_t t = 0; t < k; t++, pan += 32) {
                _mm512_store_ps(pan, _mm512_loadu_ps(x + t * xs + i));
                _mm512_store_ps(pan + 16, _mm512_loadu_ps(x + t * xs + i + 16));
            }
}

/* The k tokens' main-loop values [0, n64) (rows xs apart) in the order the
 * passes read them, so that a pass streams through one contiguous run and
 * rows a power of two apart do not fight over L1 sets: for pass p, step s
 * (values 64s ..), token t: vector 4s + p. */
static inline void nt_gemm_pack4(const float *x, int64_t xs, int64_t k, int64_t n64, float *pan)
{
    /* Read each token's values in order (a stream the prefetcher follows:
     * the activations come from L2), writing them to the panel in L1. */
    const int64_t quarter = n64 / 4 * k; /* floats of a pass */
    for (int64_t t = 0; t < k; t++)
        for (int64_t i = 0; i < n64; i += 64) {
            float *d = pan + (i / 4) * k + 16 * t;
            _mm512_store_ps(d, _mm512_loadu_ps(x + t * xs + i));
            _mm512_store_ps(d + quarter, _mm512_loadu_ps(x + t * xs + i + 16));
            _mm512_store_ps(d + 2 * quarter, _mm512_loadu_ps(x + t * xs + i + 32));
            _mm512_store_ps(d + 3 * quarter, _mm512_loadu_ps(x + t * xs + i + 48));
        }
}

/* The horizontal sums of k combined accumulators, sixteen at a time (the
 * rest padded with zeros, which touch no other lane). */
static inline void nt_gemm_hsum(__m512 *sums, int k, float *out)
{
    for (int e = k; e < (k + 15) / 16 * 16; e++) sums[e] = _mm512_setzero_ps();
    for (int g = 0; g < k; g += 16) {
        __m512 v[16];
        for (int q = 0; q < 4; q++) /* lane 4q + m sums v[q + 4m]: give it element g + 4q + m */
            for (int m = 0; m < 4; m++) v[q + 4 * m] = sums[g + 4 * q + m];
        _mm512_store_ps(out + g, nt_hsum512x16(v));
    }
}

/* What the driver (gemm_x86.inc) needs of this file's tiles; the shape's
 * own (rows, passes, packer) are set before each type's instantiation (the
 * driver's macros expand with the definitions in force there). */
#define NT_GEMM_T NT_GEMM_T_AVX512
#define NT_GEMM_ROWS NT_GEMM_GROUP_AVX512
#define NT_GEMM_STEP 64
#define NT_GEMM_ALIGN 64
#define NT_GEMM_NAME(T) nt_gemm_##T##_avx512
#define NT_GEMM_DOT(T) nt_dot_##T##_avx512
#define NT_GEMM_VEC __m512
#define NT_GEMM_KC NT_GEMM_KC_AVX512
#define NT_GEMM_HSUM nt_gemm_hsum

#define NT_GEMM_R NT_GEMM_R2_AVX512
#define NT_GEMM_PASSES 2
#define NT_GEMM_ACC 2
#define NT_GEMM_PACK nt_gemm_pack2
#define NT_GEMM_SUMS 16 /* 2 x 6 elements */
NT_DEFINE_GEMM_PAIRS_AVX512(f32)
NT_DEFINE_GEMM_GROUP(f32)
NT_DEFINE_GEMM_DRIVER(f32)

#undef NT_GEMM_R
#undef NT_GEMM_PASSES
#undef NT_GEMM_ACC
#undef NT_GEMM_PACK
#undef NT_GEMM_SUMS
#define NT_GEMM_R NT_GEMM_R4_AVX512
#define NT_GEMM_PASSES 4
#define NT_GEMM_ACC 1
#define NT_GEMM_PACK nt_gemm_pack4
#define NT_GEMM_SUMS (2 * NT_GEMM_ELEMS16) /* the combined sums, then (a2) until pass 3 adds it in */
NT_DEFINE_GEMM_QUADS_AVX512(f16)
NT_DEFINE_GEMM_GROUP(f16)
NT_DEFINE_GEMM_DRIVER(f16)
NT_DEFINE_GEMM_QUADS_AVX512(bf16)
NT_DEFINE_GEMM_GROUP(bf16)
NT_DEFINE_GEMM_DRIVER(bf16)

void nt_axpy_f32_avx512(float *y, float a, const float *x, int64_t n)
{
    const __m512 va = _mm512_set1_ps(a);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 y0 = _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i));
        __m512 y1 = _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16));
        _mm512_storeu_ps(y + i, y0);
        _mm512_storeu_ps(y + i + 16, y1);
    }
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
    if (i < n) {
        __mmask16 m = nt_tail_mask16(n - i);
        __m512 r = _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i));
        _mm512_mask_storeu_ps(y + i, m, r);
    }
}
