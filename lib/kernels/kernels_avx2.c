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
