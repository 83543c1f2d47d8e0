/* The AVX2 table: dots and multi-token dots of the float types, register
 * decoders and dots of the quantized types. Entries left out fall back to
 * the scalar table. */
#include "kernels/kernels_isa.h"
#include "kernels/qdot.h"
#include "types/type_kernels.h"

#define NT_FLOAT(t) {.vec_dot = nt_dot_##t##_avx2, .dotk = nt_dotk_##t##_avx2, .gemm = nt_gemm_##t##_avx2, .gemm_rows = NT_GEMM_R_AVX2}
/* the 32-wide types: with the packed-activation dot too */
#define NT_QUANT32(t) {.to_float = nt_##t##_to_float_avx2, .vec_dot = nt_dot_##t##_avx2, .dotk_decoded = nt_dotk_f32_avx2, .gemm_decoded = nt_gemm_f32_avx2, .gemm_rows = NT_GEMM_R_AVX2, .vec_dot_q = nt_vec_dot_q_##t##_avx2, .dotk_q = nt_dotk_q_##t##_avx2, .dotk_qp = nt_dotk_qp_##t##_avx2}
#define NT_QUANT(t) {.to_float = nt_##t##_to_float_avx2, .vec_dot = nt_dot_##t##_avx2, .dotk_decoded = nt_dotk_f32_avx2, .gemm_decoded = nt_gemm_f32_avx2, .gemm_rows = NT_GEMM_R_AVX2, .vec_dot_q = nt_vec_dot_q_##t##_avx2, .dotk_q = nt_dotk_q_##t##_avx2}

const nt_isa_kernels nt_kernels_avx2 = {
    .dotk_tokens = NT_DOTK_AVX2,
    .axpy_f32 = nt_axpy_f32_avx2,
    .softmax_f32 = nt_softmax_f32_avx2,
    .gelu_f32 = nt_gelu_f32_avx2,
    .silu_mul_f32 = nt_silu_mul_f32_avx2,
    .gelu_mul_f32 = nt_gelu_mul_f32_avx2,
    .exp_f64 = nt_exp_f64_avx2,
    .quantize = {[NT_ACT_Q8A] = nt_quantize_q8a_avx2, [NT_ACT_Q8K] = nt_quantize_q8k_avx2},
    .type = {
        [NT_TYPE_F32] = {.vec_dot = nt_dot_f32_avx2, .dotk = nt_dotk_f32_avx2, .gemm = nt_gemm_f32_avx2,
                         .gemm_rows = NT_GEMM_R_AVX2,
                         .attn_scores = nt_attn_scores_f32_avx2, .attn_accum = nt_attn_accum_f32_avx2},
        [NT_TYPE_F16] = {.vec_dot = nt_dot_f16_avx2, .dotk = nt_dotk_f16_avx2, .gemm = nt_gemm_f16_avx2,
                         .gemm_rows = NT_GEMM_R_AVX2,
                         .attn_scores = nt_attn_scores_f16_avx2, .attn_accum = nt_attn_accum_f16_avx2},
        [NT_TYPE_BF16] = NT_FLOAT(bf16),
        [NT_TYPE_Q4_0] = NT_QUANT32(q4_0),
        [NT_TYPE_Q4_1] = NT_QUANT32(q4_1),
        [NT_TYPE_Q5_0] = NT_QUANT32(q5_0),
        [NT_TYPE_Q5_1] = NT_QUANT32(q5_1),
        [NT_TYPE_Q8_0] = {.to_float = nt_q8_0_to_float_avx2, .vec_dot = nt_dot_q8_0_avx2, .dotk_decoded = nt_dotk_f32_avx2,
                          .gemm_decoded = nt_gemm_f32_avx2,
                          .vec_dot_q = nt_vec_dot_q_q8_0_avx2, .dotk_q = nt_dotk_q_q8_0_avx2, .dotk_qp = nt_dotk_qp_q8_0_avx2,
                          .attn_scores = nt_attn_scores_q8_0_avx2, .attn_accum = nt_attn_accum_q8_0_avx2},
        [NT_TYPE_Q2_K] = NT_QUANT(q2_k),
        [NT_TYPE_Q3_K] = NT_QUANT(q3_k),
        [NT_TYPE_Q4_K] = NT_QUANT(q4_k),
        [NT_TYPE_Q5_K] = NT_QUANT(q5_k),
        [NT_TYPE_Q6_K] = NT_QUANT(q6_k),
    },
    .scalar_dot = {
        [NT_TYPE_F32] = nt_dot_f32_portable_avx2,
        [NT_TYPE_F16] = nt_dot_f16_portable_avx2,
        [NT_TYPE_BF16] = nt_dot_bf16_portable_avx2,
    },
};
