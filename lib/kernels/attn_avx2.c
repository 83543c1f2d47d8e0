/*
 * Attention's inner loops on AVX2 for F32, F16 and Q8_0 KV rows (see
 * attn_avx512.c): one call per (token, KV head's group of query heads) for
 * every key. Scores go 8 keys per reduction within each 16 keys of a call
 * (as AVX-512 takes 16), so a key's score does not depend on where a run
 * was split (at multiples of 16); F16 and Q8_0 rows are converted to
 * floats once for all heads (exactly: the bits do not depend on the number
 * of heads); the sums run 2 heads at once, 32 values each in registers.
 */
#include <immintrin.h>
#include <stdbool.h>
#include <string.h>

#include "kernels/attn_head_sizes.h"
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

/* Q8_0 rows ({F16 d; int8 q[32]} blocks; heads are whole blocks): values
 * i .. i + 7 (i a multiple of 8) as floats, d * q exactly. */
static inline __m256 nt_ld_q8_0(const void *p, int64_t i, int64_t r)
{
    (void)r; /* heads are whole blocks */
    const unsigned char *blk = (const unsigned char *)p + (i / 32) * 34;
    uint16_t h;
    memcpy(&h, blk, sizeof h);
    const __m256 d = _mm256_set1_ps(_mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h))));
    const __m128i q = _mm_loadl_epi64((const __m128i *)(blk + 2 + i % 32));
    return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), d);
}

