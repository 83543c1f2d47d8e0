/*
 * The scalar reference dots of kernels_scalar.c, bit for bit, on NEON: the
 * reference's eight accumulators are two q registers, each lane
 * multiplying and then adding (vmulq then vaddq, never vfmaq: two
 * roundings, as the scalar C does with -ffp-contract=off), the tail and the
 * lane sum in the reference's order. See portable_avx2.c.
 */
#include <arm_neon.h>
#include <string.h>

#include "kernels/kernels_isa.h"
#include "types/types.h"

#define NT_REF_LANES 8

static float nt_ref_finish(float32x4_t lo, float32x4_t hi, int64_t n, const float *w, const float *x)
{
    float acc[NT_REF_LANES];
    vst1q_f32(acc, lo);
    vst1q_f32(acc + 4, hi);
    for (int64_t l = 0; l < n; l++) acc[l] += w[l] * x[l];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

static inline void nt_step(float32x4_t *lo, float32x4_t *hi, const float *w, const float *x)
{
    *lo = vaddq_f32(*lo, vmulq_f32(vld1q_f32(w), vld1q_f32(x)));
    *hi = vaddq_f32(*hi, vmulq_f32(vld1q_f32(w + 4), vld1q_f32(x + 4)));
}

float nt_dot_f32_portable_neon(int64_t n, const void *w, const float *x)
{
    const float *wf = w;
    float32x4_t lo = vdupq_n_f32(0.0f), hi = lo;
    int64_t i = 0;
    for (; i + NT_REF_LANES <= n; i += NT_REF_LANES) nt_step(&lo, &hi, wf + i, x + i);
    return nt_ref_finish(lo, hi, n - i, wf + i, x + i);
}

/* The 16-bit rows, eight values widened at a time into a float buffer (the
 * conversions are exact: any method agrees). */
#define NT_DOT16(name, widen)                                                         \
    float nt_dot_##name##_portable_neon(int64_t n, const void *w, const float *x)     \
    {                                                                                 \
        const unsigned char *wb = w;                                                  \
        float32x4_t lo = vdupq_n_f32(0.0f), hi = lo;                                  \
        float buf[NT_REF_LANES];                                                      \
        int64_t i = 0;                                                                \
        for (; i + NT_REF_LANES <= n; i += NT_REF_LANES) {                            \
            uint16_t h[NT_REF_LANES];                                                 \
            memcpy(h, wb + 2 * i, sizeof h);                                          \
            for (int l = 0; l < NT_REF_LANES; l++) buf[l] = widen(h[l]);              \
            nt_step(&lo, &hi, buf, x + i);                                            \
        }                                                                             \
        const int64_t left = n - i;                                                   \
        for (int64_t l = 0; l < left; l++) {                                          \
            uint16_t h;                                                               \
            memcpy(&h, wb + 2 * (i + l), sizeof h);                                   \
            buf[l] = widen(h);                                                        \
        }                                                                             \
        return nt_ref_finish(lo, hi, left, buf, x + i);                               \
    }

NT_DOT16(f16, nt_fp16_to_fp32)
NT_DOT16(bf16, nt_bf16_to_fp32)
