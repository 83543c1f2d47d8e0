/*
 * Fast-mode dots of the 32-wide weight types with AVX-512 (qdot_legacy.h
 * defines the result). Two blocks per 512-bit register: the weight quants
 * as bytes (unsigned 0..31 for the 4/5-bit types, |q| with the sign moved
 * onto the activations for Q8_0), multiplied into the activation quants by
 * vpdpbusd where the CPU has AVX512-VNNI, else by vpmaddubsw + vpmaddwd
 * (no pair of products reaches the int16 limit: 31 * 127 * 2 and
 * 128 * 127 * 2 are below 32767); both give the same int32 lanes.
 *
 * Sixteen blocks make a group: their lanes are reduced to one exact int32
 * per block, and the group's 16 block results c_b, with qdot_legacy.h's
 * float operations, are added into one 16-lane F32 accumulator per token
 * (their scales permuted into the same lane order, nt_w_scales). With
 * several tokens the activations may come transposed (nt_group_t), so
 * that no per-token reduction is needed at all. Eight blocks left over
 * make a half group (lanes 8..15 zero); fewer go through the scalar code.
 * The result is the accumulator's fixed-order sum plus that tail. The
 * multi-token dot runs the same sequence for every token.
 */
#include <immintrin.h>
#include <stdatomic.h>

#include "core/isa.h"
#include "kernels/prefetch_x86.h"
#include "kernels/qdot_legacy.h"

/* The weights are prefetched nt_isa_prefetch_bytes() ahead of the group
 * being computed, into L2. Decode streams every row from memory once, and
 * the hardware prefetcher alone left one core at 10 GB/s of its 13.9 on a
 * single token's Q8_0 rows and at half the in-cache speed on 8 tokens'
 * Q4_0 rows (Sapphire Rapids; build/tests/bench_qt over a page-cache
 * mapping). Rows are contiguous, so near a row's end this fetches the next
 * row's start. */

/* The weight quants of the blocks at b and b + bytes as 64 bytes. */
static inline __attribute__((always_inline)) __m512i nt_w_pair(int t, const unsigned char *b)
{
    const int bytes = nt_ql_bytes(t), qo = nt_ql_qs_off(t);
    if (t == NT_QL_Q8_0)
        return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(b + qo))),
                                  _mm256_loadu_si256((const __m256i *)(b + bytes + qo)), 1);
    /* 128-bit lanes: block 0's quants twice, block 1's twice; the high
     * nibbles (values 16..31) in lanes 1 and 3 */
    __m512i z = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(b + qo)));
    z = _mm512_mask_broadcast_i32x4(z, 0xFF00, _mm_loadu_si128((const __m128i *)(b + bytes + qo)));
    z = _mm512_and_si512(_mm512_mask_srli_epi16(z, 0xFF00FF00u, z, 4), _mm512_set1_epi8(0x0F));
    if (t == NT_QL_Q5_0 || t == NT_QL_Q5_1) {
        uint32_t h0, h1;
        memcpy(&h0, b + nt_ql_qh_off(t), sizeof h0);
        memcpy(&h1, b + bytes + nt_ql_qh_off(t), sizeof h1);
        z = _mm512_mask_add_epi8(z, (__mmask64)h0 | (__mmask64)h1 << 32, z, _mm512_set1_epi8(16));
    }
    return z;
}

/* Four 16-byte pieces, at p, p + step, p + 2 step and p + 3 step, one per
 * 128-bit lane. */
static inline __attribute__((always_inline)) __m512i nt_load4x16(const unsigned char *p, int step)
{
    __m512i z = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)p));
    z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(p + step)), 1);
    z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(p + 2 * step)), 2);
    return _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(p + 3 * step)), 3);
}

/* The weight quants of the four blocks at b as bytes (as nt_w_pair's),
 * block j in 128-bit lane j: values 0..15 in *lo, 16..31 in *hi, the
 * halves the packed activations (qdot.h nt_q8a_pack) come in. */
