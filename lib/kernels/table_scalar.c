/* The scalar table: every computable type's reference kernels, which define
 * the results, and the fallback of every other ISA's missing entries. */
#include "kernels/kernels_isa.h"
#include "kernels/qdot.h"
#include "types/type_kernels.h"

#define NT_FLOAT(t) {.to_float = nt_##t##_to_float, .from_float = nt_##t##_from_float, .vec_dot = nt_dot_##t##_scalar}
#define NT_QUANT(t) {.to_float = nt_##t##_to_float, .vec_dot = nt_dot_##t##_scalar, .vec_dot_q = nt_vec_dot_q_##t##_scalar, .dotk_q = nt_dotk_q_##t##_scalar}

const nt_isa_kernels nt_kernels_scalar = {
    .dotk_tokens = 1,
    .axpy_f32 = nt_axpy_f32_scalar,
    .softmax_f32 = nt_softmax_f32_scalar,
    .gelu_f32 = nt_gelu_f32_scalar,
    .silu_mul_f32 = nt_silu_mul_f32_scalar,
    .gelu_mul_f32 = nt_gelu_mul_f32_scalar,
    .exp_f64 = nt_exp_f64_scalar,
    .quantize = {[NT_ACT_Q8A] = nt_quantize_q8a_scalar, [NT_ACT_Q8K] = nt_quantize_q8k_scalar},
    .type = {
        [NT_TYPE_F32] = NT_FLOAT(f32),
        [NT_TYPE_F16] = NT_FLOAT(f16),
        [NT_TYPE_BF16] = NT_FLOAT(bf16),
        [NT_TYPE_Q4_0] = NT_QUANT(q4_0),
        [NT_TYPE_Q4_1] = NT_QUANT(q4_1),
        [NT_TYPE_Q5_0] = NT_QUANT(q5_0),
        [NT_TYPE_Q5_1] = NT_QUANT(q5_1),
        [NT_TYPE_Q8_0] = {.to_float = nt_q8_0_to_float, .from_float = nt_q8_0_from_float, .vec_dot = nt_dot_q8_0_scalar,
                          .vec_dot_q = nt_vec_dot_q_q8_0_scalar, .dotk_q = nt_dotk_q_q8_0_scalar},
        [NT_TYPE_Q2_K] = NT_QUANT(q2_k),
        [NT_TYPE_Q3_K] = NT_QUANT(q3_k),
        [NT_TYPE_Q4_K] = NT_QUANT(q4_k),
        [NT_TYPE_Q5_K] = NT_QUANT(q5_k),
        [NT_TYPE_Q6_K] = NT_QUANT(q6_k),
    },
};
