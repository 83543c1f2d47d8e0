/* Attention's softmax on AVX2: bitwise the scalar reference
 * (kernels/exp_poly.h), sixteen lanes at a time in two vectors. */
#include <immintrin.h>
#include <math.h>

#include "kernels/exp_poly.h"
#include "kernels/kernels_isa.h"

static inline __m256 nt_exp_poly_avx2(__m256 x)
{
    const __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
    const __m256 big = _mm256_cmp_ps(x, _mm256_set1_ps(NT_EXP_HI), _CMP_GT_OQ);
    const __m256 xc = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(NT_EXP_LO)), _mm256_set1_ps(NT_EXP_HI));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(NT_EXP_LOG2E)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-NT_EXP_LN2_HI), xc);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(-NT_EXP_LN2_LO), r);
    __m256 p = _mm256_set1_ps(NT_EXP_C7);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(NT_EXP_C6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(NT_EXP_C5));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(NT_EXP_C4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(NT_EXP_C3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(NT_EXP_C2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i h = _mm256_srai_epi32(_mm256_add_epi32(ni, _mm256_srli_epi32(ni, 31)), 1);
    const __m256i bias = _mm256_set1_epi32(127);
    const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(h, bias), 23));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, h), bias), 23));
    __m256 v = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
    v = _mm256_andnot_ps(_mm256_cmp_ps(v, _mm256_set1_ps(1.17549435e-38f), _CMP_LT_OQ), v);
    v = _mm256_blendv_ps(v, _mm256_set1_ps(INFINITY), big);
    return _mm256_blendv_ps(v, x, nan);
}

/* (float)((double)e * inv) of eight lanes, subnormals flushed. */
static inline __m256 nt_scale_avx2(__m256 e, __m256d inv)
{
    const __m128 a = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(e)), inv));
    const __m128 b = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)), inv));
    const __m256 v = _mm256_insertf128_ps(_mm256_castps128_ps256(a), b, 1);
    return _mm256_andnot_ps(_mm256_cmp_ps(v, _mm256_set1_ps(1.17549435e-38f), _CMP_LT_OQ), v);
}

void nt_softmax_f32_avx2(float *x, int64_t n)
{
    if (n <= 0) return;
    const int64_t n16 = n & ~(int64_t)15;
    float max = x[0];
    if (n16) {
        __m256 m = _mm256_loadu_ps(x);
        for (int64_t i = 8; i < n16; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
        _Alignas(32) float l[8];
        _mm256_store_ps(l, m);
        max = l[0];
        for (int j = 1; j < 8; j++)
            if (l[j] > max) max = l[j];
    }
    for (int64_t i = n16; i < n; i++)
        if (x[i] > max) max = x[i];
    if (max == -INFINITY) {
        for (int64_t i = 0; i < n; i++) x[i] = (float)(1.0 / (double)n);
        return;
    }
    const __m256 vmax = _mm256_set1_ps(max);
    __m256d s[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
    for (int64_t i = 0; i < n16; i += 16) {
        const __m256 e0 = nt_exp_poly_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
        const __m256 e1 = nt_exp_poly_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vmax));
        _mm256_storeu_ps(x + i, e0);
        _mm256_storeu_ps(x + i + 8, e1);
        s[0] = _mm256_add_pd(s[0], _mm256_cvtps_pd(_mm256_castps256_ps128(e0)));
        s[1] = _mm256_add_pd(s[1], _mm256_cvtps_pd(_mm256_extractf128_ps(e0, 1)));
        s[2] = _mm256_add_pd(s[2], _mm256_cvtps_pd(_mm256_castps256_ps128(e1)));
        s[3] = _mm256_add_pd(s[3], _mm256_cvtps_pd(_mm256_extractf128_ps(e1, 1)));
    }
    double acc[NT_SOFTMAX_LANES];
    for (int q = 0; q < 4; q++) _mm256_storeu_pd(acc + 4 * q, s[q]);
    const double inv = 1.0 / nt_softmax_tail_sum(x, n16, n, max, acc);
    const __m256d vinv = _mm256_set1_pd(inv);
    for (int64_t i = 0; i < n16; i += 8) _mm256_storeu_ps(x + i, nt_scale_avx2(_mm256_loadu_ps(x + i), vinv));
    for (int64_t i = n16; i < n; i++) x[i] = nt_softmax_scale(x[i], inv);
}
