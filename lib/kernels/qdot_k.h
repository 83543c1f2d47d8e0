/*
 * Shared by the k-quant integer dots (qdot_k_<isa>.c): where the parts of
 * an nt_q8k block sit (blocks are read through byte pointers, so a token
 * stride need not keep them aligned) and the one float step per
 * super-block that every ISA applies to its exact integer sums, so every
 * ISA's result is bitwise the scalar one.
 */
#ifndef NT_KERNELS_QDOT_K_H
#define NT_KERNELS_QDOT_K_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/qdot.h"

#define NT_Q8K_OFF_BSUMS offsetof(nt_q8k_block, bsums)
/* Software prefetch distance of the weight stream, in bytes ahead of the
 * super-block being read. Decode streams every weight once from memory,
 * and the hardware prefetchers alone left a single-thread Q4_K row stream
 * at about half the read bandwidth (7 of 14.6 GB/s measured); prefetching
 * ~3 KiB ahead (20 Q4_K super-blocks, past row ends into the next rows)
 * brought it to ~12 GB/s. One prefetch per 64 bytes of each super-block
 * covers every line of the stream. */
#ifndef NT_QK_PF
#define NT_QK_PF 3072
#endif
#define NT_Q8K_OFF_QS offsetof(nt_q8k_block, qs)

static inline float nt_q8k_d(const unsigned char *x)
{
    float d;
    memcpy(&d, x, sizeof d);
    return d;
}

/* acc + ((d * dx) * isum - (dmin * dx) * isum_m), one rounding per
 * operation, in this order (separate statements: no contraction). */
static inline float nt_qk_step_min(float acc, float d, float dmin, float dx, int32_t isum, int32_t isum_m)
{
    const float a = d * dx;
    const float b = dmin * dx;
    const float p = a * (float)isum;
    const float q = b * (float)isum_m;
    const float r = p - q;
    return acc + r;
}

/* acc + (d * dx) * isum, for the types without mins. */
static inline float nt_qk_step(float acc, float d, float dx, int32_t isum)
{
    const float a = d * dx;
    const float p = a * (float)isum;
    return acc + p;
}

/* The driver every ISA shares: super-block by super-block, the ISA's
 * nt_sb_<t><sfx>(b, x, K, isum, isum_m) gives the exact integer sums of
 * weight super-block b with the K tokens' activation blocks x[k]; the
 * float step then runs per token in the scalar order. K is a constant in
 * each instantiation (always_inline), so the per-token loops unroll.
 * NT_QK_RUN defines, for one variant (sfx, compiled with `attr`), the
 * static kernels nt_dot1_<t><sfx> and nt_dotk_<t><sfx>. */
#define NT_QK_RUN(t, sfx, attr, bytes, d_off, dmin_off, f16)                                       \
    static inline attr __attribute__((always_inline)) void nt_run_##t##sfx(                        \
        int64_t n, const void *w, const void *xq, size_t stride, const int K, float *out)          \
    {                                                                                              \
        float acc[NT_DOTK_Q_MAX] = {0};                                                            \
        const unsigned char *b = w;                                                                \
        const unsigned char *x0 = xq;                                                              \
        for (int64_t i = 0; i < n / 256; i++, b += (bytes), x0 += sizeof(nt_q8k_block)) {          \
            const unsigned char *x[NT_DOTK_Q_MAX];                                                 \
            int32_t is[NT_DOTK_Q_MAX], im[NT_DOTK_Q_MAX];                                          \
            for (int k = 0; k < K; k++) x[k] = x0 + (size_t)k * stride;                            \
            __builtin_prefetch(b + NT_QK_PF, 0, 3);                                                \
            __builtin_prefetch(b + NT_QK_PF + 64, 0, 3);                                           \
            __builtin_prefetch(b + NT_QK_PF + 128, 0, 3);                                          \
            if ((bytes) > 192) __builtin_prefetch(b + NT_QK_PF + 192, 0, 3);                      \
            nt_sb_##t##sfx(b, x, K, is, im);                                                       \
            const float d = f16(b, d_off);                                                         \
            if ((dmin_off) >= 0) {                                                                 \
                const float dmin = f16(b, (dmin_off) >= 0 ? (dmin_off) : 0);                       \
                for (int k = 0; k < K; k++)                                                        \
                    acc[k] = nt_qk_step_min(acc[k], d, dmin, nt_q8k_d(x[k]), is[k], im[k]);        \
            } else {                                                                               \
                for (int k = 0; k < K; k++) acc[k] = nt_qk_step(acc[k], d, nt_q8k_d(x[k]), is[k]); \
            }                                                                                      \
        }                                                                                          \
        for (int k = 0; k < K; k++) out[k] = acc[k];                                               \
    }                                                                                              \
    static attr float nt_dot1_##t##sfx(int64_t n, const void *w, const void *xq)                   \
    {                                                                                              \
        float r;                                                                                   \
        nt_run_##t##sfx(n, w, xq, 0, 1, &r);                                                       \
        return r;                                                                                  \
    }                                                                                              \
    static attr void nt_dotk_##t##sfx(int64_t n, const void *w, const void *xq, size_t stride,     \
                                      int k, float *out)                                           \
    {                                                                                              \
        /* four tokens per pass: the super-block kernels' per-token sums \
         * for more would not fit the registers; k up to NT_DOTK_Q_MAX */  \
        for (int c = 0; c < k; c += 4, out += 4) {                                                 \
            const void *xc = (const unsigned char *)xq + (size_t)c * stride;                       \
            switch (k - c) {                                                                       \
            case 1: nt_run_##t##sfx(n, w, xc, stride, 1, out); break;                              \
            case 2: nt_run_##t##sfx(n, w, xc, stride, 2, out); break;                              \
            case 3: nt_run_##t##sfx(n, w, xc, stride, 3, out); break;                              \
            default: nt_run_##t##sfx(n, w, xc, stride, 4, out); break;                             \
            }                                                                                      \
        }                                                                                          \
    }

/* The exported pair for one variant... */
#define NT_QK_EXPORT(t, isa, sfx)                                                                  \
    float nt_vec_dot_q_##t##_##isa(int64_t n, const void *w, const void *xq)                       \
    {                                                                                              \
        return nt_dot1_##t##sfx(n, w, xq);                                                         \
    }                                                                                              \
    void nt_dotk_q_##t##_##isa(int64_t n, const void *w, const void *xq, size_t xq_stride, int k,  \
                               float *out)                                                         \
    {                                                                                              \
        nt_dotk_##t##sfx(n, w, xq, xq_stride, k, out);                                             \
    }

/* ... or for two, the first where `fast` (a cached CPU check) holds. Both
 * give bitwise the same results (exact integer sums, the same float steps). */
#define NT_QK_EXPORT2(t, isa, sfx_fast, sfx, fast)                                                 \
    float nt_vec_dot_q_##t##_##isa(int64_t n, const void *w, const void *xq)                       \
    {                                                                                              \
        return (fast) ? nt_dot1_##t##sfx_fast(n, w, xq) : nt_dot1_##t##sfx(n, w, xq);              \
    }                                                                                              \
    void nt_dotk_q_##t##_##isa(int64_t n, const void *w, const void *xq, size_t xq_stride, int k,  \
                               float *out)                                                         \
    {                                                                                              \
        if (fast) nt_dotk_##t##sfx_fast(n, w, xq, xq_stride, k, out);                              \
        else nt_dotk_##t##sfx(n, w, xq, xq_stride, k, out);                                        \
    }

#endif
