/*
 * Quantized weight types in plain C: one decoder per ggml block layout
 * (the dequantization formulas of ggml-quants.c, written from the format
 * definition), the row dequantizers built on them, and the scalar dots.
 *
 * A dot decodes one block at a time into a small buffer and multiplies it
 * into the F32 activations with the eight-lane accumulators of
 * nt_dot_f32_scalar, so it is bitwise that function applied to the
 * dequantized row: no rounding of the activations, no integer shortcuts.
 */
#include <math.h>

#include "kernels/quant_blocks.h"
#include "types/type_kernels.h"

void nt_deq_block_q4_0(const unsigned char *b, float *y)
{
    const float d = nt_q_f16(b, 0);
    const unsigned char *qs = b + 2;
    for (int j = 0; j < 16; j++) {
        y[j] = (float)((qs[j] & 0x0F) - 8) * d;
        y[j + 16] = (float)((qs[j] >> 4) - 8) * d;
    }
}

void nt_deq_block_q4_1(const unsigned char *b, float *y)
{
    const float d = nt_q_f16(b, 0), m = nt_q_f16(b, 2);
    const unsigned char *qs = b + 4;
    for (int j = 0; j < 16; j++) {
        y[j] = (float)(qs[j] & 0x0F) * d + m;
        y[j + 16] = (float)(qs[j] >> 4) * d + m;
    }
}

