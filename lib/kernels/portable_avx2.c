/*
 * The scalar reference dots of kernels_scalar.c, bit for bit, eight lanes
 * at a time: the reference's eight accumulators are one ymm register, each
 * lane multiplying and then adding (two roundings, never a fused
 * multiply-add, as the scalar C does with -ffp-contract=off), the tail and
 * the lane sum in the reference's order. The scalar table takes these on a
 * CPU with AVX2 and F16C, so portable sessions (zip) run at vector speed and
 * still give the reference's bits on every machine.
 */
#include <immintrin.h>
#include <string.h>

#include "kernels/kernels_isa.h"

/* Lanes of the reference (kernels_scalar.c NT_LANES) */
#define NT_REF_LANES 8

static float nt_ref_finish(__m256 v, int64_t i, int64_t n, const float *w, const float *x)
{
    _Alignas(32) float acc[NT_REF_LANES];
    _mm256_store_ps(acc, v);
    for (int l = 0; i < n; i++, l++) acc[l] += w[i] * x[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

float nt_dot_f32_portable_avx2(int64_t n, const void *w, const float *x)
{
    const float *wf = w;
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + NT_REF_LANES <= n; i += NT_REF_LANES)
        acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_loadu_ps(wf + i), _mm256_loadu_ps(x + i)));
    return nt_ref_finish(acc, i, n, wf, x);
}

/* The 16-bit rows: whole groups of eight in registers, the tail widened
 * into a float buffer (the conversions are exact: any method agrees). */
#define NT_DOT16(name, widen)                                                                  \
    float nt_dot_##name##_portable_avx2(int64_t n, const void *w, const float *x)              \
    {                                                                                          \
        const unsigned char *wb = w;                                                           \
        __m256 acc = _mm256_setzero_ps();                                                      \
        int64_t i = 0;                                                                         \
        for (; i + NT_REF_LANES <= n; i += NT_REF_LANES)                                       \
            acc = _mm256_add_ps(acc, _mm256_mul_ps(widen(_mm_loadu_si128((const __m128i *)(wb + 2 * i))), \
                                                   _mm256_loadu_ps(x + i)));                   \
        float tail[NT_REF_LANES];                                                              \
        const int64_t left = n - i;                                                            \
        if (left > 0) {                                                                        \
            unsigned char raw[2 * NT_REF_LANES] = {0};                                         \
            memcpy(raw, wb + 2 * i, (size_t)(2 * left));                                       \
            _mm256_storeu_ps(tail, widen(_mm_loadu_si128((const __m128i *)raw)));              \
        }                                                                                      \
        return nt_ref_finish(acc, 0, left, tail, x + i);                                       \
    }

static inline __m256 nt_widen_f16(__m128i h) { return _mm256_cvtph_ps(h); }
static inline __m256 nt_widen_bf16(__m128i h) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)); }

NT_DOT16(f16, nt_widen_f16)
NT_DOT16(bf16, nt_widen_bf16)
