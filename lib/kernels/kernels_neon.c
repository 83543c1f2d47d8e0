/*
 * AArch64 Advanced SIMD kernels: four lanes, four accumulators (16 values
 * per iteration). F16 weights widen with fcvtl (base AArch64, no extension
 * needed), BF16 weights with a 16-bit left shift. Tails go through a small
 * zero-padded copy so no row is read past its end.
 */
#include <arm_neon.h>
#include <math.h>
#include <string.h>

#include "kernels/kernels_isa.h"
#include "types/type_kernels.h"

static inline float32x4_t nt_load_f16x4(const uint16_t *p)
{
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}

static inline float32x4_t nt_load_bf16x4(const uint16_t *p)
{
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16));
}

static inline float nt_sum4(float32x4_t a0, float32x4_t a1, float32x4_t a2, float32x4_t a3)
{
    return vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));
}

float nt_dot_f32_neon(int64_t n, const void *wv, const float *x)
{
    const float *w = wv;
    float32x4_t a0 = vdupq_n_f32(0), a1 = vdupq_n_f32(0), a2 = vdupq_n_f32(0), a3 = vdupq_n_f32(0);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = vfmaq_f32(a0, vld1q_f32(w + i), vld1q_f32(x + i));
        a1 = vfmaq_f32(a1, vld1q_f32(w + i + 4), vld1q_f32(x + i + 4));
        a2 = vfmaq_f32(a2, vld1q_f32(w + i + 8), vld1q_f32(x + i + 8));
        a3 = vfmaq_f32(a3, vld1q_f32(w + i + 12), vld1q_f32(x + i + 12));
    }
    for (; i + 4 <= n; i += 4) a0 = vfmaq_f32(a0, vld1q_f32(w + i), vld1q_f32(x + i));
    if (i < n) {
        float wt[4] = {0}, xt[4] = {0};
        memcpy(wt, w + i, (size_t)(n - i) * sizeof *wt);
        memcpy(xt, x + i, (size_t)(n - i) * sizeof *xt);
        a1 = vfmaq_f32(a1, vld1q_f32(wt), vld1q_f32(xt));
    }
    return nt_sum4(a0, a1, a2, a3);
}

float nt_dot_f16_neon(int64_t n, const void *wv, const float *x)
{
    const uint16_t *w = wv;
    float32x4_t a0 = vdupq_n_f32(0), a1 = vdupq_n_f32(0), a2 = vdupq_n_f32(0), a3 = vdupq_n_f32(0);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = vfmaq_f32(a0, nt_load_f16x4(w + i), vld1q_f32(x + i));
        a1 = vfmaq_f32(a1, nt_load_f16x4(w + i + 4), vld1q_f32(x + i + 4));
        a2 = vfmaq_f32(a2, nt_load_f16x4(w + i + 8), vld1q_f32(x + i + 8));
        a3 = vfmaq_f32(a3, nt_load_f16x4(w + i + 12), vld1q_f32(x + i + 12));
    }
    for (; i + 4 <= n; i += 4) a0 = vfmaq_f32(a0, nt_load_f16x4(w + i), vld1q_f32(x + i));
    if (i < n) {
        uint16_t wt[4] = {0};
        float xt[4] = {0};
        memcpy(wt, w + i, (size_t)(n - i) * sizeof *wt);
        memcpy(xt, x + i, (size_t)(n - i) * sizeof *xt);
        a1 = vfmaq_f32(a1, nt_load_f16x4(wt), vld1q_f32(xt));
    }
    return nt_sum4(a0, a1, a2, a3);
}

float nt_dot_bf16_neon(int64_t n, const void *wv, const float *x)
{
    const uint16_t *w = wv;
    float32x4_t a0 = vdupq_n_f32(0), a1 = vdupq_n_f32(0), a2 = vdupq_n_f32(0), a3 = vdupq_n_f32(0);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = vfmaq_f32(a0, nt_load_bf16x4(w + i), vld1q_f32(x + i));
        a1 = vfmaq_f32(a1, nt_load_bf16x4(w + i + 4), vld1q_f32(x + i + 4));
        a2 = vfmaq_f32(a2, nt_load_bf16x4(w + i + 8), vld1q_f32(x + i + 8));
        a3 = vfmaq_f32(a3, nt_load_bf16x4(w + i + 12), vld1q_f32(x + i + 12));
    }
    for (; i + 4 <= n; i += 4) a0 = vfmaq_f32(a0, nt_load_bf16x4(w + i), vld1q_f32(x + i));
    if (i < n) {
        uint16_t wt[4] = {0};
        float xt[4] = {0};
        memcpy(wt, w + i, (size_t)(n - i) * sizeof *wt);
        memcpy(xt, x + i, (size_t)(n - i) * sizeof *xt);
        a1 = vfmaq_f32(a1, nt_load_bf16x4(wt), vld1q_f32(xt));
    }
    return nt_sum4(a0, a1, a2, a3);
}

void nt_axpy_f32_neon(float *y, float a, const float *x, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), a));
        vst1q_f32(y + i + 4, vfmaq_n_f32(vld1q_f32(y + i + 4), vld1q_f32(x + i + 4), a));
    }
    for (; i < n; i++) y[i] = fmaf(a, x[i], y[i]); /* fused, like the vector lanes */
}