/* Q5_0/Q5_1: bit j of the 32-bit qh is the fifth bit of value j. */
static inline uint32_t nt_q5_high(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void nt_deq_block_q5_0(const unsigned char *b, float *y)
{
    const float d = nt_q_f16(b, 0);
    const uint32_t qh = nt_q5_high(b + 2);
    const unsigned char *qs = b + 6;
    for (int j = 0; j < 16; j++) {
        int x0 = (int)((qs[j] & 0x0F) | (((qh >> j) & 1) << 4)) - 16;
        int x1 = (int)((qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16;
        y[j] = (float)x0 * d;
        y[j + 16] = (float)x1 * d;
    }
}

void nt_deq_block_q5_1(const unsigned char *b, float *y)
{
    const float d = nt_q_f16(b, 0), m = nt_q_f16(b, 2);
    const uint32_t qh = nt_q5_high(b + 4);
    const unsigned char *qs = b + 8;
    for (int j = 0; j < 16; j++) {
        int x0 = (int)((qs[j] & 0x0F) | (((qh >> j) & 1) << 4));
        int x1 = (int)((qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4));
        y[j] = (float)x0 * d + m;
        y[j + 16] = (float)x1 * d + m;
    }
}

void nt_deq_block_q8_0(const unsigned char *b, float *y)
{
    const float d = nt_q_f16(b, 0);
    for (int j = 0; j < 32; j++) y[j] = (float)(int8_t)b[2 + j] * d;
}

/* Q2_K: 16 groups of 16; scales[i] holds the group's scale (low nibble,
 * times d) and min (high nibble, times dmin); two-bit quants, four to a
 * byte: byte l of each 32-byte run carries groups at shifts 0, 2, 4, 6. */
void nt_deq_block_q2_k(const unsigned char *b, float *y)
{
    const unsigned char *sc = b, *q = b + 16;
    const float d = nt_q_f16(b, 80), dmin = nt_q_f16(b, 82);
    int is = 0;
    for (int half = 0; half < 2; half++, q += 32)
        for (int shift = 0; shift < 8; shift += 2)
            for (int part = 0; part < 2; part++, is++) {
                const float dl = d * (float)(sc[is] & 0x0F), ml = dmin * (float)(sc[is] >> 4);
                for (int l = 0; l < 16; l++) *y++ = dl * (float)((q[16 * part + l] >> shift) & 3) - ml;
            }
}

/* Q3_K: like Q2_K's layout with signed six-bit scales (nt_q3k_scale) and a
 * third bit per value in hmask: bit (2*half + shift/2) of hmask[l]; a clear
 * bit subtracts 4. */
void nt_deq_block_q3_k(const unsigned char *b, float *y)
{
    const unsigned char *hm = b, *q = b + 32, *sc = b + 96;
    const float d = nt_q_f16(b, 108);
    int is = 0;
    unsigned m = 1;
    for (int half = 0; half < 2; half++, q += 32)
        for (int shift = 0; shift < 8; shift += 2, m <<= 1)
            for (int part = 0; part < 2; part++, is++) {
                const float dl = d * (float)nt_q3k_scale(is, sc);
                for (int l = 16 * part; l < 16 * part + 16; l++) {
                    int v = (int)((q[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4);
                    *y++ = dl * (float)v;
                }
            }
}

/* Q4_K: eight groups of 32; each 32-byte run of qs gives two groups, low
 * nibbles first. */
void nt_deq_block_q4_k(const unsigned char *b, float *y)
{
    const float d = nt_q_f16(b, 0), dmin = nt_q_f16(b, 2);
    const unsigned char *sc = b + 4, *q = b + 16;
    for (int j = 0; j < 8; j += 2, q += 32) {
        int s0, m0, s1, m1;
        nt_q_scale_min_k4(j, sc, &s0, &m0);
        nt_q_scale_min_k4(j + 1, sc, &s1, &m1);
        const float d0 = d * (float)s0, n0 = dmin * (float)m0;
        const float d1 = d * (float)s1, n1 = dmin * (float)m1;
        for (int l = 0; l < 32; l++) *y++ = d0 * (float)(q[l] & 0x0F) - n0;
        for (int l = 0; l < 32; l++) *y++ = d1 * (float)(q[l] >> 4) - n1;
    }
}

/* Q5_K: Q4_K plus a fifth bit per value: bit j of qh[l] for group j. */
void nt_deq_block_q5_k(const unsigned char *b, float *y)
{
    const float d = nt_q_f16(b, 0), dmin = nt_q_f16(b, 2);
    const unsigned char *sc = b + 4, *qh = b + 16, *q = b + 48;
    for (int j = 0; j < 8; j += 2, q += 32) {
        int s0, m0, s1, m1;
        nt_q_scale_min_k4(j, sc, &s0, &m0);
        nt_q_scale_min_k4(j + 1, sc, &s1, &m1);
        const float d0 = d * (float)s0, n0 = dmin * (float)m0;
        const float d1 = d * (float)s1, n1 = dmin * (float)m1;
        for (int l = 0; l < 32; l++) *y++ = d0 * (float)((q[l] & 0x0F) + (((qh[l] >> j) & 1) << 4)) - n0;
        for (int l = 0; l < 32; l++) *y++ = d1 * (float)((q[l] >> 4) + (((qh[l] >> (j + 1)) & 1) << 4)) - n1;
    }
}

/* Q6_K: two halves of 128; in each, value l + 32k (l < 32, k < 4) takes
 * its low four bits from ql[l] (k even) or ql[l + 32] (k odd), low nibble
 * for k < 2, and its top two bits from qh[l] at bit 2k; signed by -32 and
 * scaled by d * scales[8*half + l/16 + 2k]. */
void nt_deq_block_q6_k(const unsigned char *b, float *y)
{
    const unsigned char *ql = b, *qh = b + 128;
    const signed char *sc = (const signed char *)(b + 192);
    const float d = nt_q_f16(b, 208);
    for (int half = 0; half < 2; half++, ql += 64, qh += 32, sc += 8, y += 128)
        for (int l = 0; l < 32; l++) {
            const int is = l / 16;
            const int q1 = (int)((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32;
            const int q2 = (int)((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
            const int q3 = (int)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            const int q4 = (int)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            y[l] = d * (float)sc[is] * (float)q1;
            y[l + 32] = d * (float)sc[is + 2] * (float)q2;
            y[l + 64] = d * (float)sc[is + 4] * (float)q3;
            y[l + 96] = d * (float)sc[is + 6] * (float)q4;
        }
}

static inline void nt_deq_row(nt_deq_block_fn deq, int blck, int bytes, const void *src, float *dst, int64_t n)
{
    const unsigned char *b = src;
    for (int64_t i = 0; i < n; i += blck, b += bytes) deq(b, dst + i);
}

/* Eight lanes over each decoded block, as nt_dot_f32_scalar does. */
static inline float nt_qdot_scalar(nt_deq_block_fn deq, int blck, int bytes, int64_t n, const void *w,
                                   const float *x)
{
    const unsigned char *b = w;
    float acc[8] = {0};
    float buf[NT_QK_K];
    for (int64_t i = 0; i < n; i += blck, b += bytes) {
        deq(b, buf);
        for (int j = 0; j < blck; j += 8)
            for (int l = 0; l < 8; l++) acc[l] += buf[j + l] * x[i + j + l];
    }
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

#define NT_DEFINE_QUANT_SCALAR(t, blck, bytes)                                  \
    void nt_##t##_to_float(const void *src, float *dst, int64_t n)              \
    {                                                                           \
        nt_deq_row(nt_deq_block_##t, blck, bytes, src, dst, n);                 \
    }                                                                           \
    float nt_dot_##t##_scalar(int64_t n, const void *w, const float *x)         \
    {                                                                           \
        return nt_qdot_scalar(nt_deq_block_##t, blck, bytes, n, w, x);          \
    }

NT_DEFINE_QUANT_SCALAR(q4_0, NT_QK32, NT_Q4_0_BYTES)
NT_DEFINE_QUANT_SCALAR(q4_1, NT_QK32, NT_Q4_1_BYTES)
NT_DEFINE_QUANT_SCALAR(q5_0, NT_QK32, NT_Q5_0_BYTES)
NT_DEFINE_QUANT_SCALAR(q5_1, NT_QK32, NT_Q5_1_BYTES)
NT_DEFINE_QUANT_SCALAR(q8_0, NT_QK32, NT_Q8_0_BYTES)
NT_DEFINE_QUANT_SCALAR(q2_k, NT_QK_K, NT_Q2_K_BYTES)
NT_DEFINE_QUANT_SCALAR(q3_k, NT_QK_K, NT_Q3_K_BYTES)
NT_DEFINE_QUANT_SCALAR(q4_k, NT_QK_K, NT_Q4_K_BYTES)
NT_DEFINE_QUANT_SCALAR(q5_k, NT_QK_K, NT_Q5_K_BYTES)
NT_DEFINE_QUANT_SCALAR(q6_k, NT_QK_K, NT_Q6_K_BYTES)

/* ggml's Q8_0 quantization (quantize_row_q8_0_ref): per block of 32,
 * d = max|x| / 127 stored as F16, q = round(x / d) with halves away from
 * zero, computed as x * (1 / d) in F32. */
void nt_q8_0_from_float(const float *src, void *dst, int64_t n)
{
    unsigned char *b = dst;
    for (int64_t i = 0; i < n; i += NT_QK32, b += NT_Q8_0_BYTES) {
        float amax = 0.0f;
        for (int j = 0; j < NT_QK32; j++) {
            const float a = fabsf(src[i + j]);
            if (a > amax) amax = a;
        }
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        const uint16_t h = nt_fp32_to_fp16(d);
        memcpy(b, &h, sizeof h);
        for (int j = 0; j < NT_QK32; j++) b[2 + j] = (unsigned char)(int8_t)roundf(src[i + j] * id);
    }
}
