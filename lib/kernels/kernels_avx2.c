/*
 * AVX2 + FMA + F16C kernels (compiled with those flags only into this file;
 * run only when isa.c found them). The dots are memory-bound on weight rows,
 * so each iteration consumes 32 values into four independent accumulators to
 * hide the FMA latency, and converts F16/BF16 weights to F32 in registers.
 * Tails use masked loads (and a zero-padded copy for 16-bit weights), so no
 * row is read past its end.
 *
 * The two-token dots repeat the single dot's accumulator layout lane for
 * lane, so a token's result is bitwise the same however it was batched.
 */
#include <immintrin.h>
#include <stdbool.h>

#include "core/alloc.h"
#include "kernels/kernels_isa.h"
#include "types/type_kernels.h"

static inline float nt_hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Mask selecting the first r (0..8) lanes, for tail loads. */
static inline __m256i nt_tail_mask(int64_t r)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)r), idx);
}

/* The last r < 8 16-bit values, copied so we never read past the row. */
static inline __m128i nt_load_u16_tail(const uint16_t *p, int64_t r)
{
    uint16_t buf[8] = {0};
    for (int64_t i = 0; i < r; i++) buf[i] = p[i];
    return _mm_loadu_si128((const __m128i *)buf);
}

static inline __m256 nt_load_f32x8(const void *w, int64_t i) { return _mm256_loadu_ps((const float *)w + i); }
static inline __m256 nt_tail_f32x8(const void *w, int64_t i, int64_t r)
{
    return _mm256_maskload_ps((const float *)w + i, nt_tail_mask(r));
}

static inline __m256 nt_load_f16x8(const void *w, int64_t i)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + i)));
}
static inline __m256 nt_tail_f16x8(const void *w, int64_t i, int64_t r)
{
    return _mm256_cvtph_ps(nt_load_u16_tail((const uint16_t *)w + i, r));
}

static inline __m256 nt_widen_bf16(__m128i v)
{
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(v), 16));
}
static inline __m256 nt_load_bf16x8(const void *w, int64_t i)
{
    return nt_widen_bf16(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + i)));
}
static inline __m256 nt_tail_bf16x8(const void *w, int64_t i, int64_t r)
{
    return nt_widen_bf16(nt_load_u16_tail((const uint16_t *)w + i, r));
}

/* One row with k tokens (x rows `stride` apart); k = 1 is the plain dot. */
#define NT_DEFINE_DOTS_AVX2(T)                                                            \
    static inline __attribute__((always_inline)) void nt_dotk_##T(                        \
        int64_t n, const void *w, const float *x, int64_t stride, int64_t i0, int64_t i1, \
        float *state, float *out, const int k)                                            \
    {                                                                                     \
        __m256 acc[NT_DOTK_AVX2][4];                                                      \
        for (int t = 0; t < k; t++)                                                       \
            for (int j = 0; j < 4; j++)                                                   \
                acc[t][j] = i0 == 0 ? _mm256_setzero_ps() : _mm256_loadu_ps(state + (t * 4 + j) * 8);    \
        int64_t i = i0;                                                                   \
        for (; i + 32 <= i1; i += 32) {                                                    \
            __m256 w0 = nt_load_##T##x8(w, i), w1 = nt_load_##T##x8(w, i + 8);            \
            __m256 w2 = nt_load_##T##x8(w, i + 16), w3 = nt_load_##T##x8(w, i + 24);      \
            for (int t = 0; t < k; t++) {                                                 \
                const float *xt = x + t * stride + i;                                     \
                acc[t][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xt), acc[t][0]);          \
                acc[t][1] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xt + 8), acc[t][1]);      \
                acc[t][2] = _mm256_fmadd_ps(w2, _mm256_loadu_ps(xt + 16), acc[t][2]);     \
                acc[t][3] = _mm256_fmadd_ps(w3, _mm256_loadu_ps(xt + 24), acc[t][3]);     \
            }                                                                             \
        }                                                                                 \
        if (i1 < n) {                                                                    \
            for (int t = 0; t < k; t++)                                                   \
                for (int j = 0; j < 4; j++) _mm256_storeu_ps(state + (t * 4 + j) * 8, acc[t][j]); \
            return;                                                                       \
        }                                                                                 \
        for (; i + 8 <= n; i += 8) {                                                      \
            __m256 w0 = nt_load_##T##x8(w, i);                                            \
            for (int t = 0; t < k; t++)                                                   \
                acc[t][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + t * stride + i), acc[t][0]); \
        }                                                                                 \
        if (i < n) {                                                                      \
            __m256i m = nt_tail_mask(n - i);                                              \
            __m256 wt = nt_tail_##T##x8(w, i, n - i);                                     \
            for (int t = 0; t < k; t++)                                                   \
                acc[t][1] = _mm256_fmadd_ps(wt, _mm256_maskload_ps(x + t * stride + i, m), acc[t][1]); \
        }                                                                                 \
        for (int t = 0; t < k; t++)                                                       \
            out[t] = nt_hsum256(_mm256_add_ps(_mm256_add_ps(acc[t][0], acc[t][1]),        \
                                              _mm256_add_ps(acc[t][2], acc[t][3])));      \
    }                                                                                     \
    float nt_dot_##T##_avx2(int64_t n, const void *w, const float *x)                     \
    {                                                                                     \
        float r;                                                                          \
        nt_dotk_##T(n, w, x, 0, 0, n, NULL, &r, 1);                                                   \
        return r;                                                                         \
    }                                                                                     \
    void nt_dotk_##T##_avx2(int64_t n, const void *w, const float *x, int64_t stride,  \
                                int64_t i0, int64_t i1, float *state, float *out)       \
    {                                                                                     \
        nt_dotk_##T(n, w, x, stride, i0, i1, state, out, NT_DOTK_AVX2);                   \
    }

