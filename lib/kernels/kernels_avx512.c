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

#include "kernels/hsum_avx512.h"
#include "kernels/kernels_isa.h"
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

/* One row with k tokens (x rows `stride` apart); k = 1 is the plain dot. */
#define NT_DEFINE_DOTS_AVX512(T)                                                          \
    static inline __attribute__((always_inline)) void nt_dotk_##T(                        \
        int64_t n, const void *w, const float *x, int64_t stride, int64_t i0, int64_t i1, \
        float *state, float *out, const int k)                                            \
    {                                                                                     \
        __m512 acc[NT_DOTK_AVX512][4];                                                    \
        for (int t = 0; t < k; t++)                                                       \
            for (int j = 0; j < 4; j++)                                                   \
                acc[t][j] = i0 == 0 ? _mm512_setzero_ps() : _mm512_loadu_ps(state + (t * 4 + j) * 16);    \
        int64_t i = i0;                                                                   \
        for (; i + 64 <= i1; i += 64) {                                                    \
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
        nt_dotk_##T(n, w, x, 0, 0, n, NULL, &r, 1);                                                   \
        return r;                                                                         \
    }                                                                                     \
    void nt_dotk_##T##_avx512(int64_t n, const void *w, const float *x, int64_t stride,  \
                                int64_t i0, int64_t i1, float *state, float *out)       \
    {                                                                                     \
        nt_dotk_##T(n, w, x, stride, i0, i1, state, out, NT_DOTK_AVX512);                   \
    }

NT_DEFINE_DOTS_AVX512(f32)
NT_DEFINE_DOTS_AVX512(f16)
NT_DEFINE_DOTS_AVX512(bf16)

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
