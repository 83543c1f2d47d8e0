/*
 * AVX2 + FMA dots of quantized rows with F32 activations. Weights are
 * dequantized in registers (integers widened to 32 bits, converted, scaled
 * with the same float operations as the scalar decoders) and multiplied
 * into the activations in F32; the activations are never rounded.
 *
 * Each dot feeds its 8-value vectors into four accumulators exactly as
 * nt_dot_f32_avx2 does (vector g of the row to accumulator g % 4; rows are
 * whole 32-value steps), so it is bitwise that dot of the dequantized row;
 * matmul relies on this to batch tokens over dequantized rows with the F32
 * multi-token dot.
 */
#include <immintrin.h>

#include "kernels/f16c_scale.h"
#include "kernels/kernels_isa.h"
#include "kernels/quant_blocks.h"
#include "types/type_kernels.h"

static inline float nt_reduce4(const __m256 acc[4])
{
    __m256 v = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline __m256 nt_fma(__m256 w, const float *x, __m256 acc)
{
    return _mm256_fmadd_ps(w, _mm256_loadu_ps(x), acc);
}

/* The register decoders below serve both the dot (y == NULL: vector v of
 * values [off, off + 8) goes into accumulator a) and the row dequantizer
 * (x == NULL: v is stored at y + off), so both see the same values. */
#define NT_SINK(v, off, a)                                      \
    do {                                                        \
        if (y) _mm256_storeu_ps(y + (off), (v));                \
        else acc[a] = nt_fma((v), x + (off), acc[a]);           \
    } while (0)

static inline __m256i nt_u8x8(const unsigned char *p)
{
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p));
}

#define NT_ACC_ZERO {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()}

/* Quants of values 8a..8a+7 of a 32-value block stored as 16 nibble bytes
 * (values 0..15 low nibbles, 16..31 high nibbles). */
static inline __attribute__((always_inline)) void nt_nibble_parts(const unsigned char *qs, __m256i part[4])
{
    const __m128i lo4 = _mm_set1_epi8(0x0F);
    const __m128i q = _mm_loadu_si128((const __m128i *)qs);
    const __m128i lo = _mm_and_si128(q, lo4), hi = _mm_and_si128(_mm_srli_epi16(q, 4), lo4);
    part[0] = _mm256_cvtepu8_epi32(lo);
    part[1] = _mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8));
    part[2] = _mm256_cvtepu8_epi32(hi);
    part[3] = _mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8));
}

/* Q5_0/Q5_1: the fifth bits of values 8a..8a+7 (bit v of qh), as 16 or 0. */
static inline __attribute__((always_inline)) __m256i nt_fifth_part(const unsigned char *p, int a)
{
    uint32_t qh;
    memcpy(&qh, p, sizeof qh);
    const __m256i idx = _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(8 * a));
    return _mm256_slli_epi32(_mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32((int)qh), idx), _mm256_set1_epi32(1)), 4);
}

static inline __attribute__((always_inline)) float nt_run_q4_1(int64_t n, const void *w, const float *x, float *y)
{
    __m256 acc[4] = NT_ACC_ZERO;
    const unsigned char *b = w;
    for (int64_t i = 0; i < n; i += NT_QK32, b += NT_Q4_1_BYTES) {
        const __m256 d = _mm256_set1_ps(nt_f16_hw(b, 0)), m = _mm256_set1_ps(nt_f16_hw(b, 2));
        __m256i part[4];
        nt_nibble_parts(b + 4, part);
        for (int a = 0; a < 4; a++) NT_SINK(_mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(part[a]), d), m), i + 8 * a, a);
    }
    return y ? 0.0f : nt_reduce4(acc);
}

static inline __attribute__((always_inline)) float nt_run_q5_0(int64_t n, const void *w, const float *x, float *y)
{
    __m256 acc[4] = NT_ACC_ZERO;
    const __m256i sixteen = _mm256_set1_epi32(16);
    const unsigned char *b = w;
    for (int64_t i = 0; i < n; i += NT_QK32, b += NT_Q5_0_BYTES) {
        const __m256 d = _mm256_set1_ps(nt_f16_hw(b, 0));
        __m256i part[4];
        nt_nibble_parts(b + 6, part);
        for (int a = 0; a < 4; a++) {
            __m256i q = _mm256_sub_epi32(_mm256_or_si256(part[a], nt_fifth_part(b + 2, a)), sixteen);
            NT_SINK(_mm256_mul_ps(_mm256_cvtepi32_ps(q), d), i + 8 * a, a);
        }
    }
    return y ? 0.0f : nt_reduce4(acc);
}

