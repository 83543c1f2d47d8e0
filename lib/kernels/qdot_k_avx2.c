/*
 * AVX2 integer dots of the k-quants with nt_q8k activations: the exact
 * per-super-block sums of qdot_k_x86.inc (maddubs + madd), then the scalar
 * kernels' float step, so each result is bitwise the scalar one. Where
 * the CPU has AVX-VNNI, a variant fuses each madd and add into vpdpwssd;
 * the integer sums, and so the results, are the same.
 */
#include <immintrin.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "core/isa.h"
#include "kernels/f16c_scale.h"
#include "kernels/qdot_k.h"
#include "kernels/quant_blocks.h"

#define NT_CAT_(a, b) a##b
#define NT_CAT(a, b) NT_CAT_(a, b)
#define NT_QK_RUN_X(t, sfx, attr, bytes, d_off, dmin_off) NT_QK_RUN(t, sfx, attr, bytes, d_off, dmin_off, nt_f16_hw)

#define NT_ALL_TYPES(sfx, attr)                                   \
    NT_QK_RUN_X(q2_k, sfx, attr, NT_Q2_K_BYTES, 80, 82)           \
    NT_QK_RUN_X(q3_k, sfx, attr, NT_Q3_K_BYTES, 108, -1)          \
    NT_QK_RUN_X(q4_k, sfx, attr, NT_Q4_K_BYTES, 0, 2)             \
    NT_QK_RUN_X(q5_k, sfx, attr, NT_Q5_K_BYTES, 0, 2)             \
    NT_QK_RUN_X(q6_k, sfx, attr, NT_Q6_K_BYTES, 208, -1)

#define NT_SFX _plain
#define NT_TGT
#define NT_MACC(a, p, s) _mm256_add_epi32((a), _mm256_madd_epi16((p), (s)))
#include "kernels/qdot_k_x86.inc"
NT_ALL_TYPES(_plain, )
#undef NT_SFX
#undef NT_TGT
#undef NT_MACC

#define NT_SFX _vnni
#define NT_TGT __attribute__((target("avxvnni")))
#define NT_MACC(a, p, s) _mm256_dpwssd_avx_epi32((a), (p), (s))
#include "kernels/qdot_k_x86.inc"
NT_ALL_TYPES(_vnni, __attribute__((target("avxvnni"))))
#undef NT_SFX
#undef NT_TGT
#undef NT_MACC

/* AVX-VNNI (core/isa.c reads it), unless the tests turn it off. Cached. */
static bool nt_has_avxvnni(void)
{
    static _Atomic int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        /* NEXTTOK_NO_VNNI (tests): the plain variant on a VNNI CPU */
        const char *off = getenv("NEXTTOK_NO_VNNI");
        v = nt_isa_has_dot_ext(NT_ISA_AVX2) && !(off && *off);
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v != 0;
}

NT_QK_EXPORT2(q2_k, avx2, _vnni, _plain, nt_has_avxvnni())
NT_QK_EXPORT2(q3_k, avx2, _vnni, _plain, nt_has_avxvnni())
NT_QK_EXPORT2(q4_k, avx2, _vnni, _plain, nt_has_avxvnni())
NT_QK_EXPORT2(q5_k, avx2, _vnni, _plain, nt_has_avxvnni())
NT_QK_EXPORT2(q6_k, avx2, _vnni, _plain, nt_has_avxvnni())
