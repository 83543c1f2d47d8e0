/*
 * Fast mode for quantized weights: the activations are quantized to 8 bits
 * per block and multiplied into the weights' integer quants with integer dot
 * products, the way llama.cpp does it, but with F32 block scales (ggml
 * keeps F16 ones for the activations of the _0 and _1 types), which costs
 * nothing in speed and keeps the activations closer to their F32 values.
 *
 * Two activation blocks, our own layouts (never stored in files):
 *  - nt_q8a: 32 values, for the weight types whose blocks are 32 wide
 *    (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0). `s` is the sum of the quants, which the
 *    types with a minimum (Q4_1, Q5_1) need.
 *  - nt_q8k: 256 values, for the k-quants (Q2_K .. Q6_K). bsums[i] is the
 *    sum of quants 16*i .. 16*i + 15, which the mins of the k-quants need.
 *
 * Quantization of a block of x (both layouts, the same rule):
 *   amax = max |x_i|;  d = amax / 127;  id = d != 0 ? 1 / d : 0 (and 0
 *   too when 1 / d overflows, amax below ~3.7e-37: kernels/qact_rule.h);
 *   q_i = nearest-even(x_i * id), which lies in [-127, 127];
 * computed in F32 with exactly these operations (x_i * id, not x_i / d),
 * so every ISA's quantizer gives bitwise the same blocks.
 *
 * The scalar kernels define the result. Within a block the integer sum
 * (weight quants times activation quants, with the type's scales applied
 * as integers where the type has integer sub-scales) is exact in every ISA;
 * only the F32 accumulation of block results may be ordered differently by
 * a SIMD kernel. A multi-token dot of an ISA gives, for each token, bitwise
 * that ISA's single dot.
 */
#ifndef NT_KERNELS_QDOT_H
#define NT_KERNELS_QDOT_H

#include <stddef.h>
#include <stdint.h>

#include "types/block_layouts.h"
#include "types/types.h"

/* The block structs nt_q8a_block and nt_q8k_block are in
 * types/block_layouts.h, beside the weights' layouts. Rows of blocks (and
 * the xq_stride between tokens' rows) keep 4-byte alignment. */

/* The kernel types (nt_quantize_act_fn, nt_vec_dot_q_fn, nt_dotk_q_fn) and
 * NT_DOTK_Q_MAX are in types/types.h, beside the table that holds them:
 * a quantizer turns n F32 values (a multiple of the block width) into
 * n / width blocks; vec_dot_q multiplies one weight row of n values with n
 * quantized activations (nt_q8a blocks for the 32-wide types, nt_q8k for
 * the k-quants); dotk_q does it for k <= NT_DOTK_Q_MAX tokens whose blocks
 * sit xq_stride bytes apart, out[t] bitwise vec_dot_q of token t, reading
 * the weight row once for all k. */

/* Naming of the kernels each ISA file exports (isa: scalar, avx2, avx512,
 * neon), wired into the type table by lib/types/types.c:
 *   void  nt_quantize_q8a_<isa>(const float *x, void *dst, int64_t n);
 *   void  nt_quantize_q8k_<isa>(const float *x, void *dst, int64_t n);
 *   float nt_vec_dot_q_<type>_<isa>(int64_t n, const void *w, const void *xq);
 *   void  nt_dotk_q_<type>_<isa>(int64_t n, const void *w, const void *xq,
 *                                size_t xq_stride, int k, float *out);
 * with <type> one of q4_0 q4_1 q5_0 q5_1 q8_0 (nt_q8a activations) and
 * q2_k q3_k q4_k q5_k q6_k (nt_q8k activations). */
#define NT_DECLARE_QDOT_ISA(t, isa)                                                  \
    float nt_vec_dot_q_##t##_##isa(int64_t n, const void *w, const void *xq);       \
    void nt_dotk_q_##t##_##isa(int64_t n, const void *w, const void *xq, size_t xq_stride, int k, \
                               float *out);
#define NT_DECLARE_QDOT(t)                \
    NT_DECLARE_QDOT_ISA(t, scalar)        \
    NT_DECLARE_QDOT_ISA(t, avx2)          \
    NT_DECLARE_QDOT_ISA(t, avx512)        \
    NT_DECLARE_QDOT_ISA(t, neon)

NT_DECLARE_QDOT(q4_0)
NT_DECLARE_QDOT(q4_1)
NT_DECLARE_QDOT(q5_0)
NT_DECLARE_QDOT(q5_1)
NT_DECLARE_QDOT(q8_0)
NT_DECLARE_QDOT(q2_k)
NT_DECLARE_QDOT(q3_k)
NT_DECLARE_QDOT(q4_k)
NT_DECLARE_QDOT(q5_k)
NT_DECLARE_QDOT(q6_k)

