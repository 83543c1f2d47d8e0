/*
 * AArch64 dots of quantized rows with F32 activations: each block is
 * decoded by the scalar decoder into a small buffer and multiplied into the
 * activations in F32, with the accumulator layout of nt_dot_f32_neon
 * (vector g of the row to accumulator g % 4), so each is bitwise that dot
 * of the dequantized row. Register decoders would be faster; this keeps
 * every type on the same exact footing first.
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

NT_DEFINE_BUFFERED(q4_0, NT_QK32, NT_Q4_0_BYTES)
NT_DEFINE_BUFFERED(q4_1, NT_QK32, NT_Q4_1_BYTES)
NT_DEFINE_BUFFERED(q5_0, NT_QK32, NT_Q5_0_BYTES)
NT_DEFINE_BUFFERED(q5_1, NT_QK32, NT_Q5_1_BYTES)
NT_DEFINE_BUFFERED(q8_0, NT_QK32, NT_Q8_0_BYTES)
NT_DEFINE_BUFFERED(q2_k, NT_QK_K, NT_Q2_K_BYTES)
NT_DEFINE_BUFFERED(q3_k, NT_QK_K, NT_Q3_K_BYTES)
NT_DEFINE_BUFFERED(q4_k, NT_QK_K, NT_Q4_K_BYTES)
NT_DEFINE_BUFFERED(q5_k, NT_QK_K, NT_Q5_K_BYTES)
NT_DEFINE_BUFFERED(q6_k, NT_QK_K, NT_Q6_K_BYTES)
