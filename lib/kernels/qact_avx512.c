/*
 * Activation quantizers with AVX-512 (the rule in qdot.h and qact_rule.h),
 * bitwise the scalar ones: exact maximum, the same scalar d and id, one F32
 * multiply per value, _mm512_cvtps_epi32 rounding to nearest even under the
 * default MXCSR, and a saturating narrowing that never saturates (the
 * quants lie in [-127, 127]).
 */
#include <immintrin.h>

#include "kernels/qact_rule.h"
#include "kernels/qdot.h"

static inline float nt_amax(const float *x, int len)
{
    __m512 m = _mm512_setzero_ps();
    for (int i = 0; i < len; i += 16) m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_loadu_ps(x + i)));
    return _mm512_reduce_max_ps(m);
}

/* 16 values times id: the int32 quants, their bytes stored at q. */
static inline __m512i nt_quant16(const float *x, __m512 id, int8_t *q)
{
    const __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x), id));
    _mm_storeu_si128((__m128i *)q, _mm512_cvtsepi32_epi8(v));
    return v;
}

void nt_quantize_q8a_avx512(const float *x, void *dst, int64_t n)
{
    nt_q8a_block *y = dst;
    for (int64_t b = 0; b < n / NT_Q8A_VALUES; b++, x += NT_Q8A_VALUES) {
        const float d = nt_qact_d(nt_amax(x, NT_Q8A_VALUES));
        const __m512 id = _mm512_set1_ps(nt_qact_id(d));
        const __m512i q0 = nt_quant16(x, id, y[b].qs), q1 = nt_quant16(x + 16, id, y[b].qs + 16);
        y[b].d = d;
        y[b].s = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
    }
}

void nt_quantize_q8k_avx512(const float *x, void *dst, int64_t n)
{
    nt_q8k_block *y = dst;
    for (int64_t b = 0; b < n / NT_Q8K_VALUES; b++, x += NT_Q8K_VALUES) {
        const float d = nt_qact_d(nt_amax(x, NT_Q8K_VALUES));
        const __m512 id = _mm512_set1_ps(nt_qact_id(d));
        y[b].d = d;
        for (int g = 0; g < NT_Q8K_VALUES / 16; g++)
            y[b].bsums[g] = (int16_t)_mm512_reduce_add_epi32(nt_quant16(x + 16 * g, id, y[b].qs + 16 * g));
    }
}
