/*
 * Fast-mode dots of the 32-wide weight types with AVX2 (qdot_legacy.h
 * defines the result). One block per 256-bit register: the weight quants
 * as bytes (unsigned 0..31 for the 4/5-bit types; for Q8_0 |q| with the
 * sign moved onto the activations by vpsignb, llama.cpp's trick), times the
 * activation quants by vpmaddubsw + vpmaddwd, or by vpdpbusd where the CPU
 * has AVX-VNNI; no pair of products reaches the int16 limit (31 * 127 * 2,
 * 128 * 127 * 2 < 32767), so both give the same int32 lanes.
 *
 * Eight blocks make a group: their lanes are reduced to one exact int32 per
 * block, in block order, and the eight block results c_b (qdot_legacy.h's
 * float operations, on scales loaded one by one: gathers are slow on many
 * AVX2 CPUs) are added into one eight-lane F32 accumulator per token. Blocks after the last whole group go through the scalar code; the
 * result is the accumulator's fixed-order sum plus that tail. The
 * multi-token dot runs the same sequence for every token.
 */
#include <immintrin.h>
#include <stdatomic.h>

#include "core/isa.h"
#include "kernels/prefetch_x86.h"
#include "kernels/qdot_legacy.h"

/* Byte j of the result: 0xFF when bit j of the 32 bits at p is set. */
static inline __m256i nt_bytes_from_bits32(const unsigned char *p)
{
    uint32_t x;
    memcpy(&x, p, sizeof x);
    const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
    const __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32((int)x), shuf);
    return _mm256_cmpeq_epi8(_mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe)), _mm256_set1_epi64x(-1));
}

/* The weight quants of the block at b as 32 bytes. */
static inline __attribute__((always_inline)) __m256i nt_w_block(int t, const unsigned char *b)
{
    const int qo = nt_ql_qs_off(t);
    if (t == NT_QL_Q8_0) return _mm256_loadu_si256((const __m256i *)(b + qo));
    const __m256i q = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(b + qo)));
    __m256i z = _mm256_and_si256(_mm256_srlv_epi32(q, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)), _mm256_set1_epi8(0x0F));
    if (t == NT_QL_Q5_0 || t == NT_QL_Q5_1)
        z = _mm256_or_si256(z, _mm256_and_si256(nt_bytes_from_bits32(b + nt_ql_qh_off(t)), _mm256_set1_epi8(16)));
    return z;
}

/* The eight F16 fields at byte `half` of the 32-bit lanes of g, as F32. */
static inline __m256 nt_f16_lanes(__m256i g, int half)
{
    const __m256i sel = half ? _mm256_setr_epi8(2, 3, 6, 7, 10, 11, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1,
                                                2, 3, 6, 7, 10, 11, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1)
                             : _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1,
                                                0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m256i h = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(g, sel), 0x08);
    return _mm256_cvtph_ps(_mm256_castsi256_si128(h));
}

/* Per 128-bit lane [p0+p1, p2+p3, q0+q1, q2+q3] (hadd). When the sums fit
 * in int16 (`small`), a saturating pack that never saturates and vpmaddwd
 * with ones give the same lanes with one shuffle instead of two. */
static inline __attribute__((always_inline)) __m256i nt_pairsum(bool small, __m256i p, __m256i q)
{
    if (small) return _mm256_madd_epi16(_mm256_packs_epi32(p, q), _mm256_set1_epi16(1));
    return _mm256_hadd_epi32(p, q);
}

static inline float nt_hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline __attribute__((always_inline)) __m256i nt_dp_maddubs(__m256i w, __m256i x)
{
    return _mm256_madd_epi16(_mm256_maddubs_epi16(w, x), _mm256_set1_epi16(1));
}

#define NT_V(name) name##_maddubs
#define NT_DP(w, x) nt_dp_maddubs(w, x)
#define NT_ATTR
#define NT_QP_VNNI 0
#include "kernels/qdot_legacy_avx2_body.h"
#include "kernels/qdot_legacy_avx2_qp_body.h"
#undef NT_QP_VNNI
#undef NT_V
#undef NT_DP
#undef NT_ATTR

/* A target attribute rather than a pragma: clang (the fuzzing build) has
 * no #pragma GCC target. */
#define NT_V(name) name##_vnni
#define NT_DP(w, x) _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), w, x)
#define NT_ATTR __attribute__((target("avxvnni")))
#define NT_QP_VNNI 1
#include "kernels/qdot_legacy_avx2_body.h"
#include "kernels/qdot_legacy_avx2_qp_body.h"
#undef NT_QP_VNNI
#undef NT_V
#undef NT_DP
#undef NT_ATTR

static bool nt_cpu_has_ext(void) { return nt_isa_has_dot_ext(NT_ISA_AVX2); }

/* -1 until first use; then whether the VNNI kernels run. */
static _Atomic int nt_use_ext = -1;

static bool nt_have_avxvnni(void)
{
    int v = atomic_load_explicit(&nt_use_ext, memory_order_relaxed);
    if (v < 0) atomic_store_explicit(&nt_use_ext, v = nt_cpu_has_ext(), memory_order_relaxed);
    return v != 0;
}

int nt_qdot_legacy_ext_avx2(int on)
{
    const int was = nt_have_avxvnni();
    if (on >= 0) atomic_store_explicit(&nt_use_ext, on && nt_cpu_has_ext(), memory_order_relaxed);
    return was;
}

#define NT_DEFINE_QDOT_AVX2(name)                                                              \
    float nt_vec_dot_q_##name##_avx2(int64_t n, const void *w, const void *xq)                 \
    {                                                                                          \
        float r;                                                                               \
        if (nt_have_avxvnni()) nt_run_##name##_vnni(n, w, xq, 0, 1, &r);                       \
        else nt_run_##name##_maddubs(n, w, xq, 0, 1, &r);                                      \
        return r;                                                                              \
    }                                                                                          \
    void nt_dotk_q_##name##_avx2(int64_t n, const void *w, const void *xq, size_t xq_stride,   \
                                 int k, float *out)                                            \
    {                                                                                          \
        if (nt_have_avxvnni()) nt_run_##name##_vnni(n, w, xq, xq_stride, k, out);              \
        else nt_run_##name##_maddubs(n, w, xq, xq_stride, k, out);                             \
    }                                                                                          \
    void nt_dotk_qp_##name##_avx2(int64_t n, const void *w, const void *xq, const void *xp,    \
                                  size_t xq_stride, int k, float *out)                         \
    {                                                                                          \
        if (nt_have_avxvnni()) nt_runp_##name##_vnni(n, w, xq, xp, xq_stride, k, out);         \
        else nt_runp_##name##_maddubs(n, w, xq, xp, xq_stride, k, out);                        \
    }

NT_DEFINE_QDOT_AVX2(q4_0)
NT_DEFINE_QDOT_AVX2(q4_1)
NT_DEFINE_QDOT_AVX2(q5_0)
NT_DEFINE_QDOT_AVX2(q5_1)
NT_DEFINE_QDOT_AVX2(q8_0)