/* The packed layout of one token's row of nb nt_q8a blocks (nb * 40 bytes,
 * the row's own size), which the AVX-512 dotk_qp kernels read instead of
 * gathering the scales: every whole group of 16 blocks, then one group of 8
 * when 8 or more blocks are left, at byte 40 * (its first block), holds
 *   float d[G]; int32_t s[G];  in the lane order 0 2 4 6 1 3 5 7 8 10 12 14
 *                              9 11 13 15 (the first G of it)
 *   int8_t qs[G / 4][2][4][16]; per quad of blocks 4q..4q+3, the four
 *                              blocks' quants 0..15, then their 16..31
 * The blocks after those groups are not packed (the kernels read them from
 * the nt_q8a row). */
void nt_q8a_pack(const void *xq, void *xp, int64_t nb);
void nt_dotk_qp_q4_0_avx512(int64_t n, const void *w, const void *xq, const void *xp, size_t xq_stride, int k, float *out);
void nt_dotk_qp_q4_1_avx512(int64_t n, const void *w, const void *xq, const void *xp, size_t xq_stride, int k, float *out);
void nt_dotk_qp_q5_0_avx512(int64_t n, const void *w, const void *xq, const void *xp, size_t xq_stride, int k, float *out);
void nt_dotk_qp_q5_1_avx512(int64_t n, const void *w, const void *xq, const void *xp, size_t xq_stride, int k, float *out);
void nt_dotk_qp_q8_0_avx512(int64_t n, const void *w, const void *xq, const void *xp, size_t xq_stride, int k, float *out);
/* The AVX2 ones read the same layout, a group of 8 blocks at a time. */
void nt_dotk_qp_q4_0_avx2(int64_t n, const void *w, const void *xq, const void *xp, size_t xq_stride, int k, float *out);
void nt_dotk_qp_q4_1_avx2(int64_t n, const void *w, const void *xq, const void *xp, size_t xq_stride, int k, float *out);
void nt_dotk_qp_q5_0_avx2(int64_t n, const void *w, const void *xq, const void *xp, size_t xq_stride, int k, float *out);
void nt_dotk_qp_q5_1_avx2(int64_t n, const void *w, const void *xq, const void *xp, size_t xq_stride, int k, float *out);
void nt_dotk_qp_q8_0_avx2(int64_t n, const void *w, const void *xq, const void *xp, size_t xq_stride, int k, float *out);

/* The transposed layout of one token's row of nb nt_q8a blocks (nb * 40
 * bytes), which the AVX-512 dotk_qt kernels read: byte dots chained per
 * int32 lane leave one block's sum in each lane, with no reduction per
 * token. Every whole group of 16 blocks, then one group of 8 when 8 or
 * more blocks are left, at byte 40 * (its first block), holds
 *   float d[G]; int32_t s[G];  in the lane order of nt_q8a_pack, s the
 *                              block's sum times s_mul
 *   int8_t qs[8][G][4];        qs[c][l]: quants 4c..4c+3 of block order[l]
 * The blocks after those groups are not packed. s_mul is
 * nt_q8a_pack_t_smul(type) of the weight type the row is for: the _0 types
 * start each block's sum from -offset * s, the _1 types need s itself;
 * Q8_0 has -128 * s, for the VNNI kernels' q + 128 weight bytes (the
 * others ignore it). */
void nt_q8a_pack_t(const void *xq, void *xp, int64_t nb, int32_t s_mul);
static inline int32_t nt_q8a_pack_t_smul(int type)
{
    return type == NT_TYPE_Q4_0 ? -8 : type == NT_TYPE_Q5_0 ? -16 : type == NT_TYPE_Q8_0 ? -128 : 1;
}
void nt_dotk_qt_q4_0_avx512(int64_t n, const void *w, const void *xq, const void *xp, size_t xq_stride, int k, float *out);
void nt_dotk_qt_q4_1_avx512(int64_t n, const void *w, const void *xq, const void *xp, size_t xq_stride, int k, float *out);
void nt_dotk_qt_q5_0_avx512(int64_t n, const void *w, const void *xq, const void *xp, size_t xq_stride, int k, float *out);
void nt_dotk_qt_q5_1_avx512(int64_t n, const void *w, const void *xq, const void *xp, size_t xq_stride, int k, float *out);
void nt_dotk_qt_q8_0_avx512(int64_t n, const void *w, const void *xq, const void *xp, size_t xq_stride, int k, float *out);

#define NT_DECLARE_QUANTIZE_ACT(isa)                                   \
    void nt_quantize_q8a_##isa(const float *x, void *dst, int64_t n); \
    void nt_quantize_q8k_##isa(const float *x, void *dst, int64_t n);

NT_DECLARE_QUANTIZE_ACT(scalar)
NT_DECLARE_QUANTIZE_ACT(avx2)
NT_DECLARE_QUANTIZE_ACT(avx512)
NT_DECLARE_QUANTIZE_ACT(neon)

#endif
