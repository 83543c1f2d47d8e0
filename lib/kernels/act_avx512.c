/*
 * The activations on AVX-512, eight doubles at a time: each lane performs
 * the IEEE operations of act_scalar.c and nt_pexp (core/pmath.c) in their
 * order, with no fused multiply-add, so every result is bitwise the
 * scalar one (the tail goes to the scalar code itself).
 *
 * nt_pexp's branches become blends: NaN gives x + x, above the overflow
 * bound +inf, below the underflow bound 0. Its 2^k is two exact factors
 * 2^h and 2^(k-h), h = floor(k/2): where the result is normal both
 * products are exact, as the scalar p * 2^k is; near the ends of the
 * range the second product rounds once, as the scalar ldexp does.
 */
#include <float.h>
#include <immintrin.h>
#include <math.h>

#include "core/pmath_exp.h"
#include "kernels/kernels_isa.h"

static inline __m512d nt_pexp8(__m512d x)
{
    const __mmask8 nan = _mm512_cmp_pd_mask(x, x, _CMP_UNORD_Q);
    const __mmask8 over = _mm512_cmp_pd_mask(x, _mm512_set1_pd(NT_EXP_OVER), _CMP_GT_OQ);
    const __mmask8 under = _mm512_cmp_pd_mask(x, _mm512_set1_pd(NT_EXP_UNDER), _CMP_LT_OQ);
    const __m512d kd = _mm512_roundscale_pd(_mm512_add_pd(_mm512_mul_pd(x, _mm512_set1_pd(NT_INV_LN2)), _mm512_set1_pd(0.5)),
                                            _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    const __m512d hi = _mm512_sub_pd(x, _mm512_mul_pd(kd, _mm512_set1_pd(NT_LN2_HI)));
    const __m512d lo = _mm512_mul_pd(kd, _mm512_set1_pd(NT_LN2_LO));
    const __m512d r = _mm512_sub_pd(hi, lo);
#define NT_STEP(c) p = _mm512_add_pd(_mm512_set1_pd(c), _mm512_mul_pd(r, p))
    __m512d p = _mm512_set1_pd(NT_PEXP_C13);
    NT_STEP(NT_PEXP_C12);
    NT_STEP(NT_PEXP_C11);
    NT_STEP(NT_PEXP_C10);
    NT_STEP(NT_PEXP_C9);
    NT_STEP(NT_PEXP_C8);
    NT_STEP(NT_PEXP_C7);
    NT_STEP(NT_PEXP_C6);
    NT_STEP(NT_PEXP_C5);
    NT_STEP(NT_PEXP_C4);
    NT_STEP(NT_PEXP_C3);
    NT_STEP(NT_PEXP_C2);
    NT_STEP(1.0);
    NT_STEP(1.0);
#undef NT_STEP
    /* kd is integral; in lanes outside the bounds k is garbage, blended away */
    const __m256i k = _mm512_cvtpd_epi32(kd);
    const __m256i h = _mm256_srai_epi32(k, 1);
    const __m512i bias = _mm512_set1_epi64(1023);
    const __m512d s1 = _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_add_epi64(_mm512_cvtepi32_epi64(h), bias), 52));
    const __m512d s2 = _mm512_castsi512_pd(
        _mm512_slli_epi64(_mm512_add_epi64(_mm512_cvtepi32_epi64(_mm256_sub_epi32(k, h)), bias), 52));
    __m512d v = _mm512_mul_pd(_mm512_mul_pd(p, s1), s2);
    v = _mm512_mask_mov_pd(v, under, _mm512_setzero_pd());
    v = _mm512_mask_mov_pd(v, over, _mm512_set1_pd(HUGE_VAL));
    return _mm512_mask_mov_pd(v, nan, _mm512_add_pd(x, x));
}

static inline __m512d nt_neg8(__m512d x)
{
    return _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(x), _mm512_set1_epi64((long long)0x8000000000000000ull)));
}

static inline __m512d nt_gelu8(__m512d v)
{
    const __m512d c = _mm512_mul_pd(_mm512_mul_pd(_mm512_mul_pd(_mm512_set1_pd(0.044715), v), v), v);
    const __m512d z = _mm512_mul_pd(_mm512_set1_pd(0.79788456080286535588), _mm512_add_pd(v, c));
    const __m512d e = nt_pexp8(_mm512_mul_pd(_mm512_set1_pd(-2.0), z));
    return _mm512_div_pd(v, _mm512_add_pd(_mm512_set1_pd(1.0), e));
}

/* s * u, NaN s kept as it is (act_scalar.c's nt_mul_nan_first) */
static inline __m512d nt_mul_nan_first8(__m512d s, __m512d u)
{
    return _mm512_mask_mov_pd(_mm512_mul_pd(s, u), _mm512_cmp_pd_mask(s, s, _CMP_UNORD_Q), s);
}

/* to F32, values below FLT_MIN in magnitude (not NaN) to +0 */
static inline __m256 nt_narrow8(__m512d v)
{
    const __m256 f = _mm512_cvtpd_ps(v);
    const __m256 a = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), f);
    return _mm256_mask_mov_ps(f, _mm256_cmp_ps_mask(a, _mm256_set1_ps(FLT_MIN), _CMP_LT_OQ), _mm256_setzero_ps());
}

void nt_gelu_f32_avx512(float *x, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, nt_narrow8(nt_gelu8(_mm512_cvtps_pd(_mm256_loadu_ps(x + i)))));
    nt_gelu_f32_scalar(x + i, n - i);
}

void nt_silu_mul_f32_avx512(float *gate, const float *up, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m512d g = _mm512_cvtps_pd(_mm256_loadu_ps(gate + i));
        const __m512d s = _mm512_div_pd(g, _mm512_add_pd(_mm512_set1_pd(1.0), nt_pexp8(nt_neg8(g))));
        _mm256_storeu_ps(gate + i, nt_narrow8(nt_mul_nan_first8(s, _mm512_cvtps_pd(_mm256_loadu_ps(up + i)))));
    }
    nt_silu_mul_f32_scalar(gate + i, up + i, n - i);
}

void nt_gelu_mul_f32_avx512(float *gate, const float *up, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m512d g = nt_gelu8(_mm512_cvtps_pd(_mm256_loadu_ps(gate + i)));
        _mm256_storeu_ps(gate + i, nt_narrow8(nt_mul_nan_first8(g, _mm512_cvtps_pd(_mm256_loadu_ps(up + i)))));
    }
    nt_gelu_mul_f32_scalar(gate + i, up + i, n - i);
}

void nt_exp_f64_avx512(double *y, const double *x, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm512_storeu_pd(y + i, nt_pexp8(_mm512_loadu_pd(x + i)));
    nt_exp_f64_scalar(y + i, x + i, n - i);
}
