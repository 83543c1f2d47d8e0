/*
 * AArch64 dots of quantized rows with F32 activations, with the
 * accumulator layout of nt_dot_f32_neon (vector g of four values to
 * accumulator g % 4, in order), so each is bitwise that dot of the
 * dequantized row. Q8_0, Q4_0, Q4_K and Q6_K decode in registers (bytes
 * widened to 32 bits, then the scalar decoders' float operations); the
 * other types decode a block at a time into a small buffer.
 */
#include <arm_neon.h>

#include "kernels/quant_blocks.h"
#include "types/type_kernels.h"

static inline float nt_qdot_buffered(nt_deq_block_fn deq, int blck, int bytes, int64_t n, const void *w,
                                     const float *x)
{
    float32x4_t acc[4] = {vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)};
    float buf[NT_QK_K];
    const unsigned char *b = w;
    for (int64_t i = 0; i < n; i += blck, b += bytes) {
        deq(b, buf);
        for (int j = 0; j < blck; j += 16)
            for (int a = 0; a < 4; a++)
                acc[a] = vfmaq_f32(acc[a], vld1q_f32(buf + j + 4 * a), vld1q_f32(x + i + j + 4 * a));
    }
    return vaddvq_f32(vaddq_f32(vaddq_f32(acc[0], acc[1]), vaddq_f32(acc[2], acc[3])));
}

#define NT_DEFINE_BUFFERED(t, blck, bytes)                                      \
    float nt_dot_##t##_neon(int64_t n, const void *w, const float *x)           \
    {                                                                           \
        return nt_qdot_buffered(nt_deq_block_##t, blck, bytes, n, w, x);        \
    }

NT_DEFINE_BUFFERED(q4_1, NT_QK32, NT_Q4_1_BYTES)
NT_DEFINE_BUFFERED(q5_0, NT_QK32, NT_Q5_0_BYTES)
NT_DEFINE_BUFFERED(q5_1, NT_QK32, NT_Q5_1_BYTES)
NT_DEFINE_BUFFERED(q2_k, NT_QK_K, NT_Q2_K_BYTES)
NT_DEFINE_BUFFERED(q3_k, NT_QK_K, NT_Q3_K_BYTES)
NT_DEFINE_BUFFERED(q5_k, NT_QK_K, NT_Q5_K_BYTES)

typedef struct nt_acc4 {
    float32x4_t a[4];
} nt_acc4;

static inline float nt_acc_sum(const nt_acc4 *acc)
{
    return vaddvq_f32(vaddq_f32(vaddq_f32(acc->a[0], acc->a[1]), vaddq_f32(acc->a[2], acc->a[3])));
}

/* Sixteen bytes widened to four int32x4 (values 4p..4p+3 in part p). */
static inline void nt_widen_u8(uint8x16_t v, int32x4_t out[4])
{
    const uint16x8_t lo = vmovl_u8(vget_low_u8(v)), hi = vmovl_u8(vget_high_u8(v));
    out[0] = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(lo)));
    out[1] = vreinterpretq_s32_u32(vmovl_u16(vget_high_u16(lo)));
    out[2] = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(hi)));
    out[3] = vreinterpretq_s32_u32(vmovl_u16(vget_high_u16(hi)));
}

/* Four vectors of values [i, i + 16) into accumulators 0..3 (g = i/4 + p,
 * i a multiple of 16). */
static inline void nt_sink16(nt_acc4 *acc, const float32x4_t v[4], const float *x)
{
    for (int p = 0; p < 4; p++) acc->a[p] = vfmaq_f32(acc->a[p], v[p], vld1q_f32(x + 4 * p));
}

float nt_dot_q8_0_neon(int64_t n, const void *w, const float *x)
{
    nt_acc4 acc = {{vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)}};
    const unsigned char *b = w;
    for (int64_t i = 0; i < n; i += NT_QK32, b += NT_Q8_0_BYTES) {
        const float32x4_t d = vdupq_n_f32(nt_q_f16(b, 0));
        for (int h = 0; h < 2; h++) {
            const int8x16_t q = vld1q_s8((const int8_t *)(b + 2 + 16 * h));
            const int16x8_t lo = vmovl_s8(vget_low_s8(q)), hi = vmovl_s8(vget_high_s8(q));
            const int32x4_t e[4] = {vmovl_s16(vget_low_s16(lo)), vmovl_s16(vget_high_s16(lo)),
                                    vmovl_s16(vget_low_s16(hi)), vmovl_s16(vget_high_s16(hi))};
            float32x4_t v[4];
            for (int p = 0; p < 4; p++) v[p] = vmulq_f32(vcvtq_f32_s32(e[p]), d);
            nt_sink16(&acc, v, x + i + 16 * h);
        }
    }
    return nt_acc_sum(&acc);
}

