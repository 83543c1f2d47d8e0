/*
 * AVX-512 dots of quantized rows with F32 activations. Weights are
 * dequantized in registers (integers widened to 32 bits, converted, scaled
 * with the same float operations as the scalar decoders) and multiplied
 * into the activations in F32; the activations are never rounded.
 *
 * Each dot feeds its 16-value vectors into four accumulators exactly as
 * nt_dot_f32_avx512 does (vector g of the row goes to accumulator g % 4
 * within whole 64-value steps, any rest to accumulator 0), so it is bitwise
 * that dot of the dequantized row; matmul relies on this to batch tokens
 * over dequantized rows with the F32 multi-token dot.
 */
#include <immintrin.h>

#include "kernels/f16c_scale.h"
#include "kernels/hsum_avx512.h"
#include "kernels/kernels_isa.h"
#include "kernels/quant_blocks.h"
#include "types/type_kernels.h"

static inline float nt_reduce4(const __m512 acc[4])
{
    return nt_hsum512(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}

static inline __m512 nt_fma(__m512 w, const float *x, __m512 acc)
{
    return _mm512_fmadd_ps(w, _mm512_loadu_ps(x), acc);
}

/* The register decoders below serve both the dot (y == NULL: vector v of
 * values [off, off + 16) goes into accumulator a) and the row dequantizer
 * (x == NULL: v is stored at y + off), so both see the same values. */
#define NT_SINK(v, off, a)                                      \
    do {                                                        \
        if (y) _mm512_storeu_ps(y + (off), (v));                \
        else acc[a] = nt_fma((v), x + (off), acc[a]);           \
    } while (0)

/* --- 32-value blocks: two vectors each, two blocks per 64-value step ----- */

static inline __attribute__((always_inline)) void nt_q8_0_vecs(const unsigned char *b, __m512 v[2])
{
    const __m512 d = _mm512_set1_ps(nt_f16_hw(b, 0));
    for (int h = 0; h < 2; h++) {
        __m512i q = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(b + 2 + 16 * h)));
        v[h] = _mm512_mul_ps(_mm512_cvtepi32_ps(q), d);
    }
}

static inline __attribute__((always_inline)) void nt_q4_0_vecs(const unsigned char *b, __m512 v[2])
{
    const __m512 d = _mm512_set1_ps(nt_f16_hw(b, 0));
    const __m128i lo4 = _mm_set1_epi8(0x0F);
    const __m128i q = _mm_loadu_si128((const __m128i *)(b + 2));
    const __m512i eight = _mm512_set1_epi32(8);
    __m512i lo = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_and_si128(q, lo4)), eight);
    __m512i hi = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(q, 4), lo4)), eight);
    v[0] = _mm512_mul_ps(_mm512_cvtepi32_ps(lo), d);
    v[1] = _mm512_mul_ps(_mm512_cvtepi32_ps(hi), d);
}

/* The 16 low and 16 high nibbles of a 32-value block's quants. */
static inline __attribute__((always_inline)) void nt_nibbles(const unsigned char *qs, __m512i *lo, __m512i *hi)
{
    const __m128i lo4 = _mm_set1_epi8(0x0F);
    const __m128i q = _mm_loadu_si128((const __m128i *)qs);
    *lo = _mm512_cvtepu8_epi32(_mm_and_si128(q, lo4));
    *hi = _mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(q, 4), lo4));
}

/* Q5_0/Q5_1: the fifth bits of values 0..15 and 16..31, as 16 or 0. */
static inline __attribute__((always_inline)) void nt_fifth_bits(const unsigned char *p, __m512i *lo, __m512i *hi)
{
    uint32_t qh;
    memcpy(&qh, p, sizeof qh);
    const __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i one = _mm512_set1_epi32(1), all = _mm512_set1_epi32((int)qh);
    *lo = _mm512_slli_epi32(_mm512_and_si512(_mm512_srlv_epi32(all, idx), one), 4);
    *hi = _mm512_slli_epi32(_mm512_and_si512(_mm512_srlv_epi32(all, _mm512_add_epi32(idx, _mm512_set1_epi32(16))), one), 4);
}

static inline __attribute__((always_inline)) void nt_q4_1_vecs(const unsigned char *b, __m512 v[2])
{
    const __m512 d = _mm512_set1_ps(nt_f16_hw(b, 0)), m = _mm512_set1_ps(nt_f16_hw(b, 2));
    __m512i lo, hi;
    nt_nibbles(b + 4, &lo, &hi);
    v[0] = _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(lo), d), m);
    v[1] = _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(hi), d), m);
}