/* The lane sums of 8 vectors as one vector (lane u: v[u]'s sum). */
static inline __m256 nt_sum8x8(const __m256 v[8])
{
    const __m256 t0 = _mm256_hadd_ps(v[0], v[1]), t1 = _mm256_hadd_ps(v[2], v[3]);
    const __m256 t2 = _mm256_hadd_ps(v[4], v[5]), t3 = _mm256_hadd_ps(v[6], v[7]);
    const __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

/* Heads of up to this many values go through a float buffer (F16, Q8_0). */
#define NT_ATTN_BUF_HD 256

/* Per row type T (loaded by nt_ld_T, an exact conversion to floats): the 8
 * scores of head q against 8 rows at kb; one score alone; and the sums of
 * nh heads over n rows, 2 heads (32 values each) at a time. */
#define NT_DEFINE_ATTN_LOOPS_AVX2(T)                                                                       \
    static inline __attribute__((always_inline)) void nt_score8_##T(const float *q, const unsigned char *kb, size_t stride, int64_t hd,   \
                                     float scale, float *out)                                              \
    {                                                                                                      \
        __m256 acc[8];                                                                                     \
        for (int u = 0; u < 8; u++) acc[u] = _mm256_setzero_ps();                                          \
        for (int64_t i = 0; i < hd; i += 8) {                                                              \
            const __m256 qv = nt_ld_f32(q, i, hd - i);                                                     \
            for (int u = 0; u < 8; u++)                                                                    \
                acc[u] = _mm256_fmadd_ps(qv, nt_ld_##T(kb + (size_t)u * stride, i, hd - i), acc[u]);       \
        }                                                                                                  \
        _mm256_storeu_ps(out, _mm256_mul_ps(nt_sum8x8(acc), _mm256_set1_ps(scale)));                       \
    }                                                                                                      \
    static inline __attribute__((always_inline)) float nt_score1_##T(const float *q, const unsigned char *kb, int64_t hd, float scale)    \
    {                                                                                                      \
        __m256 acc = _mm256_setzero_ps();                                                                  \
        for (int64_t i = 0; i < hd; i += 8)                                                                \
            acc = _mm256_fmadd_ps(nt_ld_f32(q, i, hd - i), nt_ld_##T(kb, i, hd - i), acc);                 \
        return nt_hsum8(acc) * scale;                                                                      \
    }                                                                                                      \
    static inline __attribute__((always_inline)) void nt_accum2x32_##T(float *o0, float *o1, bool two, const float *w0, const float *w1,  \
                                        const unsigned char *vb, size_t stride, int64_t n, int64_t c,      \
                                        int64_t hd)                                                        \
    {                                                                                                      \
        const int64_t r0 = hd - c, r1 = r0 - 8, r2 = r0 - 16, r3 = r0 - 24;                                \
        __m256 a0 = nt_ld_f32(o0, c, r0), a1 = nt_ld_f32(o0, c + 8, r1);                                   \
        __m256 a2 = nt_ld_f32(o0, c + 16, r2), a3 = nt_ld_f32(o0, c + 24, r3);                             \
        __m256 b0 = nt_ld_f32(o1, c, r0), b1 = nt_ld_f32(o1, c + 8, r1);                                   \
        __m256 b2 = nt_ld_f32(o1, c + 16, r2), b3 = nt_ld_f32(o1, c + 24, r3);                             \
        for (int64_t j = 0; j < n; j++, vb += stride) {                                                    \
            const __m256 v0 = nt_ld_##T(vb, c, r0);                                                        \
            const __m256 v1 = r1 > 0 ? nt_ld_##T(vb, c + 8, r1) : _mm256_setzero_ps();                     \
            const __m256 v2 = r2 > 0 ? nt_ld_##T(vb, c + 16, r2) : _mm256_setzero_ps();                    \
            const __m256 v3 = r3 > 0 ? nt_ld_##T(vb, c + 24, r3) : _mm256_setzero_ps();                    \
            const __m256 x = _mm256_set1_ps(w0[j]), y = _mm256_set1_ps(w1[j]);                             \
            a0 = _mm256_fmadd_ps(x, v0, a0), b0 = _mm256_fmadd_ps(y, v0, b0);                              \
            a1 = _mm256_fmadd_ps(x, v1, a1), b1 = _mm256_fmadd_ps(y, v1, b1);                              \
            a2 = _mm256_fmadd_ps(x, v2, a2), b2 = _mm256_fmadd_ps(y, v2, b2);                              \
            a3 = _mm256_fmadd_ps(x, v3, a3), b3 = _mm256_fmadd_ps(y, v3, b3);                              \
        }                                                                                                  \
        if (two) { /* o1 aliases o0 otherwise: its sums are stored first, then o0's over them */           \
            nt_store_part(o1 + c, b0, r0), nt_store_part(o1 + c + 8, b1, r1);                              \
            nt_store_part(o1 + c + 16, b2, r2), nt_store_part(o1 + c + 24, b3, r3);                        \
        }                                                                                                  \
        nt_store_part(o0 + c, a0, r0), nt_store_part(o0 + c + 8, a1, r1);                                  \
        nt_store_part(o0 + c + 16, a2, r2), nt_store_part(o0 + c + 24, a3, r3);                            \
    }                                                                                                      \
    static inline __attribute__((always_inline)) void nt_accum_heads_##T(                                  \
        float *out, int32_t nh, const float *w, int64_t w_stride, const unsigned char *vb, size_t stride,  \
        int64_t n, int64_t hd)                                                                             \
    {                                                                                                      \
        for (int32_t h = 0; h < nh; h += 2) {                                                              \
            const bool two = h + 1 < nh;                                                                   \
            float *o0 = out + h * hd, *o1 = two ? o0 + hd : o0;                                            \
            const float *w0 = w + h * w_stride, *w1 = two ? w0 + w_stride : w0;                            \
            for (int64_t c = 0; c < hd; c += 32) nt_accum2x32_##T(o0, o1, two, w0, w1, vb, stride, n, c, hd); \
        }                                                                                                  \
    }

NT_DEFINE_ATTN_LOOPS_AVX2(f32)
NT_DEFINE_ATTN_LOOPS_AVX2(f16)
NT_DEFINE_ATTN_LOOPS_AVX2(q8_0)

/* Rows of type T at kb converted to F32 in buf, hd apart. */
#define NT_CONVERT_ROWS(T, kb, stride, rows, hd, buf)                                                      \
    do {                                                                                                   \
        for (int64_t r_ = 0; r_ < (rows); r_++)                                                            \
            for (int64_t i_ = 0; i_ < (hd); i_ += 8)                                                       \
                nt_store_part((buf) + r_ * (hd) + i_, nt_ld_##T((kb) + (size_t)r_ * (stride), i_, (hd) - i_), \
                              (hd) - i_);                                                                  \
    } while (0)

