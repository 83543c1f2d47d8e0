/*
 * Activation quantizers with AVX2 (the rule in qdot.h and qact_rule.h),
 * bitwise the scalar ones: the maximum is exact in any order, d and id are
 * the same scalar operations, x * id is one F32 multiply per value, and
 * _mm256_cvtps_epi32 rounds to nearest even under the default MXCSR.
 */
#include <immintrin.h>

#include "kernels/qact_rule.h"
#include "kernels/qdot.h"

static inline float nt_hmax8(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static inline int32_t nt_hsum8_epi32(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

/* max |x_i| over len (a multiple of 32) values. */
static inline float nt_amax(const float *x, int len)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_setzero_ps();
    for (int i = 0; i < len; i += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
    return nt_hmax8(m);
}

/* 32 values times id into 32 quants; the four int32 vectors go to q32. */
static inline void nt_quant32(const float *x, __m256 id, int8_t *q, __m256i q32[4])
{
    for (int j = 0; j < 4; j++) q32[j] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * j), id));
    /* packs work within 128-bit lanes: fix the order of the 32-bit groups */
    const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q32[0], q32[1]), _mm256_packs_epi32(q32[2], q32[3]));
    _mm256_storeu_si256((__m256i *)q, _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
}

void nt_quantize_q8a_avx2(const float *x, void *dst, int64_t n)
{
    nt_q8a_block *y = dst;
    for (int64_t b = 0; b < n / NT_Q8A_VALUES; b++, x += NT_Q8A_VALUES) {
        const float d = nt_qact_d(nt_amax(x, NT_Q8A_VALUES));
        __m256i q32[4];
        nt_quant32(x, _mm256_set1_ps(nt_qact_id(d)), y[b].qs, q32);
        y[b].d = d;
        y[b].s = nt_hsum8_epi32(_mm256_add_epi32(_mm256_add_epi32(q32[0], q32[1]), _mm256_add_epi32(q32[2], q32[3])));
    }
}

void nt_quantize_q8k_avx2(const float *x, void *dst, int64_t n)
{
    nt_q8k_block *y = dst;
    for (int64_t b = 0; b < n / NT_Q8K_VALUES; b++, x += NT_Q8K_VALUES) {
        const float d = nt_qact_d(nt_amax(x, NT_Q8K_VALUES));
        const __m256 id = _mm256_set1_ps(nt_qact_id(d));
        y[b].d = d;
        for (int g = 0; g < NT_Q8K_VALUES / 32; g++) {
            __m256i q32[4];
            nt_quant32(x + 32 * g, id, y[b].qs + 32 * g, q32);
            y[b].bsums[2 * g] = (int16_t)nt_hsum8_epi32(_mm256_add_epi32(q32[0], q32[1]));
            y[b].bsums[2 * g + 1] = (int16_t)nt_hsum8_epi32(_mm256_add_epi32(q32[2], q32[3]));
        }
    }
}