float nt_dot_q4_0_neon(int64_t n, const void *w, const float *x)
{
    nt_acc4 acc = {{vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)}};
    const int32x4_t eight = vdupq_n_s32(8);
    const unsigned char *b = w;
    for (int64_t i = 0; i < n; i += NT_QK32, b += NT_Q4_0_BYTES) {
        const float32x4_t d = vdupq_n_f32(nt_q_f16(b, 0));
        const uint8x16_t q = vld1q_u8(b + 2);
        const uint8x16_t halves[2] = {vandq_u8(q, vdupq_n_u8(0x0F)), vshrq_n_u8(q, 4)};
        for (int h = 0; h < 2; h++) {
            int32x4_t e[4];
            float32x4_t v[4];
            nt_widen_u8(halves[h], e);
            for (int p = 0; p < 4; p++) v[p] = vmulq_f32(vcvtq_f32_s32(vsubq_s32(e[p], eight)), d);
            nt_sink16(&acc, v, x + i + 16 * h);
        }
    }
    return nt_acc_sum(&acc);
}

float nt_dot_q4_k_neon(int64_t n, const void *w, const float *x)
{
    nt_acc4 acc = {{vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)}};
    const unsigned char *b = w;
    for (int64_t i = 0; i < n; i += NT_QK_K, b += NT_Q4_K_BYTES) {
        const float d = nt_q_f16(b, 0), dmin = nt_q_f16(b, 2);
        const unsigned char *q = b + 16;
        for (int j = 0; j < 8; j += 2, q += 32) {
            int s[2], m[2];
            nt_q_scale_min_k4(j, b + 4, &s[0], &m[0]);
            nt_q_scale_min_k4(j + 1, b + 4, &s[1], &m[1]);
            for (int g = 0; g < 2; g++) { /* low nibbles: group j, high: group j + 1 */
                const float32x4_t dg = vdupq_n_f32(d * (float)s[g]), ng = vdupq_n_f32(dmin * (float)m[g]);
                for (int h = 0; h < 2; h++) {
                    const uint8x16_t raw = vld1q_u8(q + 16 * h);
                    const uint8x16_t nib = g == 0 ? vandq_u8(raw, vdupq_n_u8(0x0F)) : vshrq_n_u8(raw, 4);
                    int32x4_t e[4];
                    float32x4_t v[4];
                    nt_widen_u8(nib, e);
                    for (int p = 0; p < 4; p++) v[p] = vsubq_f32(vmulq_f32(dg, vcvtq_f32_s32(e[p])), ng);
                    nt_sink16(&acc, v, x + i + 32 * (j + g) + 16 * h);
                }
            }
        }
    }
    return nt_acc_sum(&acc);
}

float nt_dot_q6_k_neon(int64_t n, const void *w, const float *x)
{
    nt_acc4 acc = {{vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)}};
    const uint8x16_t lo4 = vdupq_n_u8(0x0F), two = vdupq_n_u8(3);
    const int32x4_t bias = vdupq_n_s32(32);
    const unsigned char *b = w;
    for (int64_t i = 0; i < n; i += NT_QK_K, b += NT_Q6_K_BYTES) {
        const float d = nt_q_f16(b, 208);
        const int8_t *sc = (const int8_t *)(b + 192);
        const unsigned char *ql = b, *qh = b + 128;
        for (int half = 0; half < 2; half++, ql += 64, qh += 32, sc += 8) {
            /* q[k][l0/16]: the six-bit quants of values l + 32k, l in [l0, l0 + 16) */
            uint8x16_t q[4][2];
            for (int c = 0; c < 2; c++) {
                const uint8x16_t a = vld1q_u8(ql + 16 * c), e = vld1q_u8(ql + 32 + 16 * c), h = vld1q_u8(qh + 16 * c);
                q[0][c] = vorrq_u8(vandq_u8(a, lo4), vshlq_n_u8(vandq_u8(h, two), 4));
                q[1][c] = vorrq_u8(vandq_u8(e, lo4), vshlq_n_u8(vandq_u8(vshrq_n_u8(h, 2), two), 4));
                q[2][c] = vorrq_u8(vshrq_n_u8(a, 4), vshlq_n_u8(vandq_u8(vshrq_n_u8(h, 4), two), 4));
                q[3][c] = vorrq_u8(vshrq_n_u8(e, 4), vshlq_n_u8(vshrq_n_u8(h, 6), 4));
            }
            /* in value order, so each accumulator sees its vectors in order */
            for (int k = 0; k < 4; k++)
                for (int c = 0; c < 2; c++) {
                    const float32x4_t s = vdupq_n_f32(d * (float)sc[c + 2 * k]);
                    int32x4_t e[4];
                    float32x4_t v[4];
                    nt_widen_u8(q[k][c], e);
                    for (int p = 0; p < 4; p++) v[p] = vmulq_f32(s, vcvtq_f32_s32(vsubq_s32(e[p], bias)));
                    nt_sink16(&acc, v, x + i + 128 * half + 32 * k + 16 * c);
                }
        }
    }
    return nt_acc_sum(&acc);
}