static inline __attribute__((always_inline)) float nt_run_q5_1(int64_t n, const void *w, const float *x, float *y)
{
    __m256 acc[4] = NT_ACC_ZERO;
    const unsigned char *b = w;
    for (int64_t i = 0; i < n; i += NT_QK32, b += NT_Q5_1_BYTES) {
        const __m256 d = _mm256_set1_ps(nt_f16_hw(b, 0)), m = _mm256_set1_ps(nt_f16_hw(b, 2));
        __m256i part[4];
        nt_nibble_parts(b + 8, part);
        for (int a = 0; a < 4; a++) {
            __m256i q = _mm256_or_si256(part[a], nt_fifth_part(b + 4, a));
            NT_SINK(_mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(q), d), m), i + 8 * a, a);
        }
    }
    return y ? 0.0f : nt_reduce4(acc);
}

/* Q5_K: Q4_K's layout plus a fifth bit per value, bit j of qh[l] for group j. */
static inline __attribute__((always_inline)) float nt_run_q5_k(int64_t n, const void *w, const float *x, float *y)
{
    __m256 acc[4] = NT_ACC_ZERO;
    const __m256i lo4 = _mm256_set1_epi32(0x0F), one = _mm256_set1_epi32(1);
    const unsigned char *b = w;
    for (int64_t i = 0; i < n; i += NT_QK_K, b += NT_Q5_K_BYTES) {
        const float d = nt_f16_hw(b, 0), dmin = nt_f16_hw(b, 2);
        const unsigned char *q = b + 48, *qh = b + 16;
        for (int j = 0; j < 8; j += 2, q += 32) {
            int s0, m0, s1, m1;
            nt_q_scale_min_k4(j, b + 4, &s0, &m0);
            nt_q_scale_min_k4(j + 1, b + 4, &s1, &m1);
            const __m256 d0 = _mm256_set1_ps(d * (float)s0), n0 = _mm256_set1_ps(dmin * (float)m0);
            const __m256 d1 = _mm256_set1_ps(d * (float)s1), n1 = _mm256_set1_ps(dmin * (float)m1);
            const __m128i c0 = _mm_cvtsi32_si128(j), c1 = _mm_cvtsi32_si128(j + 1);
            const int64_t o = i + 32 * j;
            for (int a = 0; a < 4; a++) {
                const __m256i e = nt_u8x8(q + 8 * a), h = nt_u8x8(qh + 8 * a);
                const __m256i f = _mm256_slli_epi32(_mm256_and_si256(_mm256_srl_epi32(h, c0), one), 4);
                const __m256i g = _mm256_slli_epi32(_mm256_and_si256(_mm256_srl_epi32(h, c1), one), 4);
                __m256 lo = _mm256_sub_ps(_mm256_mul_ps(d0, _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_and_si256(e, lo4), f))), n0);
                __m256 hi = _mm256_sub_ps(_mm256_mul_ps(d1, _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_srli_epi32(e, 4), g))), n1);
                NT_SINK(lo, o + 8 * a, a);
                NT_SINK(hi, o + 32 + 8 * a, a);
            }
        }
    }
    return y ? 0.0f : nt_reduce4(acc);
}

static inline __attribute__((always_inline)) float nt_run_q8_0(int64_t n, const void *w, const float *x, float *y)
{
    __m256 acc[4] = NT_ACC_ZERO;
    const unsigned char *b = w;
    for (int64_t i = 0; i < n; i += NT_QK32, b += NT_Q8_0_BYTES) {
        const __m256 d = _mm256_set1_ps(nt_f16_hw(b, 0));
        for (int a = 0; a < 4; a++) {
            __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(b + 2 + 8 * a)));
            NT_SINK(_mm256_mul_ps(_mm256_cvtepi32_ps(q), d), i + 8 * a, a);
        }
    }
    return y ? 0.0f : nt_reduce4(acc);
}