/* Scores take each 16 keys of a call as two groups of 8, the last n % 16
 * keys one at a time. BUF: F16 and Q8_0 rows are converted once into a
 * float buffer for all heads, 16 rows at a time, where several heads share
 * them and heads are at most NT_ATTN_BUF_HD values; otherwise each head
 * converts in registers (the same bits). Heads of 64 and 128 values get
 * bodies compiled for their size (attn_head_sizes.h: no run-time loops over the head): the
 * same operations in the same order. */
#define NT_DEFINE_ATTN_AVX2(T, BUF)                                                                        \
    static inline __attribute__((always_inline)) void nt_attn_scores_##T##_body(                           \
        const float *q, int32_t nh, const void *k, size_t stride, int64_t n, int64_t hd, float scale,      \
        float *scores, int64_t sc_stride)                                                                  \
    {                                                                                                      \
        const unsigned char *kb = k;                                                                       \
        float buf[16 * NT_ATTN_BUF_HD];                                                                    \
        const bool buffered = (BUF) && nh > 1 && hd <= NT_ATTN_BUF_HD;                                     \
        const unsigned char *bb = (const unsigned char *)buf;                                              \
        const size_t bs = (size_t)hd * sizeof(float);                                                      \
        int64_t j = 0;                                                                                     \
        for (; j + 16 <= n; j += 16, kb += 16 * stride) {                                                  \
            if (buffered) {                                                                                \
                NT_CONVERT_ROWS(T, kb, stride, 16, hd, buf);                                               \
                for (int32_t h = 0; h < nh; h++) {                                                         \
                    nt_score8_f32(q + h * hd, bb, bs, hd, scale, scores + h * sc_stride + j);              \
                    nt_score8_f32(q + h * hd, bb + 8 * bs, bs, hd, scale, scores + h * sc_stride + j + 8); \
                }                                                                                          \
            } else                                                                                         \
                for (int32_t h = 0; h < nh; h++) {                                                         \
                    nt_score8_##T(q + h * hd, kb, stride, hd, scale, scores + h * sc_stride + j);          \
                    nt_score8_##T(q + h * hd, kb + 8 * stride, stride, hd, scale, scores + h * sc_stride + j + 8); \
                }                                                                                          \
        }                                                                                                  \
        for (; j < n; j++, kb += stride) {                                                                 \
            if (buffered) {                                                                                \
                NT_CONVERT_ROWS(T, kb, stride, 1, hd, buf);                                                \
                for (int32_t h = 0; h < nh; h++) scores[h * sc_stride + j] = nt_score1_f32(q + h * hd, bb, hd, scale); \
            } else                                                                                         \
                for (int32_t h = 0; h < nh; h++) scores[h * sc_stride + j] = nt_score1_##T(q + h * hd, kb, hd, scale); \
        }                                                                                                  \
    }                                                                                                      \
    static inline __attribute__((always_inline)) void nt_attn_accum_##T##_body(                            \
        float *out, int32_t nh, const float *w, int64_t w_stride, const void *v, size_t stride, int64_t n, \
        int64_t hd)                                                                                        \
    {                                                                                                      \
        const unsigned char *vb = v;                                                                       \
        if (!(BUF) || nh <= 2 || hd > NT_ATTN_BUF_HD) {                                                    \
            nt_accum_heads_##T(out, nh, w, w_stride, vb, stride, n, hd);                                   \
            return;                                                                                        \
        }                                                                                                  \
        float buf[16 * NT_ATTN_BUF_HD];                                                                    \
        for (int64_t j = 0; j < n; j += 16, vb += 16 * stride) {                                           \
            const int64_t r = n - j < 16 ? n - j : 16;                                                     \
            NT_CONVERT_ROWS(T, vb, stride, r, hd, buf);                                                    \
            nt_accum_heads_f32(out, nh, w + j, w_stride, (const unsigned char *)buf, (size_t)hd * sizeof(float), r, hd); \
        }                                                                                                  \
    }

NT_DEFINE_ATTN_AVX2(f32, false)
NT_DEFINE_ATTN_ENTRIES(f32, avx2)
NT_DEFINE_ATTN_AVX2(f16, true)
NT_DEFINE_ATTN_ENTRIES(f16, avx2)
NT_DEFINE_ATTN_AVX2(q8_0, true)
NT_DEFINE_ATTN_ENTRIES(q8_0, avx2)
