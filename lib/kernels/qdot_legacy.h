/*
 * The fast-mode dots of the 32-wide weight types (Q4_0, Q4_1, Q5_0, Q5_1,
 * Q8_0) with nt_q8a activations, in plain C: the definition every ISA's
 * kernel reproduces, and the per-block code the SIMD kernels use for the
 * blocks left over after their whole groups.
 *
 * Per block b with weight scale dw (and minimum m for the _1 types) and
 * activation block (dx, qx, sx):
 *   isum = sum_i qw_i * qx_i          (exact in int32)
 *   c_b  = (dw * dx) * (float)isum                         (*_0, Q8_0)
 *   c_b  = (dw * dx) * (float)isum + (m * dx) * (float)sx   (*_1)
 * with qw_i the signed weight quant: Q4_0 q - 8, Q5_0 q - 16, Q8_0 q, and
 * Q4_1/Q5_1 the unsigned q (their minimum is the m term). The scalar dot is
 * acc = 0; acc += c_b for each block in order. A SIMD kernel computes each
 * c_b with these float operations and may sum them in another fixed order.
 */
#ifndef NT_KERNELS_QDOT_LEGACY_H
#define NT_KERNELS_QDOT_LEGACY_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "kernels/qdot.h"
#include "kernels/quant_blocks.h"

/* Each SIMD ISA picks, once, its kernels with the CPU's dot-product
 * extension (AVX-VNNI, AVX512-VNNI, NEON dotprod) when the CPU has it, or
 * the ones without, which give bitwise the same results. For tests and
 * benchmarks: on = 1 uses the extension if the CPU has it, 0 never, -1
 * changes nothing; returns whether it was in use. Only the entries of the
 * ISAs built for this target exist. */
int nt_qdot_legacy_ext_avx2(int on);
int nt_qdot_legacy_ext_avx512(int on);
int nt_qdot_legacy_ext_neon(int on);

/* The five types, as compile-time constants of the inline helpers. */
enum { NT_QL_Q4_0, NT_QL_Q4_1, NT_QL_Q5_0, NT_QL_Q5_1, NT_QL_Q8_0 };

static inline int nt_ql_bytes(int t)
{
    switch (t) {
    case NT_QL_Q4_0: return NT_Q4_0_BYTES;
    case NT_QL_Q4_1: return NT_Q4_1_BYTES;
    case NT_QL_Q5_0: return NT_Q5_0_BYTES;
    case NT_QL_Q5_1: return NT_Q5_1_BYTES;
    default: return NT_Q8_0_BYTES;
    }
}

static inline bool nt_ql_has_min(int t) { return t == NT_QL_Q4_1 || t == NT_QL_Q5_1; }

/* The offset subtracted from the unsigned quants of the _0 types (0 for the
 * others): a SIMD kernel may multiply the unsigned quants and subtract
 * offset * sx, the same integer. */
static inline int nt_ql_offset(int t) { return t == NT_QL_Q4_0 ? 8 : t == NT_QL_Q5_0 ? 16 : 0; }

/* Byte offset of the quants, and of the fifth bits (Q5_*). */
static inline int nt_ql_qs_off(int t)
{
    switch (t) {
    case NT_QL_Q4_0: return 2;
    case NT_QL_Q4_1: return 4;
    case NT_QL_Q5_0: return 6;
    case NT_QL_Q5_1: return 8;
    default: return 2;
    }
}
static inline int nt_ql_qh_off(int t) { return t == NT_QL_Q5_0 ? 2 : 4; }

/* The signed weight quants of one block. */
static inline void nt_ql_decode(int t, const unsigned char *b, int8_t q[NT_QK32])
{
    const unsigned char *qs = b + nt_ql_qs_off(t);
    if (t == NT_QL_Q8_0) {
        memcpy(q, qs, NT_QK32);
        return;
    }
    const int off = nt_ql_offset(t);
    uint32_t qh = 0;
    if (t == NT_QL_Q5_0 || t == NT_QL_Q5_1) {
        const unsigned char *p = b + nt_ql_qh_off(t);
        qh = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    }
    for (int j = 0; j < 16; j++) {
        q[j] = (int8_t)((int)((qs[j] & 0x0F) | (((qh >> j) & 1) << 4)) - off);
        q[j + 16] = (int8_t)((int)((qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - off);
    }
}

static inline int32_t nt_ql_isum(const int8_t q[NT_QK32], const int8_t *qx)
{
    int32_t s = 0;
    for (int j = 0; j < NT_QK32; j++) s += (int32_t)q[j] * (int32_t)qx[j];
    return s;
}

/* c_b from its parts: the float operations every kernel uses. The product
 * and the add are separate statements, so no compiler contracts them into
 * a fused multiply-add (clang's default -ffp-contract=on fuses within one
 * expression). */
static inline float nt_ql_contrib(int t, float dw, float m, int32_t isum, const nt_q8a_block *x)
{
    const float a = (dw * x->d) * (float)isum;
    if (!nt_ql_has_min(t)) return a;
    const float b = (m * x->d) * (float)x->s;
    return a + b;
}

/* The dot over blocks [b0, nb) of a row for k tokens, each token's blocks
 * summed in order into acc[t]. */
static inline void nt_ql_blocks_scalar(int t, int64_t b0, int64_t nb, const unsigned char *w,
                                       const unsigned char *xq, size_t xq_stride, int k, float *acc)
{
    const int bytes = nt_ql_bytes(t);
    for (int64_t i = b0; i < nb; i++) {
        const unsigned char *b = w + i * bytes;
        int8_t q[NT_QK32];
        nt_ql_decode(t, b, q);
        const float dw = nt_q_f16(b, 0), m = nt_ql_has_min(t) ? nt_q_f16(b, 2) : 0.0f;
        for (int u = 0; u < k; u++) {
            const nt_q8a_block *x = (const nt_q8a_block *)(xq + u * xq_stride) + i;
            acc[u] += nt_ql_contrib(t, dw, m, nt_ql_isum(q, x->qs), x);
        }
    }
}

#endif
