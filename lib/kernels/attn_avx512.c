/*
 * Attention's inner loops on AVX-512 for F32, F16 and Q8_0 KV rows: the scores of
 * one query head against a run of key heads, and the score-weighted sum of
 * the value heads. One call covers every key of a (token, head), so no
 * call or reload of the output happens per key; the output head stays in
 * registers (64 values at a time) while the value rows stream past.
 */
#include <immintrin.h>
#include <stdbool.h>
#include <stdint.h>

#include "kernels/kernels_isa.h"

static inline __mmask16 nt_mask16(int64_t r) { return (__mmask16)((1u << r) - 1u); }

static inline __m512 nt_ld_f32(const void *p, int64_t i, __mmask16 m)
{
    return _mm512_maskz_loadu_ps(m, (const float *)p + i);
}

static inline __m512 nt_ld_f16(const void *p, int64_t i, __mmask16 m)
{
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t *)p + i));
}

/* The sums of 16 vectors' lanes, as one vector: lane u is the sum of v[u]'s
 * lanes (pairs within 128-bit chunks, then the chunks). */
static inline __m512 nt_sum16x16(const __m512 v[16])
{
    __m512 w[4];
    for (int g = 0; g < 4; g++) {
        const __m512 *a = v + 4 * g;
        const __m512 r01 = _mm512_add_ps(_mm512_unpacklo_ps(a[0], a[1]), _mm512_unpackhi_ps(a[0], a[1]));
        const __m512 r23 = _mm512_add_ps(_mm512_unpacklo_ps(a[2], a[3]), _mm512_unpackhi_ps(a[2], a[3]));
        /* per 128-bit chunk: partial sums of a[0], a[1], a[2], a[3] */
        w[g] = _mm512_add_ps(_mm512_shuffle_ps(r01, r23, 0x44), _mm512_shuffle_ps(r01, r23, 0xEE));
    }
    const __m512 x01 = _mm512_add_ps(_mm512_shuffle_f32x4(w[0], w[1], 0x44), _mm512_shuffle_f32x4(w[0], w[1], 0xEE));
    const __m512 x23 = _mm512_add_ps(_mm512_shuffle_f32x4(w[2], w[3], 0x44), _mm512_shuffle_f32x4(w[2], w[3], 0xEE));
    return _mm512_add_ps(_mm512_shuffle_f32x4(x01, x23, 0x88), _mm512_shuffle_f32x4(x01, x23, 0xDD));
}

/* Scores go 16 keys at a time, their lane sums reduced together
 * (nt_sum16x16); the last n % 16 keys one at a time. */
#define NT_DEFINE_ATTN_AVX512(T)                                                                       \
    void nt_attn_scores_##T##_avx512(const float *q, const void *k, size_t stride, int64_t n,          \
                                     int64_t hd, float scale, float *scores)                          \
    {                                                                                                  \
        const unsigned char *kb = k;                                                                   \
        const __m512 vs = _mm512_set1_ps(scale);                                                       \
        int64_t j = 0;                                                                                 \
        for (; j + 16 <= n; j += 16, kb += 16 * stride) {                                              \
            __m512 acc[16];                                                                            \
            for (int u = 0; u < 16; u++) acc[u] = _mm512_setzero_ps();                                 \
            for (int64_t i = 0; i < hd; i += 16) {                                                     \
                const __mmask16 m = hd - i >= 16 ? (__mmask16)0xFFFF : nt_mask16(hd - i);             \
                const __m512 qv = _mm512_maskz_loadu_ps(m, q + i);                                     \
                for (int u = 0; u < 16; u++)                                                           \
                    acc[u] = _mm512_fmadd_ps(qv, nt_ld_##T(kb + (size_t)u * stride, i, m), acc[u]);   \
            }                                                                                          \
            _mm512_storeu_ps(scores + j, _mm512_mul_ps(nt_sum16x16(acc), vs));                         \
        }                                                                                              \
        for (; j < n; j++, kb += stride) {                                                             \
            __m512 acc = _mm512_setzero_ps();                                                          \
            for (int64_t i = 0; i < hd; i += 16) {                                                     \
                const __mmask16 m = hd - i >= 16 ? (__mmask16)0xFFFF : nt_mask16(hd - i);             \
                acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + i), nt_ld_##T(kb, i, m), acc);      \
            }                                                                                          \
            scores[j] = _mm512_reduce_add_ps(acc) * scale;                                             \
        }                                                                                              \
    }                                                                                                  \
    void nt_attn_accum_##T##_avx512(float *out, const float *w, const void *v, size_t stride,          \
                                    int64_t n, int64_t hd)                                             \
    {                                                                                                  \
        for (int64_t c = 0; c < hd; c += 64) {                                                         \
            __mmask16 m[4];                                                                            \
            for (int u = 0; u < 4; u++) {                                                              \
                const int64_t left = hd - c - 16 * u;                                                  \
                m[u] = left >= 16 ? (__mmask16)0xFFFF : left > 0 ? nt_mask16(left) : 0;                \
            }                                                                                          \
            __m512 a0 = _mm512_maskz_loadu_ps(m[0], out + c), a1 = _mm512_maskz_loadu_ps(m[1], out + c + 16); \
            __m512 a2 = _mm512_maskz_loadu_ps(m[2], out + c + 32), a3 = _mm512_maskz_loadu_ps(m[3], out + c + 48); \
            const unsigned char *vb = v;                                                               \
            for (int64_t j = 0; j < n; j++, vb += stride) {                                            \
                const __m512 wj = _mm512_set1_ps(w[j]);                                                \
                a0 = _mm512_fmadd_ps(wj, nt_ld_##T(vb, c, m[0]), a0);                                  \
                if (m[1]) a1 = _mm512_fmadd_ps(wj, nt_ld_##T(vb, c + 16, m[1]), a1);                   \
                if (m[2]) a2 = _mm512_fmadd_ps(wj, nt_ld_##T(vb, c + 32, m[2]), a2);                   \
                if (m[3]) a3 = _mm512_fmadd_ps(wj, nt_ld_##T(vb, c + 48, m[3]), a3);                   \
            }                                                                                          \
            _mm512_mask_storeu_ps(out + c, m[0], a0);                                                  \
            _mm512_mask_storeu_ps(out + c + 16, m[1], a1);                                             \
            _mm512_mask_storeu_ps(out + c + 32, m[2], a2);                                             \
            _mm512_mask_storeu_ps(out + c + 48, m[3], a3);                                             \
        }                                                                                              \
    }

NT_DEFINE_ATTN_AVX512(f32)
NT_DEFINE_ATTN_AVX512(f16)

/* Q8_0 rows ({F16 d; int8 q[32]} blocks; heads are whole blocks): 16
 * values of block b's quants from byte `at`, as floats. */
static inline __m512 nt_q8_16(const unsigned char *blk, int at)
{
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk + 2 + at))));
}