static inline __attribute__((always_inline)) float nt_run_q4_0(int64_t n, const void *w, const float *x, float *y)
{
    __m256 acc[4] = NT_ACC_ZERO;
    const __m128i lo4 = _mm_set1_epi8(0x0F);
    const __m256i eight = _mm256_set1_epi32(8);
    const unsigned char *b = w;
    for (int64_t i = 0; i < n; i += NT_QK32, b += NT_Q4_0_BYTES) {
        const __m256 d = _mm256_set1_ps(nt_f16_hw(b, 0));
        const __m128i q = _mm_loadu_si128((const __m128i *)(b + 2));
        const __m128i lo = _mm_and_si128(q, lo4), hi = _mm_and_si128(_mm_srli_epi16(q, 4), lo4);
        const __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
        for (int a = 0; a < 4; a++) {
            __m256i v = _mm256_sub_epi32(_mm256_cvtepu8_epi32(parts[a]), eight);
            NT_SINK(_mm256_mul_ps(_mm256_cvtepi32_ps(v), d), i + 8 * a, a);
        }
    }
    return y ? 0.0f : nt_reduce4(acc);
}

static inline __attribute__((always_inline)) float nt_run_q4_k(int64_t n, const void *w, const float *x, float *y)
{
    __m256 acc[4] = NT_ACC_ZERO;
    const __m256i lo4 = _mm256_set1_epi32(0x0F);
    const unsigned char *b = w;
    for (int64_t i = 0; i < n; i += NT_QK_K, b += NT_Q4_K_BYTES) {
        const float d = nt_f16_hw(b, 0), dmin = nt_f16_hw(b, 2);
        const unsigned char *q = b + 16;
        for (int j = 0; j < 8; j += 2, q += 32) {
            int s0, m0, s1, m1;
            nt_q_scale_min_k4(j, b + 4, &s0, &m0);
            nt_q_scale_min_k4(j + 1, b + 4, &s1, &m1);
            const __m256 d0 = _mm256_set1_ps(d * (float)s0), n0 = _mm256_set1_ps(dmin * (float)m0);
            const __m256 d1 = _mm256_set1_ps(d * (float)s1), n1 = _mm256_set1_ps(dmin * (float)m1);
            const int64_t o = i + 32 * j;
            for (int a = 0; a < 4; a++) {
                const __m256i e = nt_u8x8(q + 8 * a);
                __m256 lo = _mm256_sub_ps(_mm256_mul_ps(d0, _mm256_cvtepi32_ps(_mm256_and_si256(e, lo4))), n0);
                __m256 hi = _mm256_sub_ps(_mm256_mul_ps(d1, _mm256_cvtepi32_ps(_mm256_srli_epi32(e, 4))), n1);
                NT_SINK(lo, o + 8 * a, a);
                NT_SINK(hi, o + 32 + 8 * a, a);
            }
        }
    }
    return y ? 0.0f : nt_reduce4(acc);
}

static inline __attribute__((always_inline)) float nt_run_q6_k(int64_t n, const void *w, const float *x, float *y)
{
    __m256 acc[4] = NT_ACC_ZERO;
    const __m256i lo4 = _mm256_set1_epi32(0x0F), two = _mm256_set1_epi32(3), bias = _mm256_set1_epi32(32);
    const unsigned char *b = w;
    for (int64_t i = 0; i < n; i += NT_QK_K, b += NT_Q6_K_BYTES) {
        const float d = nt_f16_hw(b, 208);
        const signed char *sc = (const signed char *)(b + 192);
        const unsigned char *ql = b, *qh = b + 128;
        for (int half = 0; half < 2; half++, ql += 64, qh += 32, sc += 8) {
            for (int a = 0; a < 4; a++) { /* l = 8a: values l + 32k all land in accumulator a */
                const int l = 8 * a, is = l / 16;
                const __m256i lo = nt_u8x8(ql + l), hi = nt_u8x8(ql + l + 32), h = nt_u8x8(qh + l);
                __m256i q[4];
                q[0] = _mm256_or_si256(_mm256_and_si256(lo, lo4), _mm256_slli_epi32(_mm256_and_si256(h, two), 4));
                q[1] = _mm256_or_si256(_mm256_and_si256(hi, lo4),
                                       _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(h, 2), two), 4));
                q[2] = _mm256_or_si256(_mm256_srli_epi32(lo, 4),
                                       _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(h, 4), two), 4));
                q[3] = _mm256_or_si256(_mm256_srli_epi32(hi, 4), _mm256_slli_epi32(_mm256_srli_epi32(h, 6), 4));
                const int64_t o = i + 128 * half + l;
                for (int k = 0; k < 4; k++) {
                    const __m256 s = _mm256_set1_ps(d * (float)sc[is + 2 * k]);
                    const __m256 v = _mm256_mul_ps(s, _mm256_cvtepi32_ps(_mm256_sub_epi32(q[k], bias)));
                    NT_SINK(v, o + 32 * k, a);
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
    __m256 acc[4] = NT_ACC_ZERO;
    const __m256i three = _mm256_set1_epi32(3);
    const unsigned char *b = w;
    for (int64_t i = 0; i < n; i += NT_QK_K, b += NT_Q2_K_BYTES) {
        const float d = nt_f16_hw(b, 80), dmin = nt_f16_hw(b, 82);
        for (int h = 0; h < 2; h++)
            for (int a = 0; a < 4; a++) {
                const __m256i q = nt_u8x8(b + 16 + 32 * h + 8 * a);
                for (int j = 0; j < 4; j++) {
                    const int is = 8 * h + 2 * j + a / 2, sc = b[is];
                    const __m256 dl = _mm256_set1_ps(d * (float)(sc & 0x0F)), ml = _mm256_set1_ps(dmin * (float)(sc >> 4));
                    const __m256i v = _mm256_and_si256(_mm256_srl_epi32(q, _mm_cvtsi32_si128(2 * j)), three);
                    NT_SINK(_mm256_sub_ps(_mm256_mul_ps(dl, _mm256_cvtepi32_ps(v)), ml), i + 128 * h + 32 * j + 8 * a, a);
                }
            }
    }
    return y ? 0.0f : nt_reduce4(acc);
}

