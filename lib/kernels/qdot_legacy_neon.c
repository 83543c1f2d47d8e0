/*
 * Fast-mode dots of the 32-wide weight types with NEON (qdot_legacy.h
 * defines the result). A block's signed weight quants are two int8x16
 * registers; the products with the activation quants are summed exactly
 * into an int32x4, by vdotq_s32 where the CPU has the dot-product extension
 * (HWCAP_ASIMDDP), else by vmull_s8 / vmlal_high_s8 (two products per int16
 * lane, at most 2 * 128 * 127 < 32767) and vpadalq_s16. The lanes differ
 * between the two, their block sum does not.
 *
 * Four blocks make a group: pairwise adds reduce their lanes to one exact
 * int32 per block, and the four block results c_b (qdot_legacy.h's float
 * operations) are added into one four-lane F32 accumulator per token.
 * Blocks after the last whole group go through the scalar code; the result
 * is the accumulator's vaddvq sum plus that tail. The multi-token dot runs
 * the same sequence for every token.
 */
#include <arm_neon.h>
#include <stdatomic.h>

#include "core/isa.h"
#include "kernels/qdot_legacy.h"

/* Bits 0..15 of `bits` as 16 bytes of 16 (bit set) or 0. */
static inline uint8x16_t nt_fifth16(uint32_t bits)
{
    const uint8x16_t bit = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x16_t v = vcombine_u8(vdup_n_u8((uint8_t)bits), vdup_n_u8((uint8_t)(bits >> 8)));
    return vandq_u8(vtstq_u8(v, bit), vdupq_n_u8(16));
}

/* The signed weight quants of the block at b: values 0..15 and 16..31. */
static inline __attribute__((always_inline)) void nt_w_block(int t, const unsigned char *b, int8x16_t q[2])
{
    const unsigned char *qs = b + nt_ql_qs_off(t);
    if (t == NT_QL_Q8_0) {
        q[0] = vld1q_s8((const int8_t *)qs);
        q[1] = vld1q_s8((const int8_t *)qs + 16);
        return;
    }
    const uint8x16_t v = vld1q_u8(qs);
    uint8x16_t lo = vandq_u8(v, vdupq_n_u8(0x0F)), hi = vshrq_n_u8(v, 4);
    if (t == NT_QL_Q5_0 || t == NT_QL_Q5_1) {
        uint32_t qh;
        memcpy(&qh, b + nt_ql_qh_off(t), sizeof qh);
        lo = vorrq_u8(lo, nt_fifth16(qh));
        hi = vorrq_u8(hi, nt_fifth16(qh >> 16));
    }
    const int8x16_t off = vdupq_n_s8((int8_t)nt_ql_offset(t));
    q[0] = vsubq_s8(vreinterpretq_s8_u8(lo), off);
    q[1] = vsubq_s8(vreinterpretq_s8_u8(hi), off);
}

static inline __attribute__((always_inline)) int32x4_t nt_dp_mull(const int8x16_t w[2], const int8_t *x)
{
    const int8x16_t x0 = vld1q_s8(x), x1 = vld1q_s8(x + 16);
    const int16x8_t p0 = vmlal_high_s8(vmull_s8(vget_low_s8(w[0]), vget_low_s8(x0)), w[0], x0);
    const int16x8_t p1 = vmlal_high_s8(vmull_s8(vget_low_s8(w[1]), vget_low_s8(x1)), w[1], x1);
    return vpadalq_s16(vpaddlq_s16(p0), p1);
}

#define NT_V(name) name##_mull
#define NT_DP(w, x) nt_dp_mull(w, x)
#define NT_ATTR
#include "kernels/qdot_legacy_neon_body.h"
#undef NT_V
#undef NT_DP
#undef NT_ATTR

/* The dot-product kernels, under a target attribute (GCC: v8.2-a, which a
 * CPU with the extension implements; its arm_neon.h defines vdotq_s32 for
 * that target). Clang before 16 defines vdotq_s32 only when the whole
 * build targets the extension, so elsewhere only the vmull kernels exist. */
#if defined(__clang__)
#  if defined(__ARM_FEATURE_DOTPROD)
#    define NT_HAVE_DOT 1
#    define NT_DOT_ATTR
#  else
#    define NT_HAVE_DOT 0
#  endif
#else
#  define NT_HAVE_DOT 1
#  define NT_DOT_ATTR __attribute__((target("arch=armv8.2-a+dotprod")))
#endif

#if NT_HAVE_DOT
static inline __attribute__((always_inline)) NT_DOT_ATTR int32x4_t nt_dp_dot(const int8x16_t w[2], const int8_t *x)
{
    return vdotq_s32(vdotq_s32(vdupq_n_s32(0), w[0], vld1q_s8(x)), w[1], vld1q_s8(x + 16));
}
#  define NT_V(name) name##_dot
#  define NT_DP(w, x) nt_dp_dot(w, x)
#  define NT_ATTR NT_DOT_ATTR
#  include "kernels/qdot_legacy_neon_body.h"
#  undef NT_V
#  undef NT_DP
#  undef NT_ATTR
#else
#  define nt_run_q4_0_dot nt_run_q4_0_mull
#  define nt_run_q4_1_dot nt_run_q4_1_mull
#  define nt_run_q5_0_dot nt_run_q5_0_mull
#  define nt_run_q5_1_dot nt_run_q5_1_mull
#  define nt_run_q8_0_dot nt_run_q8_0_mull
#endif

static _Atomic int nt_use_dotprod = -1;

static bool nt_have_dotprod(void) { return NT_HAVE_DOT && nt_isa_has_dot_ext(NT_ISA_NEON); }

static bool nt_dotprod(void)
{
    int v = atomic_load_explicit(&nt_use_dotprod, memory_order_relaxed);
    if (v < 0) atomic_store_explicit(&nt_use_dotprod, v = nt_have_dotprod(), memory_order_relaxed);
    return v != 0;
}

int nt_qdot_legacy_ext_neon(int on)
{
    const int was = nt_dotprod();
    if (on >= 0) atomic_store_explicit(&nt_use_dotprod, on && nt_have_dotprod(), memory_order_relaxed);
    return was;
}

#define NT_DEFINE_QDOT_NEON(name)                                                              \
    float nt_vec_dot_q_##name##_neon(int64_t n, const void *w, const void *xq)                 \
    {                                                                                          \
        float r;                                                                               \
        if (nt_dotprod()) nt_run_##name##_dot(n, w, xq, 0, 1, &r);                             \
        else nt_run_##name##_mull(n, w, xq, 0, 1, &r);                                         \
        return r;                                                                              \
    }                                                                                          \
    void nt_dotk_q_##name##_neon(int64_t n, const void *w, const void *xq, size_t xq_stride,   \
                                 int k, float *out)                                            \
    {                                                                                          \
        if (nt_dotprod()) nt_run_##name##_dot(n, w, xq, xq_stride, k, out);                    \
        else nt_run_##name##_mull(n, w, xq, xq_stride, k, out);                                \
    }

NT_DEFINE_QDOT_NEON(q4_0)
NT_DEFINE_QDOT_NEON(q4_1)
NT_DEFINE_QDOT_NEON(q5_0)
NT_DEFINE_QDOT_NEON(q5_1)
NT_DEFINE_QDOT_NEON(q8_0)
