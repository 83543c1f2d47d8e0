/*
 * The activations on NEON, two doubles at a time: each lane performs the
 * IEEE operations of act_scalar.c and nt_pexp (core/pmath.c) in their
 * order, with no fused multiply-add (separate vmulq/vaddq; the file is
 * built with -ffp-contract=off), so every result is bitwise the scalar one
 * (the tail goes to the scalar code itself). act_avx512.c says how
 * nt_pexp's branches and its 2^k become blends and exact products.
 */
#include <arm_neon.h>
#include <float.h>
#include <math.h>

#include "core/pmath_exp.h"
#include "kernels/kernels_isa.h"

static inline float64x2_t nt_pexp2(float64x2_t x)
{
    const uint64x2_t ord = vceqq_f64(x, x);
    const uint64x2_t over = vcgtq_f64(x, vdupq_n_f64(NT_EXP_OVER));
    const uint64x2_t under = vcltq_f64(x, vdupq_n_f64(NT_EXP_UNDER));
    const float64x2_t kd = vrndmq_f64(vaddq_f64(vmulq_f64(x, vdupq_n_f64(NT_INV_LN2)), vdupq_n_f64(0.5)));
    const float64x2_t hi = vsubq_f64(x, vmulq_f64(kd, vdupq_n_f64(NT_LN2_HI)));
    const float64x2_t lo = vmulq_f64(kd, vdupq_n_f64(NT_LN2_LO));
    const float64x2_t r = vsubq_f64(hi, lo);
#define NT_STEP(c) p = vaddq_f64(vdupq_n_f64(c), vmulq_f64(r, p))
    float64x2_t p = vdupq_n_f64(NT_PEXP_C13);
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
    const int64x2_t k = vcvtq_s64_f64(kd);
    const int64x2_t h = vshrq_n_s64(k, 1);
    const int64x2_t bias = vdupq_n_s64(1023);
    const float64x2_t s1 = vreinterpretq_f64_s64(vshlq_n_s64(vaddq_s64(h, bias), 52));
    const float64x2_t s2 = vreinterpretq_f64_s64(vshlq_n_s64(vaddq_s64(vsubq_s64(k, h), bias), 52));
    float64x2_t v = vmulq_f64(vmulq_f64(p, s1), s2);
    v = vbslq_f64(under, vdupq_n_f64(0.0), v);
    v = vbslq_f64(over, vdupq_n_f64(HUGE_VAL), v);
    return vbslq_f64(ord, v, vaddq_f64(x, x));
}

static inline float64x2_t nt_gelu2(float64x2_t v)
{
    const float64x2_t c = vmulq_f64(vmulq_f64(vmulq_f64(vdupq_n_f64(0.044715), v), v), v);
    const float64x2_t z = vmulq_f64(vdupq_n_f64(0.79788456080286535588), vaddq_f64(v, c));
    const float64x2_t e = nt_pexp2(vmulq_f64(vdupq_n_f64(-2.0), z));
    return vdivq_f64(v, vaddq_f64(vdupq_n_f64(1.0), e));
}

/* s * u, NaN s kept as it is (act_scalar.c's nt_mul_nan_first) */
static inline float64x2_t nt_mul_nan_first2(float64x2_t s, float64x2_t u)
{
    return vbslq_f64(vceqq_f64(s, s), vmulq_f64(s, u), s);
}

static inline float32x2_t nt_narrow2(float64x2_t v)
{
    const float32x2_t f = vcvt_f32_f64(v);
    const uint32x2_t tiny = vclt_f32(vabs_f32(f), vdup_n_f32(FLT_MIN));
    return vbsl_f32(tiny, vdup_n_f32(0.0f), f);
}

void nt_gelu_f32_neon(float *x, int64_t n)
{
    int64_t i = 0;
    for (; i + 2 <= n; i += 2) vst1_f32(x + i, nt_narrow2(nt_gelu2(vcvt_f64_f32(vld1_f32(x + i)))));
    nt_gelu_f32_scalar(x + i, n - i);
}

void nt_silu_mul_f32_neon(float *gate, const float *up, int64_t n)
{
    int64_t i = 0;
    for (; i + 2 <= n; i += 2) {
        const float64x2_t g = vcvt_f64_f32(vld1_f32(gate + i));
        const float64x2_t s = vdivq_f64(g, vaddq_f64(vdupq_n_f64(1.0), nt_pexp2(vnegq_f64(g))));
        vst1_f32(gate + i, nt_narrow2(nt_mul_nan_first2(s, vcvt_f64_f32(vld1_f32(up + i)))));
    }
    nt_silu_mul_f32_scalar(gate + i, up + i, n - i);
}

void nt_gelu_mul_f32_neon(float *gate, const float *up, int64_t n)
{
    int64_t i = 0;
    for (; i + 2 <= n; i += 2) {
        const float64x2_t g = nt_gelu2(vcvt_f64_f32(vld1_f32(gate + i)));
        vst1_f32(gate + i, nt_narrow2(nt_mul_nan_first2(g, vcvt_f64_f32(vld1_f32(up + i)))));
    }
    nt_gelu_mul_f32_scalar(gate + i, up + i, n - i);
}

void nt_exp_f64_neon(double *y, const double *x, int64_t n)
{
    int64_t i = 0;
    for (; i + 2 <= n; i += 2) vst1q_f64(y + i, nt_pexp2(vld1q_f64(x + i)));
    nt_exp_f64_scalar(y + i, x + i, n - i);
}
