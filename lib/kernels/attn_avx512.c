/*
 * Attention's inner loops on AVX-512 for F32 and F16 KV rows: the scores of
 * one query head against a run of key heads, and the score-weighted sum of
 * the value heads. One call covers every key of a (token, head), so no
 * call or reload of the output happens per key; the output head stays in
 * registers (64 values at a time) while the value rows stream past.
 */
#include <immintrin.h>

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

#define NT_DEFINE_ATTN_AVX512(T)                                                                       \
    void nt_attn_scores_##T##_avx512(const float *q, const void *k, size_t stride, int64_t n,          \
                                     int64_t hd, float scale, float *scores)                          \
    {                                                                                                  \
        const unsigned char *kb = k;                                                                   \
        for (int64_t j = 0; j < n; j++, kb += stride) {                                                \
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
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                                \
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