static inline float nt_q8_d(const unsigned char *blk)
{
    uint16_t h;
    __builtin_memcpy(&h, blk, sizeof h);
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}

void nt_attn_scores_q8_0_avx512(const float *q, const void *k, size_t stride, int64_t n, int64_t hd, float scale,
                                float *scores)
{
    const unsigned char *kb = k;
    const int64_t nb = hd / 32;
    for (int64_t j = 0; j < n; j++, kb += stride) {
        __m512 acc = _mm512_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const unsigned char *blk = kb + b * 34;
            const __m512 d = _mm512_set1_ps(nt_q8_d(blk));
            const __m512 t = _mm512_fmadd_ps(_mm512_loadu_ps(q + 32 * b + 16), nt_q8_16(blk, 16),
                                             _mm512_mul_ps(_mm512_loadu_ps(q + 32 * b), nt_q8_16(blk, 0)));
            acc = _mm512_fmadd_ps(t, d, acc);
        }
        scores[j] = _mm512_reduce_add_ps(acc) * scale;
    }
}

void nt_attn_accum_q8_0_avx512(float *out, const float *w, const void *v, size_t stride, int64_t n, int64_t hd)
{
    const int64_t nb = hd / 32;
    for (int64_t b0 = 0; b0 < nb; b0 += 2) { /* two blocks (64 values) in registers */
        const bool two = b0 + 1 < nb;
        const __mmask16 m2 = two ? (__mmask16)0xFFFF : 0;
        __m512 a0 = _mm512_loadu_ps(out + 32 * b0), a1 = _mm512_loadu_ps(out + 32 * b0 + 16);
        __m512 a2 = _mm512_maskz_loadu_ps(m2, out + 32 * b0 + 32), a3 = _mm512_maskz_loadu_ps(m2, out + 32 * b0 + 48);
        const unsigned char *vb = (const unsigned char *)v + b0 * 34;
        for (int64_t j = 0; j < n; j++, vb += stride) {
            const __m512 s0 = _mm512_set1_ps(w[j] * nt_q8_d(vb));
            a0 = _mm512_fmadd_ps(s0, nt_q8_16(vb, 0), a0);
            a1 = _mm512_fmadd_ps(s0, nt_q8_16(vb, 16), a1);
            if (two) {
                const __m512 s1 = _mm512_set1_ps(w[j] * nt_q8_d(vb + 34));
                a2 = _mm512_fmadd_ps(s1, nt_q8_16(vb + 34, 0), a2);
                a3 = _mm512_fmadd_ps(s1, nt_q8_16(vb + 34, 16), a3);
            }
        }
        _mm512_storeu_ps(out + 32 * b0, a0);
        _mm512_storeu_ps(out + 32 * b0 + 16, a1);
        if (two) {
            _mm512_storeu_ps(out + 32 * b0 + 32, a2);
            _mm512_storeu_ps(out + 32 * b0 + 48, a3);
        }
    }
}