static inline __attribute__((always_inline)) void nt_w_quad(int t, const unsigned char *b, __m512i *lo, __m512i *hi)
{
    const int bytes = nt_ql_bytes(t), qo = nt_ql_qs_off(t);
    if (t == NT_QL_Q8_0) {
        *lo = nt_load4x16(b + qo, bytes);
        *hi = nt_load4x16(b + qo + 16, bytes);
        return;
    }
    const __m512i z = nt_load4x16(b + qo, bytes), low4 = _mm512_set1_epi8(0x0F);
    __m512i l = _mm512_and_si512(z, low4), h = _mm512_and_si512(_mm512_srli_epi16(z, 4), low4);
    if (t == NT_QL_Q5_0 || t == NT_QL_Q5_1) {
        uint64_t ml = 0, mh = 0;
        for (int j = 0; j < 4; j++) {
            uint32_t q;
            memcpy(&q, b + j * bytes + nt_ql_qh_off(t), sizeof q);
            ml |= (uint64_t)(q & 0xFFFFu) << (16 * j);
            mh |= (uint64_t)(q >> 16) << (16 * j);
        }
        l = _mm512_mask_add_epi8(l, (__mmask64)ml, l, _mm512_set1_epi8(16));
        h = _mm512_mask_add_epi8(h, (__mmask64)mh, h, _mm512_set1_epi8(16));
    }
    *lo = l;
    *hi = h;
}

/* The 16 bytes at p + qo of the blocks at p, p + bytes, p + 8 bytes and
 * p + 9 bytes, one per 128-bit lane (only the first two for a half group,
 * G = 8: the others zero, never read past the group). */
static inline __attribute__((always_inline)) __m512i nt_load_quad_t(const unsigned char *p, int bytes, int G)
{
    __m512i z = _mm512_zextsi128_si512(_mm_loadu_si128((const __m128i *)p));
    z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(p + bytes)), 1);
    if (G == 16) {
        z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(p + 8 * bytes)), 2);
        z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(p + 9 * bytes)), 3);
    }
    return z;
}

/* Per 128-bit lane, the 4 x 4 int32 transpose of r[0..3]: lane i of r[q]
 * becomes lane q of r[i]. */
static inline __attribute__((always_inline)) void nt_transpose4(__m512i r[4])
{
    const __m512i t0 = _mm512_unpacklo_epi32(r[0], r[1]), t1 = _mm512_unpackhi_epi32(r[0], r[1]);
    const __m512i t2 = _mm512_unpacklo_epi32(r[2], r[3]), t3 = _mm512_unpackhi_epi32(r[2], r[3]);
    r[0] = _mm512_unpacklo_epi64(t0, t2);
    r[1] = _mm512_unpackhi_epi64(t0, t2);
    r[2] = _mm512_unpacklo_epi64(t1, t3);
    r[3] = _mm512_unpackhi_epi64(t1, t3);
}

/* The weight quants of a group of G blocks at b as bytes (as nt_w_pair's)
 * in the transposed layout of qdot.h nt_q8a_pack_t: int32 lane l of wt[c]
 * holds values 4c..4c+3 of block order[l]. Quad q loads blocks 2q, 2q + 1,
 * 8 + 2q and 9 + 2q, which the transpose puts in lanes 4 L + q: order[4 L
 * + q] is that block. The 4-bit types transpose their packed bytes and
 * split the nibbles after (half the shuffles); the others transpose their
 * low and high halves. */
