/* Attention's softmax on AVX-512: bitwise the scalar reference
 * (kernels/exp_poly.h), sixteen lanes at a time. */
#include <immintrin.h>
#include <math.h>

#include "kernels/exp_poly.h"
#include "kernels/kernels_isa.h"

static inline __m512 nt_exp_poly_avx512(__m512 x)
{
    const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    const __mmask16 big = _mm512_cmp_ps_mask(x, _mm512_set1_ps(NT_EXP_HI), _CMP_GT_OQ);
    const __m512 xc = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(NT_EXP_LO)), _mm512_set1_ps(NT_EXP_HI));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(NT_EXP_LOG2E)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-NT_EXP_LN2_HI), xc);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(-NT_EXP_LN2_LO), r);
    __m512 p = _mm512_set1_ps(NT_EXP_C7);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(NT_EXP_C6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(NT_EXP_C5));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(NT_EXP_C4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(NT_EXP_C3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(NT_EXP_C2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    const __m512i ni = _mm512_cvtps_epi32(n);
    const __m512i h = _mm512_srai_epi32(_mm512_add_epi32(ni, _mm512_srli_epi32(ni, 31)), 1);
    const __m512i bias = _mm512_set1_epi32(127);
    const __m512 s1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(h, bias), 23));
    const __m512 s2 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_sub_epi32(ni, h), bias), 23));
    __m512 v = _mm512_mul_ps(_mm512_mul_ps(p, s1), s2);
    v = _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask(v, _mm512_set1_ps(1.17549435e-38f), _CMP_LT_OQ), _mm512_setzero_ps());
    v = _mm512_mask_mov_ps(v, big, _mm512_set1_ps(INFINITY));
    return _mm512_mask_mov_ps(v, nan, x);
}

void nt_softmax_f32_avx512(float *x, int64_t n)
{
    if (n <= 0) return;
    const int64_t n16 = n & ~(int64_t)15;
    float max = x[0];
    if (n16) {
        __m512 m = _mm512_loadu_ps(x);
        for (int64_t i = 16; i < n16; i += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(x + i));
        max = _mm512_reduce_max_ps(m);
    }
    for (int64_t i = n16; i < n; i++)
        if (x[i] > max) max = x[i];
    if (max == -INFINITY) {
        for (int64_t i = 0; i < n; i++) x[i] = (float)(1.0 / (double)n);
        return;
    }
    const __m512 vmax = _mm512_set1_ps(max);
    __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd(); /* lanes 0..7, 8..15 */
    for (int64_t i = 0; i < n16; i += 16) {
        const __m512 e = nt_exp_poly_avx512(_mm512_sub_ps(_mm512_loadu_ps(x + i), vmax));
        _mm512_storeu_ps(x + i, e);
        lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
        hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
    }
    double acc[NT_SOFTMAX_LANES];
    _mm512_storeu_pd(acc, lo);
    _mm512_storeu_pd(acc + 8, hi);
    const double inv = 1.0 / nt_softmax_tail_sum(x, n16, n, max, acc);
    const __m512d vinv = _mm512_set1_pd(inv);
    const __m512 tiny = _mm512_set1_ps(1.17549435e-38f);
    for (int64_t i = 0; i < n16; i += 16) {
        const __m512 e = _mm512_loadu_ps(x + i);
        const __m256 a = _mm512_cvtpd_ps(_mm512_mul_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(e)), vinv));
        const __m256 b = _mm512_cvtpd_ps(
            _mm512_mul_pd(_mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))), vinv));
        __m512 v = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(a)), _mm256_castps_pd(b), 1));
        v = _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask(v, tiny, _CMP_LT_OQ), _mm512_setzero_ps());
        _mm512_storeu_ps(x + i, v);
    }
    for (int64_t i = n16; i < n; i++) x[i] = nt_softmax_scale(x[i], inv);
}