static inline __attribute__((always_inline)) void nt_q5_0_vecs(const unsigned char *b, __m512 v[2])
{
    const __m512 d = _mm512_set1_ps(nt_f16_hw(b, 0));
    const __m512i sixteen = _mm512_set1_epi32(16);
    __m512i lo, hi, h0, h1;
    nt_nibbles(b + 6, &lo, &hi);
    nt_fifth_bits(b + 2, &h0, &h1);
    v[0] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_or_si512(lo, h0), sixteen)), d);
    v[1] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_or_si512(hi, h1), sixteen)), d);
}

static inline __attribute__((always_inline)) void nt_q5_1_vecs(const unsigned char *b, __m512 v[2])
{
    const __m512 d = _mm512_set1_ps(nt_f16_hw(b, 0)), m = _mm512_set1_ps(nt_f16_hw(b, 2));
    __m512i lo, hi, h0, h1;
    nt_nibbles(b + 8, &lo, &hi);
    nt_fifth_bits(b + 4, &h0, &h1);
    v[0] = _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_or_si512(lo, h0)), d), m);
    v[1] = _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_or_si512(hi, h1)), d), m);
}

#define NT_DEFINE_DOT32(t, bytes)                                                     \
    static inline __attribute__((always_inline)) float nt_run_##t(int64_t n, const void *w, \
                                                                   const float *x, float *y) \
    {                                                                                 \
        __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), \
                         _mm512_setzero_ps()};                                        \
        const unsigned char *b = w;                                                   \
        int64_t i = 0;                                                                \
        for (; i + 64 <= n; i += 64, b += 2 * (bytes)) {                              \
            __m512 v[2], u[2];                                                        \
            nt_##t##_vecs(b, v);                                                      \
            nt_##t##_vecs(b + (bytes), u);                                            \
            NT_SINK(v[0], i, 0);                                                      \
            NT_SINK(v[1], i + 16, 1);                                                 \
            NT_SINK(u[0], i + 32, 2);                                                 \
            NT_SINK(u[1], i + 48, 3);                                                 \
        }                                                                             \
        if (i < n) { /* one block left: both halves to accumulator 0 */               \
            __m512 v[2];                                                              \
            nt_##t##_vecs(b, v);                                                      \
            NT_SINK(v[0], i, 0);                                                      \
            NT_SINK(v[1], i + 16, 0);                                                 \
        }                                                                             \
        return y ? 0.0f : nt_reduce4(acc);                                            \
    }                                                                                 \
    float nt_dot_##t##_avx512(int64_t n, const void *w, const float *x)               \
    {                                                                                 \
        return nt_run_##t(n, w, x, NULL);                                             \
    }                                                                                 \
    void nt_##t##_to_float_avx512(const void *w, float *y, int64_t n)                 \
    {                                                                                 \
        nt_run_##t(n, w, NULL, y);                                                    \
    }

NT_DEFINE_DOT32(q8_0, NT_Q8_0_BYTES)
NT_DEFINE_DOT32(q4_0, NT_Q4_0_BYTES)
NT_DEFINE_DOT32(q4_1, NT_Q4_1_BYTES)
NT_DEFINE_DOT32(q5_0, NT_Q5_0_BYTES)
NT_DEFINE_DOT32(q5_1, NT_Q5_1_BYTES)

/* --- 256-value super-blocks: sixteen vectors, vector g to accumulator g%4 */

static inline __attribute__((always_inline)) float nt_run_q4_k(int64_t n, const void *w, const float *x, float *y)
{
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    const __m512i lo4 = _mm512_set1_epi32(0x0F);
    const unsigned char *b = w;
    for (int64_t i = 0; i < n; i += NT_QK_K, b += NT_Q4_K_BYTES) {
        const float d = nt_f16_hw(b, 0), dmin = nt_f16_hw(b, 2);
        const unsigned char *q = b + 16;
        for (int j = 0; j < 8; j += 2, q += 32) {
            int s0, m0, s1, m1;
            nt_q_scale_min_k4(j, b + 4, &s0, &m0);
            nt_q_scale_min_k4(j + 1, b + 4, &s1, &m1);
            const __m512 d0 = _mm512_set1_ps(d * (float)s0), n0 = _mm512_set1_ps(dmin * (float)m0);
            const __m512 d1 = _mm512_set1_ps(d * (float)s1), n1 = _mm512_set1_ps(dmin * (float)m1);
            const __m512i e0 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)q));
            const __m512i e1 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(q + 16)));
            const int64_t o = i + 32 * j;
            NT_SINK(_mm512_sub_ps(_mm512_mul_ps(d0, _mm512_cvtepi32_ps(_mm512_and_si512(e0, lo4))), n0), o, 0);
            NT_SINK(_mm512_sub_ps(_mm512_mul_ps(d0, _mm512_cvtepi32_ps(_mm512_and_si512(e1, lo4))), n0), o + 16, 1);
            NT_SINK(_mm512_sub_ps(_mm512_mul_ps(d1, _mm512_cvtepi32_ps(_mm512_srli_epi32(e0, 4))), n1), o + 32, 2);
            NT_SINK(_mm512_sub_ps(_mm512_mul_ps(d1, _mm512_cvtepi32_ps(_mm512_srli_epi32(e1, 4))), n1), o + 48, 3);
        }
    }
    return y ? 0.0f : nt_reduce4(acc);
}