static inline __attribute__((always_inline)) void nt_w_transposed(int t, int G, const unsigned char *b, __m512i wt[8])
{
    const int bytes = nt_ql_bytes(t), qo = nt_ql_qs_off(t);
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    __m512i lo[4], hi[4];
    if (t == NT_QL_Q4_0 || t == NT_QL_Q4_1) {
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++) lo[q] = nt_load_quad_t(b + 2 * q * bytes + qo, bytes, G);
        nt_transpose4(lo);
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++) {
            wt[c] = _mm512_and_si512(lo[c], low4);
            wt[4 + c] = _mm512_and_si512(_mm512_srli_epi16(lo[c], 4), low4);
        }
        return;
    }
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) {
        const unsigned char *p = b + 2 * q * bytes;
        if (t == NT_QL_Q8_0) {
            lo[q] = nt_load_quad_t(p + qo, bytes, G);
            hi[q] = nt_load_quad_t(p + qo + 16, bytes, G);
            continue;
        }
        const __m512i z = nt_load_quad_t(p + qo, bytes, G);
        __m512i l = _mm512_and_si512(z, low4), h = _mm512_and_si512(_mm512_srli_epi16(z, 4), low4);
        uint64_t ml = 0, mh = 0;
        for (int j = 0; j < G / 4; j++) {
            uint32_t qh;
            memcpy(&qh, p + (j < 2 ? j : 6 + j) * bytes + nt_ql_qh_off(t), sizeof qh);
            ml |= (uint64_t)(qh & 0xFFFFu) << (16 * j);
            mh |= (uint64_t)(qh >> 16) << (16 * j);
        }
        lo[q] = _mm512_mask_add_epi8(l, (__mmask64)ml, l, _mm512_set1_epi8(16));
        hi[q] = _mm512_mask_add_epi8(h, (__mmask64)mh, h, _mm512_set1_epi8(16));
    }
    nt_transpose4(lo);
    nt_transpose4(hi);
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        wt[c] = lo[c];
        wt[4 + c] = hi[c];
    }
}

/* The F16 scales d (and minimums m) of a group of G blocks at b as F32, in
 * nt_group's lane order (lanes G..15 zero): word permutations of 128-byte
 * windows of the group instead of a 16-lane gather, which cost a quarter
 * of the batched kernels' time. A window covers 8 blocks' fields (Q4_0)
 * or 4; it never reaches past the group (the last one ends at the group's
 * end). */
static inline __attribute__((always_inline)) void nt_w_scales(int t, int G, const unsigned char *b, __m512 *dw, __m512 *m)
{
    static const uint16_t ord[32] = {0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15,
                                     0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15};
    static const uint16_t fld[32] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                     2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};
    const int bytes = nt_ql_bytes(t);
    const bool has_min = nt_ql_has_min(t);
    const int W = 7 * bytes + (has_min ? 2 : 0) <= 126 ? 8 : 4;
    /* byte offset of each word's field in the group */
    const __m512i at = _mm512_add_epi16(_mm512_mullo_epi16(_mm512_loadu_si512((const void *)ord), _mm512_set1_epi16((short)bytes)),
                                        _mm512_loadu_si512((const void *)fld));
    __m512i r = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int w = 0; w < G / W; w++) {
        int s = w * W * bytes;
        if (s > G * bytes - 128) s = G * bytes - 128;
        uint32_t k = 0;
        for (int p = 0; p < (has_min ? 32 : 16); p++)
            if (ord[p] / W == w) k |= 1u << p;
        const __m512i idx = _mm512_srli_epi16(_mm512_sub_epi16(at, _mm512_set1_epi16((short)s)), 1);
        const __m512i v = _mm512_permutex2var_epi16(_mm512_loadu_si512((const void *)(b + s)), idx,
                                                    _mm512_loadu_si512((const void *)(b + s + 64)));
        r = _mm512_mask_mov_epi16(r, (__mmask32)k, v);
    }
    *dw = _mm512_cvtph_ps(_mm512_castsi512_si256(r));
    *m = has_min ? _mm512_cvtph_ps(_mm512_extracti64x4_epi64(r, 1)) : _mm512_setzero_ps();
}

static inline __attribute__((always_inline)) __m512i nt_x_pair(const nt_q8a_block *x)
{
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)x[0].qs)),
                              _mm256_loadu_si256((const __m256i *)x[1].qs), 1);
}

