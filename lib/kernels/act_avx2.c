/*
 * The activations on AVX2, four doubles at a time: each lane performs the
 * IEEE operations of act_scalar.c and nt_pexp (core/pmath.c) in their
 * order, with no fused multiply-add, so every result is bitwise the
 * scalar one (the tail goes to the scalar code itself). act_avx512.c says
 * how nt_pexp's branches and its 2^k become blends and exact products.
 */
#include <float.h>
#include <immintrin.h>
#include <math.h>

#include "core/pmath_exp.h"
#include "kernels/kernels_isa.h"

static inline __m256d nt_pexp4(__m256d x)
{
    const __m256d nan = _mm256_cmp_pd(x, x, _CMP_UNORD_Q);
    const __m256d over = _mm256_cmp_pd(x, _mm256_set1_pd(NT_EXP_OVER), _CMP_GT_OQ);
    const __m256d under = _mm256_cmp_pd(x, _mm256_set1_pd(NT_EXP_UNDER), _CMP_LT_OQ);
    const __m256d kd = _mm256_round_pd(_mm256_add_pd(_mm256_mul_pd(x, _mm256_set1_pd(NT_INV_LN2)), _mm256_set1_pd(0.5)),
                                       _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    const __m256d hi = _mm256_sub_pd(x, _mm256_mul_pd(kd, _mm256_set1_pd(NT_LN2_HI)));
    const __m256d lo = _mm256_mul_pd(kd, _mm256_set1_pd(NT_LN2_LO));
    const __m256d r = _mm256_sub_pd(hi, lo);
#define NT_STEP(c) p = _mm256_add_pd(_mm256_set1_pd(c), _mm256_mul_pd(r, p))
    __m256d p = _mm256_set1_pd(NT_PEXP_C13);
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
    const __m128i k = _mm256_cvtpd_epi32(kd);
    const __m128i h = _mm_srai_epi32(k, 1);
    const __m256i bias = _mm256_set1_epi64x(1023);
    const __m256d s1 = _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_add_epi64(_mm256_cvtepi32_epi64(h), bias), 52));
    const __m256d s2 =
        _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_add_epi64(_mm256_cvtepi32_epi64(_mm_sub_epi32(k, h)), bias), 52));
    __m256d v = _mm256_mul_pd(_mm256_mul_pd(p, s1), s2);
    v = _mm256_blendv_pd(v, _mm256_setzero_pd(), under);
    v = _mm256_blendv_pd(v, _mm256_set1_pd(HUGE_VAL), over);
    return _mm256_blendv_pd(v, _mm256_add_pd(x, x), nan);
}

static inline __m256d nt_neg4(__m256d x) { return _mm256_xor_pd(x, _mm256_set1_pd(-0.0)); }

static inline __m256d nt_gelu4(__m256d v)
{
    const __m256d c = _mm256_mul_pd(_mm256_mul_pd(_mm256_mul_pd(_mm256_set1_pd(0.044715), v), v), v);
    const __m256d z = _mm256_mul_pd(_mm256_set1_pd(0.79788456080286535588), _mm256_add_pd(v, c));
    const __m256d e = nt_pexp4(_mm256_mul_pd(_mm256_set1_pd(-2.0), z));
    return _mm256_div_pd(v, _mm256_add_pd(_mm256_set1_pd(1.0), e));
}

/* s * u, NaN s kept as it is (act_scalar.c's nt_mul_nan_first) */
static inline __m256d nt_mul_nan_first4(__m256d s, __m256d u)
{
    return _mm256_blendv_pd(_mm256_mul_pd(s, u), s, _mm256_cmp_pd(s, s, _CMP_UNORD_Q));
}

/* to F32, values below FLT_MIN in magnitude (not NaN) to +0 */
static inline __m128 nt_narrow4(__m256d v)
{
    const __m128 f = _mm256_cvtpd_ps(v);
    const __m128 a = _mm_andnot_ps(_mm_set1_ps(-0.0f), f);
    return _mm_andnot_ps(_mm_cmplt_ps(a, _mm_set1_ps(FLT_MIN)), f);
}

void nt_gelu_f32_avx2(float *x, int64_t n)
{
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) _mm_storeu_ps(x + i, nt_narrow4(nt_gelu4(_mm256_cvtps_pd(_mm_loadu_ps(x + i)))));
    nt_gelu_f32_scalar(x + i, n - i);
}

void nt_silu_mul_f32_avx2(float *gate, const float *up, int64_t n)
{
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const __m256d g = _mm256_cvtps_pd(_mm_loadu_ps(gate + i));
        const __m256d s = _mm256_div_pd(g, _mm256_add_pd(_mm256_set1_pd(1.0), nt_pexp4(nt_neg4(g))));
        _mm_storeu_ps(gate + i, nt_narrow4(nt_mul_nan_first4(s, _mm256_cvtps_pd(_mm_loadu_ps(up + i)))));
    }
    nt_silu_mul_f32_scalar(gate + i, up + i, n - i);
}

void nt_gelu_mul_f32_avx2(float *gate, const float *up, int64_t n)
{
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const __m256d g = nt_gelu4(_mm256_cvtps_pd(_mm_loadu_ps(gate + i)));
        _mm_storeu_ps(gate + i, nt_narrow4(nt_mul_nan_first4(g, _mm256_cvtps_pd(_mm_loadu_ps(up + i)))));
    }
    nt_gelu_mul_f32_scalar(gate + i, up + i, n - i);
}

void nt_exp_f64_avx2(double *y, const double *x, int64_t n)
{
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) _mm256_storeu_pd(y + i, nt_pexp4(_mm256_loadu_pd(x + i)));
    nt_exp_f64_scalar(y + i, x + i, n - i);
}