/* Q5_K: Q4_K's layout plus a fifth bit per value, bit j of qh[l] for group j. */
static inline __attribute__((always_inline)) float nt_run_q5_k(int64_t n, const void *w, const float *x, float *y)
{
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    const __m512i lo4 = _mm512_set1_epi32(0x0F), one = _mm512_set1_epi32(1);
    const unsigned char *b = w;
    for (int64_t i = 0; i < n; i += NT_QK_K, b += NT_Q5_K_BYTES) {
        const float d = nt_f16_hw(b, 0), dmin = nt_f16_hw(b, 2);
        const unsigned char *q = b + 48;
        const __m512i h0 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(b + 16)));
        const __m512i h1 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(b + 32)));
        for (int j = 0; j < 8; j += 2, q += 32) {
            int s0, m0, s1, m1;
            nt_q_scale_min_k4(j, b + 4, &s0, &m0);
            nt_q_scale_min_k4(j + 1, b + 4, &s1, &m1);
            const __m512 d0 = _mm512_set1_ps(d * (float)s0), n0 = _mm512_set1_ps(dmin * (float)m0);
            const __m512 d1 = _mm512_set1_ps(d * (float)s1), n1 = _mm512_set1_ps(dmin * (float)m1);
            const __m128i c0 = _mm_cvtsi32_si128(j), c1 = _mm_cvtsi32_si128(j + 1);
            const __m512i e0 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)q));
            const __m512i e1 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(q + 16)));
            const __m512i f0 = _mm512_slli_epi32(_mm512_and_si512(_mm512_srl_epi32(h0, c0), one), 4);
            const __m512i f1 = _mm512_slli_epi32(_mm512_and_si512(_mm512_srl_epi32(h1, c0), one), 4);
            const __m512i g0 = _mm512_slli_epi32(_mm512_and_si512(_mm512_srl_epi32(h0, c1), one), 4);
            const __m512i g1 = _mm512_slli_epi32(_mm512_and_si512(_mm512_srl_epi32(h1, c1), one), 4);
            const int64_t o = i + 32 * j;
            NT_SINK(_mm512_sub_ps(_mm512_mul_ps(d0, _mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_and_si512(e0, lo4), f0))), n0), o, 0);
            NT_SINK(_mm512_sub_ps(_mm512_mul_ps(d0, _mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_and_si512(e1, lo4), f1))), n0), o + 16, 1);
            NT_SINK(_mm512_sub_ps(_mm512_mul_ps(d1, _mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_srli_epi32(e0, 4), g0))), n1), o + 32, 2);
            NT_SINK(_mm512_sub_ps(_mm512_mul_ps(d1, _mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_srli_epi32(e1, 4), g1))), n1), o + 48, 3);
        }
    }
    return y ? 0.0f : nt_reduce4(acc);
}

static inline __attribute__((always_inline)) float nt_run_q6_k(int64_t n, const void *w, const float *x, float *y)
{
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    const __m512i lo4 = _mm512_set1_epi32(0x0F), two = _mm512_set1_epi32(3), bias = _mm512_set1_epi32(32);
    const unsigned char *b = w;
    for (int64_t i = 0; i < n; i += NT_QK_K, b += NT_Q6_K_BYTES) {
        const float d = nt_f16_hw(b, 208);
        const signed char *sc = (const signed char *)(b + 192);
        const unsigned char *ql = b, *qh = b + 128;
        for (int half = 0; half < 2; half++, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l += 16) {
                const int is = l / 16;
                const __m512i a = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(ql + l)));
                const __m512i c = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(ql + l + 32)));
                const __m512i h = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(qh + l)));
                __m512i q[4];
                q[0] = _mm512_or_si512(_mm512_and_si512(a, lo4), _mm512_slli_epi32(_mm512_and_si512(h, two), 4));
                q[1] = _mm512_or_si512(_mm512_and_si512(c, lo4),
                                       _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(h, 2), two), 4));
                q[2] = _mm512_or_si512(_mm512_srli_epi32(a, 4),
                                       _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(h, 4), two), 4));
                q[3] = _mm512_or_si512(_mm512_srli_epi32(c, 4), _mm512_slli_epi32(_mm512_srli_epi32(h, 6), 4));
                const int64_t o = i + 128 * half + l;
                for (int k = 0; k < 4; k++) {
                    const __m512 s = _mm512_set1_ps(d * (float)sc[is + 2 * k]);
                    const __m512 v = _mm512_mul_ps(s, _mm512_cvtepi32_ps(_mm512_sub_epi32(q[k], bias)));
                    NT_SINK(v, o + 32 * k, (is + 2 * k) & 3);
                }
            }
        }
    }
    return y ? 0.0f : nt_reduce4(acc);
}