/* The reduction tree of a group's pair registers (blocks 2j, 2j+1 in
 * pair j, eight int32 lanes each), in three steps:
 * nt_merge1(p, q): per 128-bit lane, the lanes of p and q summed in pairs;
 * nt_merge2(t, v): per 128-bit lane L the sums of lane L of the four pairs
 *   behind t and v;
 * nt_tree_last(a, b): one exact int32 per block, for the pairs behind a
 *   (0..3) and b (4..7), in the block order 0 2 4 6 1 3 5 7 8 10 12 14 9 11
 *   13 15.
 * For the 4/5-bit types a lane is at most 4 * 31 * 127 and a pair of lanes
 * 8 * 31 * 127, below 32767: the first two steps pack to int16 (no
 * saturation) and add pairs with vpmaddwd, one shuffle instead of two; Q8_0
 * lanes (up to 4 * 128 * 127) unpack and add in int32. */
static inline __attribute__((always_inline)) __m512i nt_merge1(int t, __m512i p, __m512i q)
{
    if (t != NT_QL_Q8_0) return _mm512_madd_epi16(_mm512_packs_epi32(p, q), _mm512_set1_epi16(1));
    return _mm512_add_epi32(_mm512_unpacklo_epi32(p, q), _mm512_unpackhi_epi32(p, q));
}

static inline __attribute__((always_inline)) __m512i nt_merge2(int t, __m512i a, __m512i b)
{
    if (t != NT_QL_Q8_0) return _mm512_madd_epi16(_mm512_packs_epi32(a, b), _mm512_set1_epi16(1));
    return _mm512_add_epi32(_mm512_unpacklo_epi64(a, b), _mm512_unpackhi_epi64(a, b));
}

static inline __attribute__((always_inline)) __m512i nt_tree_last(__m512i a, __m512i b)
{
    return _mm512_add_epi32(_mm512_shuffle_i32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0)),
                            _mm512_shuffle_i32x4(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
}

/* The reduction of a group's quad registers (blocks 4q..4q+3 in quad q,
 * one per 128-bit lane, four int32 lanes each), in two steps:
 * nt_qmerge1(a, b): per 128-bit lane, a's lanes summed in pairs, then b's;
 * nt_qmerge2(m01, m23) then holds in 128-bit lane L the sums of block
 *   4q + L for q = 0..3: lane 4 L + q of the group is block 4 q + L.
 * A lane of a quad register is at most 8 * 15 * 127 for the 4-bit types,
 * 8 * 31 * 127 for the 5-bit ones and 8 * 128 * 127 for Q8_0: only the
 * 4-bit types' pairs of lanes fit int16 (packed, then vpmaddwd); the
 * others add in int32. */
static inline __attribute__((always_inline)) __m512i nt_qmerge1(int t, __m512i a, __m512i b)
{
    if (t == NT_QL_Q4_0 || t == NT_QL_Q4_1) return _mm512_madd_epi16(_mm512_packs_epi32(a, b), _mm512_set1_epi16(1));
    return _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
}

static inline __attribute__((always_inline)) __m512i nt_qmerge2(int t, __m512i a, __m512i b)
{
    if (t == NT_QL_Q4_0 || t == NT_QL_Q4_1) return _mm512_madd_epi16(_mm512_packs_epi32(a, b), _mm512_set1_epi16(1));
    return _mm512_add_epi32(_mm512_unpacklo_epi64(a, b), _mm512_unpackhi_epi64(a, b));
}

static inline __attribute__((always_inline)) __m512i nt_dp_maddubs(__m512i w, __m512i x)
{
    return _mm512_madd_epi16(_mm512_maddubs_epi16(w, x), _mm512_set1_epi16(1));
}

#define NT_V(name) name##_maddubs
#define NT_DP(w, x) nt_dp_maddubs(w, x)
#define NT_DP2(w, x, v, y) _mm512_add_epi32(nt_dp_maddubs(w, x), nt_dp_maddubs(v, y))
#define NT_DPA(a, w, x) _mm512_add_epi32(a, nt_dp_maddubs(w, x))
#define NT_ATTR
/* vpmaddubsw saturates its int16 pairs: 255 * 127 * 2 would not fit, so
 * Q8_0 keeps the sign trick here */
