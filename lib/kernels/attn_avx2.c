/*
 * Attention's inner loops on AVX2 for F32, F16 and Q8_0 KV rows (see
 * attn_avx512.c): one call per (token, head) for every key; the output
 * head stays in registers, 32 values at a time.
 */
#include <immintrin.h>
#include <string.h>

#include "kernels/kernels_isa.h"

/* Eight values from p + i, the first `r` of them (r >= 8: all; r <= 0:
 * none, zeros). */
static inline __m256 nt_ld_f32(const void *p, int64_t i, int64_t r)
{
    const float *f = (const float *)p + i;
    if (r >= 8) return _mm256_loadu_ps(f);
    if (r <= 0) return _mm256_setzero_ps();
    float t[8] = {0};
    memcpy(t, f, (size_t)r * sizeof *t);
    return _mm256_loadu_ps(t);
}

static inline __m256 nt_ld_f16(const void *p, int64_t i, int64_t r)
{
    const uint16_t *h = (const uint16_t *)p + i;
    if (r >= 8) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)h));
    uint16_t t[8] = {0};
    memcpy(t, h, (size_t)r * sizeof *t);
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)t));
}

static inline float nt_hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline void nt_store_part(float *out, __m256 v, int64_t r)
{
    if (r <= 0) return;
    if (r >= 8) {
        _mm256_storeu_ps(out, v);
        return;
    }
    float t[8];
    _mm256_storeu_ps(t, v);
    memcpy(out, t, (size_t)r * sizeof *t);
}

#define NT_DEFINE_ATTN_AVX2(T)                                                                      \
    static void scores1_##T(const float *q, const void *k, size_t stride, int64_t n,                \
                                   int64_t hd, float scale, float *scores)                         \
    {                                                                                               \
        const unsigned char *kb = k;                                                                \
        for (int64_t j = 0; j < n; j++, kb += stride) {                                             \
            __m256 acc = _mm256_setzero_ps();                                                       \
            for (int64_t i = 0; i < hd; i += 8)                                                     \
                acc = _mm256_fmadd_ps(nt_ld_f32(q, i, hd - i), nt_ld_##T(kb, i, hd - i), acc);      \
            scores[j] = nt_hsum8(acc) * scale;                                                      \
        }                                                                                           \
    }                                                                                               \
    static void accum1_##T(float *out, const float *w, const void *v, size_t stride,                \
                                  int64_t n, int64_t hd)                                            \
    {                                                                                               \
        for (int64_t c = 0; c < hd; c += 32) {                                                      \
            const int64_t r0 = hd - c, r1 = r0 - 8, r2 = r0 - 16, r3 = r0 - 24;                     \
            __m256 a0 = nt_ld_f32(out, c, r0), a1 = nt_ld_f32(out, c + 8, r1);                      \
            __m256 a2 = nt_ld_f32(out, c + 16, r2), a3 = nt_ld_f32(out, c + 24, r3);                \
            const unsigned char *vb = v;                                                            \
            for (int64_t j = 0; j < n; j++, vb += stride) {                                         \
                const __m256 wj = _mm256_set1_ps(w[j]);                                             \
                a0 = _mm256_fmadd_ps(wj, nt_ld_##T(vb, c, r0), a0);                                 \
                if (r1 > 0) a1 = _mm256_fmadd_ps(wj, nt_ld_##T(vb, c + 8, r1), a1);                 \
                if (r2 > 0) a2 = _mm256_fmadd_ps(wj, nt_ld_##T(vb, c + 16, r2), a2);                \
                if (r3 > 0) a3 = _mm256_fmadd_ps(wj, nt_ld_##T(vb, c + 24, r3), a3);                \
            }                                                                                       \
            nt_store_part(out + c, a0, r0);                                                         \
            nt_store_part(out + c + 8, a1, r1);                                                     \
            nt_store_part(out + c + 16, a2, r2);                                                    \
            nt_store_part(out + c + 24, a3, r3);                                                    \
        }                                                                                           \
    }

NT_DEFINE_ATTN_AVX2(f32)
NT_DEFINE_ATTN_AVX2(f16)

/* Q8_0 rows ({F16 d; int8 q[32]} blocks; heads are whole blocks): 8 values
 * of a block's quants from byte `at`, as floats. */
static inline __m256 nt_q8_8(const unsigned char *blk, int at)
{
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(blk + 2 + at))));
}

static inline float nt_q8_d(const unsigned char *blk)
{
    uint16_t h;
    memcpy(&h, blk, sizeof h);
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}

static void scores1_q8_0(const float *q, const void *k, size_t stride, int64_t n, int64_t hd, float scale,
                        float *scores)
{
    const unsigned char *kb = k;
    const int64_t nb = hd / 32;
    for (int64_t j = 0; j < n; j++, kb += stride) {
        __m256 acc = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const unsigned char *blk = kb + b * 34;
            const float *qb = q + 32 * b;
            __m256 t = _mm256_mul_ps(_mm256_loadu_ps(qb), nt_q8_8(blk, 0));
            t = _mm256_fmadd_ps(_mm256_loadu_ps(qb + 8), nt_q8_8(blk, 8), t);
            t = _mm256_fmadd_ps(_mm256_loadu_ps(qb + 16), nt_q8_8(blk, 16), t);
            t = _mm256_fmadd_ps(_mm256_loadu_ps(qb + 24), nt_q8_8(blk, 24), t);
            acc = _mm256_fmadd_ps(t, _mm256_set1_ps(nt_q8_d(blk)), acc);
        }
        scores[j] = nt_hsum8(acc) * scale;
    }
}

