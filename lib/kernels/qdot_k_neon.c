/*
 * AArch64 integer dots of the k-quants with nt_q8k activations: exact
 * per-super-block sums (qdot_k_neon.inc) with vmull_s8/vmlal_s8 pairs, or
 * where the CPU has the dot-product extension (HWCAP_ASIMDDP) vdotq_s32,
 * then the scalar kernels' float step: bitwise the scalar results.
 */
#include <arm_neon.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/isa.h"
#include "kernels/qdot_k.h"
#include "kernels/quant_blocks.h"

#define NT_CAT_(a, b) a##b
#define NT_CAT(a, b) NT_CAT_(a, b)
#define NT_QK_RUN_X(t, sfx, attr, bytes, d_off, dmin_off) NT_QK_RUN(t, sfx, attr, bytes, d_off, dmin_off, nt_q_f16)

#define NT_ALL_TYPES(sfx, attr)                                   \
    NT_QK_RUN_X(q2_k, sfx, attr, NT_Q2_K_BYTES, 80, 82)           \
    NT_QK_RUN_X(q3_k, sfx, attr, NT_Q3_K_BYTES, 108, -1)          \
    NT_QK_RUN_X(q4_k, sfx, attr, NT_Q4_K_BYTES, 0, 2)             \
    NT_QK_RUN_X(q5_k, sfx, attr, NT_Q5_K_BYTES, 0, 2)             \
    NT_QK_RUN_X(q6_k, sfx, attr, NT_Q6_K_BYTES, 208, -1)

static inline __attribute__((always_inline)) int32x4_t nt_dot16_mull(int8x16_t w, int8x16_t x)
{
    int16x8_t p = vmull_s8(vget_low_s8(w), vget_low_s8(x));
    p = vmlal_s8(p, vget_high_s8(w), vget_high_s8(x));
    return vpaddlq_s16(p);
}

#define NT_SFX _plain
#define NT_TGT
#define NT_DOT16(w, x) nt_dot16_mull((w), (x))
#include "kernels/qdot_k_neon.inc"
NT_ALL_TYPES(_plain, )
#undef NT_SFX
#undef NT_TGT
#undef NT_DOT16

#define NT_SFX _dp
#define NT_TGT __attribute__((target("arch=armv8.2-a+dotprod")))
#define NT_DOT16(w, x) vdotq_s32(vdupq_n_s32(0), (w), (x))
#include "kernels/qdot_k_neon.inc"
NT_ALL_TYPES(_dp, __attribute__((target("arch=armv8.2-a+dotprod"))))
#undef NT_SFX
#undef NT_TGT
#undef NT_DOT16

/* The dot-product extension, cached; NEXTTOK_NO_VNNI (tests) turns the
 * fused variant off here as on x86. */
static bool nt_has_dotprod(void)
{
    static _Atomic int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        const char *off = getenv("NEXTTOK_NO_VNNI");
        v = nt_isa_has_dot_ext(NT_ISA_NEON) && !(off && *off);
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v != 0;
}

NT_QK_EXPORT2(q2_k, neon, _dp, _plain, nt_has_dotprod())
NT_QK_EXPORT2(q3_k, neon, _dp, _plain, nt_has_dotprod())
NT_QK_EXPORT2(q4_k, neon, _dp, _plain, nt_has_dotprod())
NT_QK_EXPORT2(q5_k, neon, _dp, _plain, nt_has_dotprod())
NT_QK_EXPORT2(q6_k, neon, _dp, _plain, nt_has_dotprod())