NT_DEFINE_DOTS_AVX2(f32)
NT_DEFINE_DOTS_AVX2(f16)
NT_DEFINE_DOTS_AVX2(bf16)

/*
 * GEMM tiles of 2 rows x 3 tokens, as in kernels_avx512.c (see there): the
 * dot's four accumulators per output in two passes of two, (a0 + a1) +
 * (a2 + a3), the tokens' values packed in the order the passes read them,
 * long rows in blocks with the accumulators parked between them. Twelve
 * accumulators, two weight vectors and one activation vector fill the 16
 * ymm registers.
 */
#define NT_GEMM_T_AVX2 3
#define NT_GEMM_KC_AVX2 1024
#define NT_GEMM_GROUP_AVX2 16
#define NT_GEMM_ELEMS_AVX2 (NT_GEMM_R_AVX2 * NT_GEMM_T_AVX2)

/* See kernels_avx512.c: keeps GCC from folding one load into every FMA. */
#define NT_IN_REGISTER(v) __asm__("" : "+x"(v))

/* The k tokens' main-loop values [0, n32) in pass order: for pass p, step
 * s (values 32s ..), token t, vector a of the pair: vector 4s + 2p + a. */
static inline void nt_gemm_pack_avx2(const float *x, int64_t xs, int64_t k, int64_t n32, float *pan)
{
    for (int p = 0; p < 2; p++)
        for (int64_t i = 16 * p; i < n32; i += 32)
            for (int64_t t = 0; t < k; t++, pan += 16) {
                _mm256_store_ps(pan, _mm256_loadu_ps(x + t * xs + i));
                _mm256_store_ps(pan + 8, _mm256_loadu_ps(x + t * xs + i + 8));
            }
}

/* The horizontal sums of k combined accumulators, one at a time. */
static inline void nt_gemm_hsum_avx2(const __m256 *sums, int k, float *out)
{
    for (int e = 0; e < k; e++) out[e] = nt_hsum256(sums[e]);
}

#include "kernels/gemm_x86.inc" /* the driver, over this file's tiles (defined below) */