#define NT_Q8_BIAS 0
#include "kernels/qdot_legacy_avx512_body.h"
#undef NT_Q8_BIAS
#undef NT_V
#undef NT_DP
#undef NT_DP2
#undef NT_DPA
#undef NT_ATTR

/* A target attribute rather than a pragma: clang (the fuzzing build) has
 * no #pragma GCC target. */
#define NT_V(name) name##_vnni
#define NT_DP(w, x) _mm512_dpbusd_epi32(_mm512_setzero_si512(), w, x)
#define NT_DP2(w, x, v, y) _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), w, x), v, y)
#define NT_DPA(a, w, x) _mm512_dpbusd_epi32(a, w, x)
#define NT_ATTR __attribute__((target("avx512vnni")))
/* vpdpbusd adds its four byte products into int32 without saturating:
 * (q + 128) * qx fits for any byte q */
#define NT_Q8_BIAS 1
#include "kernels/qdot_legacy_avx512_body.h"
#undef NT_Q8_BIAS
#undef NT_V
#undef NT_DP
#undef NT_DP2
#undef NT_DPA
#undef NT_ATTR

static bool nt_cpu_has_ext(void) { return nt_isa_has_dot_ext(NT_ISA_AVX512); }

/* -1 until first use; then whether the VNNI kernels run. */
static _Atomic int nt_use_ext = -1;

static bool nt_have_vnni(void)
{
    int v = atomic_load_explicit(&nt_use_ext, memory_order_relaxed);
    if (v < 0) atomic_store_explicit(&nt_use_ext, v = nt_cpu_has_ext(), memory_order_relaxed);
    return v != 0;
}

int nt_qdot_legacy_ext_avx512(int on)
{
    const int was = nt_have_vnni();
    if (on >= 0) atomic_store_explicit(&nt_use_ext, on && nt_cpu_has_ext(), memory_order_relaxed);
    return was;
}

#define NT_DEFINE_QDOT_AVX512(name)                                                            \
    float nt_vec_dot_q_##name##_avx512(int64_t n, const void *w, const void *xq)               \
    {                                                                                          \
        float r;                                                                               \
        if (nt_have_vnni()) nt_run_##name##_vnni(n, w, xq, 0, 1, &r);                          \
        else nt_run_##name##_maddubs(n, w, xq, 0, 1, &r);                                      \
        return r;                                                                              \
    }                                                                                          \
    void nt_dotk_q_##name##_avx512(int64_t n, const void *w, const void *xq, size_t xq_stride, \
                                   int k, float *out)                                          \
    {                                                                                          \
        if (nt_have_vnni()) nt_run_##name##_vnni(n, w, xq, xq_stride, k, out);                 \
        else nt_run_##name##_maddubs(n, w, xq, xq_stride, k, out);                             \
    }                                                                                          \
    void nt_dotk_qp_##name##_avx512(int64_t n, const void *w, const void *xq, const void *xp,  \
                                    size_t xq_stride, int k, float *out)                       \
    {                                                                                          \
        if (nt_have_vnni()) nt_runp_##name##_vnni(n, w, xq, xp, xq_stride, k, out);            \
        else nt_runp_##name##_maddubs(n, w, xq, xp, xq_stride, k, out);                        \
    }                                                                                          \
    void nt_dotk_qt_##name##_avx512(int64_t n, const void *w, const void *xq, const void *xp,  \
                                    size_t xq_stride, int k, float *out)                       \
    {                                                                                          \
        if (nt_have_vnni()) nt_runt_##name##_vnni(n, w, xq, xp, xq_stride, k, out);            \
        else nt_runt_##name##_maddubs(n, w, xq, xp, xq_stride, k, out);                        \
    }

NT_DEFINE_QDOT_AVX512(q4_0)
NT_DEFINE_QDOT_AVX512(q4_1)
NT_DEFINE_QDOT_AVX512(q5_0)
NT_DEFINE_QDOT_AVX512(q5_1)
NT_DEFINE_QDOT_AVX512(q8_0)