static inline __attribute__((always_inline)) float nt_run_q3_k(int64_t n, const void *w, const float *x, float *y)
{
    __m256 acc[4] = NT_ACC_ZERO;
    const __m256i three = _mm256_set1_epi32(3), one = _mm256_set1_epi32(1), four = _mm256_set1_epi32(4);
    const unsigned char *b = w;
    for (int64_t i = 0; i < n; i += NT_QK_K, b += NT_Q3_K_BYTES) {
        const float d = nt_f16_hw(b, 108);
        for (int h = 0; h < 2; h++)
            for (int a = 0; a < 4; a++) {
                const __m256i q = nt_u8x8(b + 32 + 32 * h + 8 * a), hm = nt_u8x8(b + 8 * a);
                for (int j = 0; j < 4; j++) {
                    const int is = 8 * h + 2 * j + a / 2;
                    const __m256 dl = _mm256_set1_ps(d * (float)nt_q3k_scale(is, b + 96));
                    const __m256i lo = _mm256_and_si256(_mm256_srl_epi32(q, _mm_cvtsi32_si128(2 * j)), three);
                    const __m256i hb = _mm256_and_si256(_mm256_srl_epi32(hm, _mm_cvtsi32_si128(4 * h + j)), one);
                    const __m256i v = _mm256_sub_epi32(_mm256_add_epi32(lo, _mm256_slli_epi32(hb, 2)), four);
                    NT_SINK(_mm256_mul_ps(dl, _mm256_cvtepi32_ps(v)), i + 128 * h + 32 * j + 8 * a, a);
                }
            }
    }
    return y ? 0.0f : nt_reduce4(acc);
}

#define NT_DEFINE_RUN_EXPORTS(t)                                                \
    float nt_dot_##t##_avx2(int64_t n, const void *w, const float *x)           \
    {                                                                           \
        return nt_run_##t(n, w, x, NULL);                                       \
    }                                                                           \
    void nt_##t##_to_float_avx2(const void *w, float *y, int64_t n) { nt_run_##t(n, w, NULL, y); }

NT_DEFINE_RUN_EXPORTS(q8_0)
NT_DEFINE_RUN_EXPORTS(q4_0)
NT_DEFINE_RUN_EXPORTS(q4_1)
NT_DEFINE_RUN_EXPORTS(q5_0)
NT_DEFINE_RUN_EXPORTS(q5_1)
NT_DEFINE_RUN_EXPORTS(q5_k)
NT_DEFINE_RUN_EXPORTS(q2_k)
NT_DEFINE_RUN_EXPORTS(q3_k)
NT_DEFINE_RUN_EXPORTS(q4_k)
NT_DEFINE_RUN_EXPORTS(q6_k)
