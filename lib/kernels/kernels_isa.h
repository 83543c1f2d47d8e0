/* Per-ISA kernels beyond the weight-row dots of types/type_kernels.h: the
 * F32 axpy, and multi-token dots that pass over a weight row once for
 * several tokens (prompt processing). A multi-token dot of ISA `isa` gives,
 * for each token, bitwise the result of that ISA's single dot. Only the
 * entries of the ISAs built for this target exist. */
#ifndef NT_KERNELS_ISA_KERNELS_H
#define NT_KERNELS_ISA_KERNELS_H

#include <stdint.h>

#include "types/types.h"

void nt_axpy_f32_scalar(float *y, float a, const float *x, int64_t n);
void nt_axpy_f32_avx2(float *y, float a, const float *x, int64_t n);
void nt_axpy_f32_avx512(float *y, float a, const float *x, int64_t n);
void nt_axpy_f32_neon(float *y, float a, const float *x, int64_t n);

/* Attention's softmax (softmax_<isa>.c), bitwise the same on every ISA. */
void nt_softmax_f32_scalar(float *x, int64_t n);
void nt_softmax_f32_avx2(float *x, int64_t n);
void nt_softmax_f32_avx512(float *x, int64_t n);
void nt_softmax_f32_neon(float *x, int64_t n);

/* The activations and nt_pexp over arrays (act_<isa>.c), bitwise the
 * scalar ones (act_scalar.c) on every input. */
#define NT_DECLARE_ACT(isa)                                                       \
    void nt_gelu_f32_##isa(float *x, int64_t n);                                  \
    void nt_silu_mul_f32_##isa(float *gate, const float *up, int64_t n);          \
    void nt_gelu_mul_f32_##isa(float *gate, const float *up, int64_t n);          \
    void nt_exp_f64_##isa(double *y, const double *x, int64_t n);
NT_DECLARE_ACT(scalar)
NT_DECLARE_ACT(avx2)
NT_DECLARE_ACT(avx512)
NT_DECLARE_ACT(neon)

/* Attention over F32, F16 and Q8_0 KV rows (attn_<isa>.c). */
#define NT_DECLARE_ATTN(t, isa)                                                                          \
    void nt_attn_scores_##t##_##isa(const float *q, int32_t nh, const void *k, size_t stride, int64_t n,   \
                                    int64_t hd, float scale, float *scores, int64_t sc_stride);            \
    void nt_attn_accum_##t##_##isa(float *out, int32_t nh, const float *w, int64_t w_stride, const void *v, \
                                   size_t stride, int64_t n, int64_t hd);
NT_DECLARE_ATTN(f32, avx2)
NT_DECLARE_ATTN(f16, avx2)
NT_DECLARE_ATTN(f32, avx512)
NT_DECLARE_ATTN(f16, avx512)
NT_DECLARE_ATTN(q8_0, avx2)
NT_DECLARE_ATTN(q8_0, avx512)

/* The scalar reference dots, bitwise, in vector code (portable_<isa>.c;
 * nt_isa_kernels.scalar_dot). */
float nt_dot_f32_portable_avx2(int64_t n, const void *w, const float *x);
float nt_dot_f16_portable_avx2(int64_t n, const void *w, const float *x);
float nt_dot_bf16_portable_avx2(int64_t n, const void *w, const float *x);
float nt_dot_f32_portable_neon(int64_t n, const void *w, const float *x);
float nt_dot_f16_portable_neon(int64_t n, const void *w, const float *x);
float nt_dot_bf16_portable_neon(int64_t n, const void *w, const float *x);

/* Multi-token dots (nt_dotk_fn in types/types.h), tokens per call: */
#define NT_DOTK_AVX2 2   /* 16 ymm registers: 2 tokens x 4 accumulators */
#define NT_DOTK_AVX512 4 /* 32 zmm registers: 4 tokens x 4 accumulators */
#define NT_DOTK_NEON 4   /* 32 q registers */

/* Rows of a GEMM tile (nt_type_kernels.gemm_rows; kernels_<isa>.c says why) */
#define NT_GEMM_R_AVX2 2
#define NT_GEMM_R2_AVX512 2 /* F32: the pairs tile */
#define NT_GEMM_R4_AVX512 4 /* F16, BF16: the quads tile */

#define NT_DECLARE_DOTK(t)                                                                    \
    void nt_dotk_##t##_avx2(int64_t n, const void *w, const float *x, int64_t stride,         \
                            int64_t i0, int64_t i1, float *state, float *out);                \
    void nt_dotk_##t##_avx512(int64_t n, const void *w, const float *x, int64_t stride,       \
                              int64_t i0, int64_t i1, float *state, float *out);              \
    void nt_dotk_##t##_neon(int64_t n, const void *w, const float *x, int64_t stride,         \
                            int64_t i0, int64_t i1, float *state, float *out);

NT_DECLARE_DOTK(f32)
NT_DECLARE_DOTK(f16)
NT_DECLARE_DOTK(bf16)

/* GEMM tiles (nt_gemm_fn in types/types.h). */
#define NT_DECLARE_GEMM(t)                                                                          \
    void nt_gemm_##t##_avx2(int64_t n, const void *w, size_t row_bytes, int64_t n_rows, const float *x, \
                            int64_t x_stride, int64_t n_tok, float *y, int64_t y_stride, const void *next, \
                            size_t next_bytes);                                                       \
    void nt_gemm_##t##_avx512(int64_t n, const void *w, size_t row_bytes, int64_t n_rows, const float *x, \
                              int64_t x_stride, int64_t n_tok, float *y, int64_t y_stride, const void *next, \
                              size_t next_bytes);

NT_DECLARE_GEMM(f32)
NT_DECLARE_GEMM(f16)
NT_DECLARE_GEMM(bf16)

/* Row dequantizers of the quantized types that decode in registers, with
 * the same values as their traits' to_float (for matmul's batched path). */
#define NT_DECLARE_TO_FLOAT_X86(t)                                        \
    void nt_##t##_to_float_avx2(const void *src, float *dst, int64_t n);  \
    void nt_##t##_to_float_avx512(const void *src, float *dst, int64_t n);

NT_DECLARE_TO_FLOAT_X86(q8_0)
NT_DECLARE_TO_FLOAT_X86(q4_0)
NT_DECLARE_TO_FLOAT_X86(q4_1)
NT_DECLARE_TO_FLOAT_X86(q5_0)
NT_DECLARE_TO_FLOAT_X86(q5_1)
NT_DECLARE_TO_FLOAT_X86(q5_k)
NT_DECLARE_TO_FLOAT_X86(q2_k)
NT_DECLARE_TO_FLOAT_X86(q3_k)
NT_DECLARE_TO_FLOAT_X86(q4_k)
NT_DECLARE_TO_FLOAT_X86(q6_k)

#endif
