/* The NEON table: dots and multi-token dots of the float types, dots of the
 * quantized types. Entries left out (the row decoders) fall back to the
 * scalar table. */
#include "kernels/kernels_isa.h"
#include "kernels/qdot.h"
#include "types/type_kernels.h"

#define NT_FLOAT(t) {.vec_dot = nt_dot_##t##_neon, .dotk = nt_dotk_##t##_neon}
#define NT_QUANT(t) {.vec_dot = nt_dot_##t##_neon, .dotk_decoded = nt_dotk_f32_neon, .vec_dot_q = nt_vec_dot_q_##t##_neon, .dotk_q = nt_dotk_q_##t##_neon}

const nt_isa_kernels nt_kernels_neon = {
    .dotk_tokens = NT_DOTK_NEON,
    .axpy_f32 = nt_axpy_f32_neon,
    .softmax_f32 = nt_softmax_f32_neon,
    .gelu_f32 = nt_gelu_f32_neon,
    .silu_mul_f32 = nt_silu_mul_f32_neon,
    .gelu_mul_f32 = nt_gelu_mul_f32_neon,
    .exp_f64 = nt_exp_f64_neon,
    .quantize = {[NT_ACT_Q8A] = nt_quantize_q8a_neon, [NT_ACT_Q8K] = nt_quantize_q8k_neon},
    .type = {
        [NT_TYPE_F32] = NT_FLOAT(f32),
        [NT_TYPE_F16] = NT_FLOAT(f16),
        [NT_TYPE_BF16] = NT_FLOAT(bf16),
        [NT_TYPE_Q4_0] = NT_QUANT(q4_0),
        [NT_TYPE_Q4_1] = NT_QUANT(q4_1),
        [NT_TYPE_Q5_0] = NT_QUANT(q5_0),
        [NT_TYPE_Q5_1] = NT_QUANT(q5_1),
        [NT_TYPE_Q8_0] = NT_QUANT(q8_0),
        [NT_TYPE_Q2_K] = NT_QUANT(q2_k),
        [NT_TYPE_Q3_K] = NT_QUANT(q3_k),
        [NT_TYPE_Q4_K] = NT_QUANT(q4_k),
        [NT_TYPE_Q5_K] = NT_QUANT(q5_k),
        [NT_TYPE_Q6_K] = NT_QUANT(q6_k),
    },
    .scalar_dot = {
        [NT_TYPE_F32] = nt_dot_f32_portable_neon,
        [NT_TYPE_F16] = nt_dot_f16_portable_neon,
        [NT_TYPE_BF16] = nt_dot_bf16_portable_neon,
    },
};
