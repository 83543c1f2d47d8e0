/*
 * Activation quantizers with NEON (the rule in qdot.h and qact_rule.h),
 * bitwise the scalar ones: exact maximum, the same scalar d and id, one F32
 * multiply per value and vcvtnq_s32_f32 (always nearest even), narrowed
 * with saturation that never saturates (the quants lie in [-127, 127]).
 */
#include <arm_neon.h>

#include "kernels/qact_rule.h"
#include "kernels/qdot.h"

static inline float nt_amax(const float *x, int len)
{
    float32x4_t m = vdupq_n_f32(0.0f);
    for (int i = 0; i < len; i += 4) m = vmaxq_f32(m, vabsq_f32(vld1q_f32(x + i)));
    return vmaxvq_f32(m);
}

/* 16 values times id into 16 quants; returns their sum. */
static inline int32_t nt_quant16(const float *x, float id, int8_t *q)
{
    int32x4_t v[4];
    for (int j = 0; j < 4; j++) v[j] = vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(x + 4 * j), id));
    const int16x8_t lo = vcombine_s16(vqmovn_s32(v[0]), vqmovn_s32(v[1]));
    const int16x8_t hi = vcombine_s16(vqmovn_s32(v[2]), vqmovn_s32(v[3]));
    vst1q_s8(q, vcombine_s8(vqmovn_s16(lo), vqmovn_s16(hi)));
    return vaddvq_s32(vaddq_s32(vaddq_s32(v[0], v[1]), vaddq_s32(v[2], v[3])));
}

void nt_quantize_q8a_neon(const float *x, void *dst, int64_t n)
{
    nt_q8a_block *y = dst;
    for (int64_t b = 0; b < n / NT_Q8A_VALUES; b++, x += NT_Q8A_VALUES) {
        const float d = nt_qact_d(nt_amax(x, NT_Q8A_VALUES)), id = nt_qact_id(d);
        y[b].d = d;
        y[b].s = nt_quant16(x, id, y[b].qs) + nt_quant16(x + 16, id, y[b].qs + 16);
    }
}

void nt_quantize_q8k_neon(const float *x, void *dst, int64_t n)
{
    nt_q8k_block *y = dst;
    for (int64_t b = 0; b < n / NT_Q8K_VALUES; b++, x += NT_Q8K_VALUES) {
        const float d = nt_qact_d(nt_amax(x, NT_Q8K_VALUES)), id = nt_qact_id(d);
        y[b].d = d;
        for (int g = 0; g < NT_Q8K_VALUES / 16; g++)
            y[b].bsums[g] = (int16_t)nt_quant16(x + 16 * g, id, y[b].qs + 16 * g);
    }
}
