/*
 * AArch64 Advanced SIMD kernels: four lanes, four accumulators (16 values
 * per iteration). F16 weights widen with fcvtl (base AArch64, no extension
 * needed), BF16 weights with a 16-bit left shift. Tails go through a small
 * zero-padded copy so no row is read past its end.
 *
 * The four-token dots repeat the single dot's accumulator layout lane for
 * lane, so a token's result is bitwise the same however it was batched.
 */
#include <arm_neon.h>
#include <math.h>
#include <string.h>

#include "kernels/kernels_isa.h"
#include "types/type_kernels.h"

static inline float32x4_t nt_load_f32x4(const void *w, int64_t i) { return vld1q_f32((const float *)w + i); }
static inline float32x4_t nt_tail_f32x4(const void *w, int64_t i, int64_t r)
{
    float t[4] = {0};
    memcpy(t, (const float *)w + i, (size_t)r * sizeof *t);
    return vld1q_f32(t);
}

static inline float32x4_t nt_widen_f16(uint16x4_t v) { return vcvt_f32_f16(vreinterpret_f16_u16(v)); }
static inline float32x4_t nt_load_f16x4(const void *w, int64_t i)
{
    return nt_widen_f16(vld1_u16((const uint16_t *)w + i));
}
static inline float32x4_t nt_tail_f16x4(const void *w, int64_t i, int64_t r)
{
    uint16_t t[4] = {0};
    memcpy(t, (const uint16_t *)w + i, (size_t)r * sizeof *t);
    return nt_widen_f16(vld1_u16(t));
}

static inline float32x4_t nt_widen_bf16(uint16x4_t v) { return vreinterpretq_f32_u32(vshll_n_u16(v, 16)); }
static inline float32x4_t nt_load_bf16x4(const void *w, int64_t i)
{
    return nt_widen_bf16(vld1_u16((const uint16_t *)w + i));
}
static inline float32x4_t nt_tail_bf16x4(const void *w, int64_t i, int64_t r)
{
    uint16_t t[4] = {0};
    memcpy(t, (const uint16_t *)w + i, (size_t)r * sizeof *t);
    return nt_widen_bf16(vld1_u16(t));
}

/* One row with k tokens (x rows `stride` apart); k = 1 is the plain dot. */
#define NT_DEFINE_DOTS_NEON(T)                                                            \
    static inline __attribute__((always_inline)) void nt_dotk_##T(                        \
        int64_t n, const void *w, const float *x, int64_t stride, int64_t i0, int64_t i1, \
        float *state, float *out, const int k)                                            \
    {                                                                                     \
        float32x4_t acc[NT_DOTK_NEON][4];                                                 \
        for (int t = 0; t < k; t++)                                                       \
            for (int j = 0; j < 4; j++)                                                   \
                acc[t][j] = i0 == 0 ? vdupq_n_f32(0.0f) : vld1q_f32(state + (t * 4 + j) * 4);    \
        int64_t i = i0;                                                                   \
        for (; i + 16 <= i1; i += 16) {                                                    \
            float32x4_t w0 = nt_load_##T##x4(w, i), w1 = nt_load_##T##x4(w, i + 4);      \
            float32x4_t w2 = nt_load_##T##x4(w, i + 8), w3 = nt_load_##T##x4(w, i + 12);  \
            for (int t = 0; t < k; t++) {                                                 \
                const float *xt = x + t * stride + i;                                     \
                acc[t][0] = vfmaq_f32(acc[t][0], w0, vld1q_f32(xt));                      \
                acc[t][1] = vfmaq_f32(acc[t][1], w1, vld1q_f32(xt + 4));                  \
                acc[t][2] = vfmaq_f32(acc[t][2], w2, vld1q_f32(xt + 8));                  \
                acc[t][3] = vfmaq_f32(acc[t][3], w3, vld1q_f32(xt + 12));                 \
            }                                                                             \
        }                                                                                 \
        if (i1 < n) {                                                                    \
            for (int t = 0; t < k; t++)                                                   \
                for (int j = 0; j < 4; j++) vst1q_f32(state + (t * 4 + j) * 4, acc[t][j]); \
            return;                                                                       \
        }                                                                                 \
        for (; i + 4 <= n; i += 4) {                                                      \
            float32x4_t w0 = nt_load_##T##x4(w, i);                                       \
            for (int t = 0; t < k; t++)                                                   \
                acc[t][0] = vfmaq_f32(acc[t][0], w0, vld1q_f32(x + t * stride + i));      \
        }                                                                                 \
        if (i < n) {                                                                      \
            float32x4_t wt = nt_tail_##T##x4(w, i, n - i);                                \
            for (int t = 0; t < k; t++)                                                   \
                acc[t][1] = vfmaq_f32(acc[t][1], wt, nt_tail_f32x4(x + t * stride, i, n - i)); \
        }                                                                                 \
        for (int t = 0; t < k; t++)                                                       \
            out[t] = vaddvq_f32(vaddq_f32(vaddq_f32(acc[t][0], acc[t][1]),                \
                                          vaddq_f32(acc[t][2], acc[t][3])));              \
    }                                                                                     \
    float nt_dot_##T##_neon(int64_t n, const void *w, const float *x)                     \
    {                                                                                     \
        float r;                                                                          \
        nt_dotk_##T(n, w, x, 0, 0, n, NULL, &r, 1);                                                   \
        return r;                                                                         \
    }                                                                                     \
    void nt_dotk_##T##_neon(int64_t n, const void *w, const float *x, int64_t stride,  \
                                int64_t i0, int64_t i1, float *state, float *out)       \
    {                                                                                     \
        nt_dotk_##T(n, w, x, stride, i0, i1, state, out, NT_DOTK_NEON);                   \
    }

NT_DEFINE_DOTS_NEON(f32)
NT_DEFINE_DOTS_NEON(f16)
NT_DEFINE_DOTS_NEON(bf16)

void nt_axpy_f32_neon(float *y, float a, const float *x, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), a));
        vst1q_f32(y + i + 4, vfmaq_n_f32(vld1q_f32(y + i + 4), vld1q_f32(x + i + 4), a));
    }
    for (; i < n; i++) y[i] = fmaf(a, x[i], y[i]); /* fused, like the vector lanes */
}