static void accum1_q8_0(float *out, const float *w, const void *v, size_t stride, int64_t n, int64_t hd)
{
    const int64_t nb = hd / 32;
    for (int64_t b = 0; b < nb; b++) { /* one block (32 values) in registers */
        __m256 a0 = _mm256_loadu_ps(out + 32 * b), a1 = _mm256_loadu_ps(out + 32 * b + 8);
        __m256 a2 = _mm256_loadu_ps(out + 32 * b + 16), a3 = _mm256_loadu_ps(out + 32 * b + 24);
        const unsigned char *vb = (const unsigned char *)v + b * 34;
        for (int64_t j = 0; j < n; j++, vb += stride) {
            const __m256 s = _mm256_set1_ps(w[j] * nt_q8_d(vb));
            a0 = _mm256_fmadd_ps(s, nt_q8_8(vb, 0), a0);
            a1 = _mm256_fmadd_ps(s, nt_q8_8(vb, 8), a1);
            a2 = _mm256_fmadd_ps(s, nt_q8_8(vb, 16), a2);
            a3 = _mm256_fmadd_ps(s, nt_q8_8(vb, 24), a3);
        }
        _mm256_storeu_ps(out + 32 * b, a0);
        _mm256_storeu_ps(out + 32 * b + 8, a1);
        _mm256_storeu_ps(out + 32 * b + 16, a2);
        _mm256_storeu_ps(out + 32 * b + 24, a3);
    }
}

/* The group's query heads one after the other (each row is read from
 * cache again for each head; the bits are those of one head alone). */
#define NT_DEFINE_ATTN_HEADS_AVX2(T)                                                                   \
    void nt_attn_scores_##T##_avx2(const float *q, int32_t nh, const void *k, size_t stride, int64_t n, \
                                   int64_t hd, float scale, float *scores, int64_t sc_stride)         \
    {                                                                                                  \
        for (int32_t h = 0; h < nh; h++) scores1_##T(q + h * hd, k, stride, n, hd, scale, scores + h * sc_stride); \
    }                                                                                                  \
    void nt_attn_accum_##T##_avx2(float *out, int32_t nh, const float *w, int64_t w_stride, const void *v, \
                                  size_t stride, int64_t n, int64_t hd)                                \
    {                                                                                                  \
        for (int32_t h = 0; h < nh; h++) accum1_##T(out + h * hd, w + h * w_stride, v, stride, n, hd);  \
    }

NT_DEFINE_ATTN_HEADS_AVX2(f32)
NT_DEFINE_ATTN_HEADS_AVX2(f16)
NT_DEFINE_ATTN_HEADS_AVX2(q8_0)
