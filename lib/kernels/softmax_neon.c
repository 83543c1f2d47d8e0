/* Attention's softmax on NEON: bitwise the scalar reference
 * (kernels/exp_poly.h), sixteen lanes at a time in four vectors. */
#include <arm_neon.h>
#include <math.h>

#include "kernels/exp_poly.h"
#include "kernels/kernels_isa.h"

static inline float32x4_t nt_exp_poly_neon(float32x4_t x)
{
    const uint32x4_t nan = vmvnq_u32(vceqq_f32(x, x));
    const uint32x4_t big = vcgtq_f32(x, vdupq_n_f32(NT_EXP_HI));
    const float32x4_t xc = vminq_f32(vmaxq_f32(x, vdupq_n_f32(NT_EXP_LO)), vdupq_n_f32(NT_EXP_HI));
    const float32x4_t n = vrndnq_f32(vmulq_f32(xc, vdupq_n_f32(NT_EXP_LOG2E)));
    float32x4_t r = vfmaq_f32(xc, n, vdupq_n_f32(-NT_EXP_LN2_HI));
    r = vfmaq_f32(r, n, vdupq_n_f32(-NT_EXP_LN2_LO));
    float32x4_t p = vdupq_n_f32(NT_EXP_C7);
    p = vfmaq_f32(vdupq_n_f32(NT_EXP_C6), p, r);
    p = vfmaq_f32(vdupq_n_f32(NT_EXP_C5), p, r);
    p = vfmaq_f32(vdupq_n_f32(NT_EXP_C4), p, r);
    p = vfmaq_f32(vdupq_n_f32(NT_EXP_C3), p, r);
    p = vfmaq_f32(vdupq_n_f32(NT_EXP_C2), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    const int32x4_t ni = vcvtq_s32_f32(n);
    const int32x4_t h = vshrq_n_s32(vaddq_s32(ni, vreinterpretq_s32_u32(vshrq_n_u32(vreinterpretq_u32_s32(ni), 31))), 1);
    const int32x4_t bias = vdupq_n_s32(127);
    const float32x4_t s1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(h, bias), 23));
    const float32x4_t s2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vsubq_s32(ni, h), bias), 23));
    float32x4_t v = vmulq_f32(vmulq_f32(p, s1), s2);
    v = vbslq_f32(vcltq_f32(v, vdupq_n_f32(1.17549435e-38f)), vdupq_n_f32(0.0f), v);
    v = vbslq_f32(big, vdupq_n_f32(INFINITY), v);
    return vbslq_f32(nan, x, v);
}

static inline float32x4_t nt_scale_neon(float32x4_t e, float64x2_t inv)
{
    const float32x2_t a = vcvt_f32_f64(vmulq_f64(vcvt_f64_f32(vget_low_f32(e)), inv));
    const float32x4_t v = vcvt_high_f32_f64(a, vmulq_f64(vcvt_high_f64_f32(e), inv));
    return vbslq_f32(vcltq_f32(v, vdupq_n_f32(1.17549435e-38f)), vdupq_n_f32(0.0f), v);
}

void nt_softmax_f32_neon(float *x, int64_t n)
{
    if (n <= 0) return;
    const int64_t n16 = n & ~(int64_t)15;
    float max = x[0];
    if (n16) {
        float32x4_t m = vld1q_f32(x);
        for (int64_t i = 4; i < n16; i += 4) m = vmaxq_f32(m, vld1q_f32(x + i));
        max = vmaxvq_f32(m);
    }
    for (int64_t i = n16; i < n; i++)
        if (x[i] > max) max = x[i];
    if (max == -INFINITY) {
        for (int64_t i = 0; i < n; i++) x[i] = (float)(1.0 / (double)n);
        return;
    }
    const float32x4_t vmax = vdupq_n_f32(max);
    float64x2_t s[8];
    for (int q = 0; q < 8; q++) s[q] = vdupq_n_f64(0.0);
    for (int64_t i = 0; i < n16; i += 16)
        for (int q = 0; q < 4; q++) {
            const float32x4_t e = nt_exp_poly_neon(vsubq_f32(vld1q_f32(x + i + 4 * q), vmax));
            vst1q_f32(x + i + 4 * q, e);
            s[2 * q] = vaddq_f64(s[2 * q], vcvt_f64_f32(vget_low_f32(e)));
            s[2 * q + 1] = vaddq_f64(s[2 * q + 1], vcvt_high_f64_f32(e));
        }
    double acc[NT_SOFTMAX_LANES];
    for (int q = 0; q < 8; q++) vst1q_f64(acc + 2 * q, s[q]);
    const double inv = 1.0 / nt_softmax_tail_sum(x, n16, n, max, acc);
    const float64x2_t vinv = vdupq_n_f64(inv);
    for (int64_t i = 0; i < n16; i += 4) vst1q_f32(x + i, nt_scale_neon(vld1q_f32(x + i), vinv));
    for (int64_t i = n16; i < n; i++) x[i] = nt_softmax_scale(x[i], inv);
}