/* Q2_K / Q3_K: two halves of four two-bit planes of 32 values; value
 * 128h + 32j + r takes bits 2j.. of qs[32h + r], and for Q3_K bit 4h + j
 * of hmask[r] (clear: minus 4). Each 16 values share a scale. */
static inline __attribute__((always_inline)) float nt_run_q2_k(int64_t n, const void *w, const float *x, float *y)
{
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    const __m512i three = _mm512_set1_epi32(3);
    const unsigned char *b = w;
    for (int64_t i = 0; i < n; i += NT_QK_K, b += NT_Q2_K_BYTES) {
        const float d = nt_f16_hw(b, 80), dmin = nt_f16_hw(b, 82);
        for (int h = 0; h < 2; h++)
            for (int part = 0; part < 2; part++) {
                const __m512i q = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(b + 16 + 32 * h + 16 * part)));
                for (int j = 0; j < 4; j++) {
                    const int is = 8 * h + 2 * j + part, sc = b[is];
                    const __m512 dl = _mm512_set1_ps(d * (float)(sc & 0x0F)), ml = _mm512_set1_ps(dmin * (float)(sc >> 4));
                    const __m512i v = _mm512_and_si512(_mm512_srl_epi32(q, _mm_cvtsi32_si128(2 * j)), three);
                    NT_SINK(_mm512_sub_ps(_mm512_mul_ps(dl, _mm512_cvtepi32_ps(v)), ml), i + 16 * is, (2 * j + part) & 3);
                }
            }
    }
    return y ? 0.0f : nt_reduce4(acc);
}

static inline __attribute__((always_inline)) float nt_run_q3_k(int64_t n, const void *w, const float *x, float *y)
{
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    const __m512i three = _mm512_set1_epi32(3), one = _mm512_set1_epi32(1), four = _mm512_set1_epi32(4);
    const unsigned char *b = w;
    for (int64_t i = 0; i < n; i += NT_QK_K, b += NT_Q3_K_BYTES) {
        const float d = nt_f16_hw(b, 108);
        for (int h = 0; h < 2; h++)
            for (int part = 0; part < 2; part++) {
                const __m512i q = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(b + 32 + 32 * h + 16 * part)));
                const __m512i hm = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(b + 16 * part)));
                for (int j = 0; j < 4; j++) {
                    const int is = 8 * h + 2 * j + part;
                    const __m512 dl = _mm512_set1_ps(d * (float)nt_q3k_scale(is, b + 96));
                    const __m512i lo = _mm512_and_si512(_mm512_srl_epi32(q, _mm_cvtsi32_si128(2 * j)), three);
                    const __m512i hb = _mm512_and_si512(_mm512_srl_epi32(hm, _mm_cvtsi32_si128(4 * h + j)), one);
                    const __m512i v = _mm512_sub_epi32(_mm512_add_epi32(lo, _mm512_slli_epi32(hb, 2)), four);
                    NT_SINK(_mm512_mul_ps(dl, _mm512_cvtepi32_ps(v)), i + 16 * is, (2 * j + part) & 3);
                }
            }
    }
    return y ? 0.0f : nt_reduce4(acc);
}

#define NT_DEFINE_RUN_EXPORTS(t)                                                \
    float nt_dot_##t##_avx512(int64_t n, const void *w, const float *x)         \
    {                                                                           \
        return nt_run_##t(n, w, x, NULL);                                       \
    }                                                                           \
    void nt_##t##_to_float_avx512(const void *w, float *y, int64_t n) { nt_run_##t(n, w, NULL, y); }

NT_DEFINE_RUN_EXPORTS(q2_k)
NT_DEFINE_RUN_EXPORTS(q3_k)
NT_DEFINE_RUN_EXPORTS(q4_k)
NT_DEFINE_RUN_EXPORTS(q5_k)
NT_DEFINE_RUN_EXPORTS(q6_k)