#define NT_DEFINE_GEMM_AVX2(T)                                                                          \
    /* Pass p of one R x TT tile over the main-loop values [i0, i1): as nt_gemm_pass in           \
     * kernels_avx512.c. */                                                                           \
    static inline __attribute__((always_inline)) void nt_gemm_pass_##T(                                \
        int64_t n, const unsigned char *w, size_t rb, const float *pan, const float *x, int64_t xs,   \
        int p, int64_t i0, int64_t i1, bool last, __m256 *state, __m256 *sums, nt_gemm_pf *pf,        \
        const int TT)                                                                                  \
    {                                                                                                  \
        __m256 acc[NT_GEMM_R_AVX2][NT_GEMM_T_AVX2][2];                                                 \
        for (int r = 0; r < NT_GEMM_R_AVX2; r++)                                                       \
            for (int t = 0; t < TT; t++)                                                               \
                for (int a = 0; a < 2; a++)                                                            \
                    acc[r][t][a] = i0 == 0 ? _mm256_setzero_ps() : state[(r * TT + t) * 2 + a];        \
        const float *xp = pan + (p * (n & ~(int64_t)31) + i0) / 2 * TT;                                \
        const unsigned char *pfp = pf->p;                                                              \
        for (int64_t i = i0 + 16 * p; i < i1; i += 32, xp += 16 * TT) {                                \
            nt_gemm_pf_step(&pfp, pf->end); /* a line of the next rows, between the multiply-adds */   \
            for (int a = 0; a < 2; a++) {                                                              \
                __m256 w0 = nt_load_##T##x8(w, i + 8 * a), w1 = nt_load_##T##x8(w + rb, i + 8 * a);    \
                NT_IN_REGISTER(w0);                                                                    \
                NT_IN_REGISTER(w1);                                                                    \
                for (int t = 0; t < TT; t++) {                                                         \
                    __m256 xv = _mm256_load_ps(xp + 16 * t + 8 * a);                                   \
                    NT_IN_REGISTER(xv);                                                                \
                    acc[0][t][a] = _mm256_fmadd_ps(w0, xv, acc[0][t][a]);                              \
                    acc[1][t][a] = _mm256_fmadd_ps(w1, xv, acc[1][t][a]);                              \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
        pf->p = pfp;                                                                                   \
        if (!last) {                                                                                   \
            for (int r = 0; r < NT_GEMM_R_AVX2; r++)                                                   \
                for (int t = 0; t < TT; t++)                                                           \
                    for (int a = 0; a < 2; a++) state[(r * TT + t) * 2 + a] = acc[r][t][a];            \
            return;                                                                                    \
        }                                                                                              \
        if (p == 0) {                                                                                  \
            for (int64_t i = i1; i + 8 <= n; i += 8) {                                                 \
                const __m256 w0 = nt_load_##T##x8(w, i), w1 = nt_load_##T##x8(w + rb, i);             \
                for (int t = 0; t < TT; t++) {                                                         \
                    const __m256 xv = _mm256_loadu_ps(x + t * xs + i);                                 \
                    acc[0][t][0] = _mm256_fmadd_ps(w0, xv, acc[0][t][0]);                              \
                    acc[1][t][0] = _mm256_fmadd_ps(w1, xv, acc[1][t][0]);                              \
                }                                                                                      \
            }                                                                                          \
            if (n & 7) {                                                                               \
                const int64_t i = n & ~(int64_t)7;                                                     \
                const __m256i m = nt_tail_mask(n - i);                                                 \
                const __m256 w0 = nt_tail_##T##x8(w, i, n - i), w1 = nt_tail_##T##x8(w + rb, i, n - i); \
                for (int t = 0; t < TT; t++) {                                                         \
                    const __m256 xv = _mm256_maskload_ps(x + t * xs + i, m);                           \
                    acc[0][t][1] = _mm256_fmadd_ps(w0, xv, acc[0][t][1]);                              \
                    acc[1][t][1] = _mm256_fmadd_ps(w1, xv, acc[1][t][1]);                              \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
        for (int r = 0; r < NT_GEMM_R_AVX2; r++)                                                       \
            for (int t = 0; t < TT; t++) {                                                             \
                const __m256 s = _mm256_add_ps(acc[r][t][0], acc[r][t][1]);                            \
                sums[r * TT + t] = p == 0 ? s : _mm256_add_ps(sums[r * TT + t], s);                    \
            }                                                                                          \
    }

/* What the driver (gemm_x86.inc) needs of this file's tiles. */
#define NT_GEMM_R NT_GEMM_R_AVX2
#define NT_GEMM_PASSES 2
#define NT_GEMM_ACC 2
#define NT_GEMM_T NT_GEMM_T_AVX2
#define NT_GEMM_ROWS NT_GEMM_GROUP_AVX2
#define NT_GEMM_STEP 32
#define NT_GEMM_ALIGN 32
#define NT_GEMM_PACK nt_gemm_pack_avx2
#define NT_GEMM_NAME(T) nt_gemm_##T##_avx2
#define NT_GEMM_DOT(T) nt_dot_##T##_avx2
#define NT_GEMM_VEC __m256
#define NT_GEMM_KC NT_GEMM_KC_AVX2
#define NT_GEMM_SUMS NT_GEMM_ELEMS_AVX2
#define NT_GEMM_HSUM nt_gemm_hsum_avx2
#define NT_DEFINE_GEMM_ALL(T) NT_DEFINE_GEMM_AVX2(T) NT_DEFINE_GEMM_GROUP(T) NT_DEFINE_GEMM_DRIVER(T)
NT_DEFINE_GEMM_ALL(f32)
NT_DEFINE_GEMM_ALL(f16)
NT_DEFINE_GEMM_ALL(bf16)

void nt_axpy_f32_avx2(float *y, float a, const float *x, int64_t n)
{
    const __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 y0 = _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i));
        __m256 y1 = _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8));
        _mm256_storeu_ps(y + i, y0);
        _mm256_storeu_ps(y + i + 8, y1);
    }
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    if (i < n) {
        __m256i m = nt_tail_mask(n - i);
        __m256 r = _mm256_fmadd_ps(va, _mm256_maskload_ps(x + i, m), _mm256_maskload_ps(y + i, m));
        _mm256_maskstore_ps(y + i, m, r);
    }
}
