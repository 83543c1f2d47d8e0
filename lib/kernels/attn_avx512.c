/*
 * Attention's inner loops on AVX-512 for F32, F16 and Q8_0 KV rows: the scores of
 * the query heads of one KV head's group against a run of key heads, and
 * the score-weighted sums of the value heads. One call covers every key of
 * a (token, group), so each K and V row is read and converted to floats
 * once for the group's query heads, not once per head: the conversions
 * are exact (F16 to F32; a Q8_0 quant times its F16 scale has at most 19
 * significant bits), so a head's result does not depend on how many heads
 * share a call. The output heads stay in registers (64 values of 4 heads
 * at a time) while the value rows stream past.
 */
#include <immintrin.h>
#include <stdbool.h>
#include <stdint.h>

#include "kernels/attn_head_sizes.h"
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

/* Q8_0 rows ({F16 d; int8 q[32]} blocks; heads are whole blocks): values
 * i .. i + 15 (i a multiple of 16) as floats, d * q exactly. */
static inline __m512 nt_ld_q8_0(const void *p, int64_t i, __mmask16 m)
{
    (void)m; /* heads are whole blocks */
    const unsigned char *blk = (const unsigned char *)p + (i / 32) * 34;
    uint16_t h;
    __builtin_memcpy(&h, blk, sizeof h);
    const __m512 d = _mm512_set1_ps(_mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h))));
    const __m128i q = _mm_loadu_si128((const __m128i *)(blk + 2 + i % 32));
    return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)), d);
}

/* Rows ahead of the one being read, fetched into cache meanwhile: the rows
 * of a deep cache come from memory, and a prefetch changes no result. The
 * rows ahead may lie past the call's (the next call's, usually): a
 * prefetch never faults, so the address is only computed, as an integer. */
#define NT_ATTN_AHEAD 16

static inline void nt_prefetch_rows(const void *p, size_t stride, int64_t r0, int64_t r1, size_t bytes)
{
    for (int64_t r = r0; r < r1; r++)
        for (size_t o = 0; o < bytes; o += 64)
            _mm_prefetch((const char *)((uintptr_t)p + (size_t)r * stride + o), _MM_HINT_T0);
}

/* Heads of up to this many values go through a float buffer once per row
 * for all query heads (F16, Q8_0); longer ones convert per head (the same
 * bits). */
#define NT_ATTN_BUF_HD 256

/* The 16 scores of q against the 16 key heads at kb (row stride `stride`,
 * loaded by LD), their lane sums reduced together (nt_sum16x16). */
#define NT_SCORE16(LD, q, kb, stride, hd, vs, out)                                                     \
    do {                                                                                               \
        __m512 acc_[16];                                                                               \
        for (int u_ = 0; u_ < 16; u_++) acc_[u_] = _mm512_setzero_ps();                                \
        for (int64_t i_ = 0; i_ < (hd); i_ += 16) {                                                    \
            const __mmask16 m_ = (hd) - i_ >= 16 ? (__mmask16)0xFFFF : nt_mask16((hd) - i_);           \
            const __m512 qv_ = _mm512_maskz_loadu_ps(m_, (q) + i_);                                    \
            for (int u_ = 0; u_ < 16; u_++)                                                            \
                acc_[u_] = _mm512_fmadd_ps(qv_, LD((kb) + (size_t)u_ * (stride), i_, m_), acc_[u_]);   \
        }                                                                                              \
        _mm512_storeu_ps((out), _mm512_mul_ps(nt_sum16x16(acc_), (vs)));                               \
    } while (0)

/* One score: a single key's lanes summed alone (the last n % 16 keys). */
#define NT_SCORE1(LD, q, kb, hd, scale, out)                                                           \
    do {                                                                                               \
        __m512 acc_ = _mm512_setzero_ps();                                                             \
        for (int64_t i_ = 0; i_ < (hd); i_ += 16) {                                                    \
            const __mmask16 m_ = (hd) - i_ >= 16 ? (__mmask16)0xFFFF : nt_mask16((hd) - i_);           \
            acc_ = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m_, (q) + i_), LD(kb, i_, m_), acc_);         \
        }                                                                                              \
        *(out) = _mm512_reduce_add_ps(acc_) * (scale);                                                 \
    } while (0)

/* Rows at kb converted to floats in buf, hd apart (row by row). */
#define NT_CONVERT_ROWS(LD, kb, stride, rows, hd, buf)                                                 \
    do {                                                                                               \
        for (int64_t r_ = 0; r_ < (rows); r_++)                                                        \
            for (int64_t i_ = 0; i_ < (hd); i_ += 16) {                                                \
                const __mmask16 m_ = (hd) - i_ >= 16 ? (__mmask16)0xFFFF : nt_mask16((hd) - i_);       \
                _mm512_mask_storeu_ps((buf) + r_ * (hd) + i_, m_, LD((kb) + (size_t)r_ * (stride), i_, m_)); \
            }                                                                                          \
    } while (0)

/* Per row type, rows converted into buf (NT_CONVERT_ROWS). Q8_0 heads are
 * whole blocks: each block's scale is converted once for its 32 quants,
 * not once per 16 (the same products, so the same bits). */
static inline __attribute__((always_inline)) void nt_cvt_rows_f32(const unsigned char *kb, size_t stride,
                                                                   int64_t rows, int64_t hd, float *buf)
{
    NT_CONVERT_ROWS(nt_ld_f32, kb, stride, rows, hd, buf);
}

static inline __attribute__((always_inline)) void nt_cvt_rows_f16(const unsigned char *kb, size_t stride,
                                                                   int64_t rows, int64_t hd, float *buf)
{
    NT_CONVERT_ROWS(nt_ld_f16, kb, stride, rows, hd, buf);
}

static inline __attribute__((always_inline)) void nt_cvt_rows_q8_0(const unsigned char *kb, size_t stride,
                                                                    int64_t rows, int64_t hd, float *buf)
{
    for (int64_t r = 0; r < rows; r++, kb += stride, buf += hd)
        for (int64_t i = 0; i < hd; i += 32) {
            const unsigned char *blk = kb + (i / 32) * 34;
            uint16_t h;
            __builtin_memcpy(&h, blk, sizeof h);
            const __m512 d = _mm512_cvtph_ps(_mm256_set1_epi16((short)h));
            const __m128i q0 = _mm_loadu_si128((const __m128i *)(blk + 2));
            const __m128i q1 = _mm_loadu_si128((const __m128i *)(blk + 18));
            _mm512_storeu_ps(buf + i, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q0)), d));
            _mm512_storeu_ps(buf + i + 16, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q1)), d));
        }
}

/* Values c .. c + 63 of 4 heads (out heads hd apart, weights w_stride
 * apart) summed over n value rows: 16 sums in registers, each row's 64
 * values loaded (and converted) once for the 4 heads. pf_bytes: bytes of
 * each row to prefetch NT_ATTN_AHEAD rows ahead (0: none). */
#define NT_ACCUM4x64(LD, o, hd, w, w_stride, v, stride, n, c, pf_bytes)                                \
    do {                                                                                               \
        float *o0_ = (o), *o1_ = o0_ + (hd), *o2_ = o1_ + (hd), *o3_ = o2_ + (hd);                     \
        const float *w0_ = (w), *w1_ = w0_ + (w_stride), *w2_ = w1_ + (w_stride), *w3_ = w2_ + (w_stride); \
        __m512 a00_ = _mm512_loadu_ps(o0_), a01_ = _mm512_loadu_ps(o0_ + 16), a02_ = _mm512_loadu_ps(o0_ + 32), \
               a03_ = _mm512_loadu_ps(o0_ + 48);                                                       \
        __m512 a10_ = _mm512_loadu_ps(o1_), a11_ = _mm512_loadu_ps(o1_ + 16), a12_ = _mm512_loadu_ps(o1_ + 32), \
               a13_ = _mm512_loadu_ps(o1_ + 48);                                                       \
        __m512 a20_ = _mm512_loadu_ps(o2_), a21_ = _mm512_loadu_ps(o2_ + 16), a22_ = _mm512_loadu_ps(o2_ + 32), \
               a23_ = _mm512_loadu_ps(o2_ + 48);                                                       \
        __m512 a30_ = _mm512_loadu_ps(o3_), a31_ = _mm512_loadu_ps(o3_ + 16), a32_ = _mm512_loadu_ps(o3_ + 32), \
               a33_ = _mm512_loadu_ps(o3_ + 48);                                                       \
        const unsigned char *vb_ = (const unsigned char *)(v);                                         \
        const size_t pfb_ = (pf_bytes);                                                                \
        for (int64_t j_ = 0; j_ < (n); j_++, vb_ += (stride)) {                                        \
            if (pfb_) nt_prefetch_rows(vb_, (stride), NT_ATTN_AHEAD, NT_ATTN_AHEAD + 1, pfb_); \
            const __m512 v0_ = LD(vb_, (c), 0xFFFF), v1_ = LD(vb_, (c) + 16, 0xFFFF);                  \
            const __m512 v2_ = LD(vb_, (c) + 32, 0xFFFF), v3_ = LD(vb_, (c) + 48, 0xFFFF);             \
            __m512 x_ = _mm512_set1_ps(w0_[j_]);                                                       \
            a00_ = _mm512_fmadd_ps(x_, v0_, a00_), a01_ = _mm512_fmadd_ps(x_, v1_, a01_);              \
            a02_ = _mm512_fmadd_ps(x_, v2_, a02_), a03_ = _mm512_fmadd_ps(x_, v3_, a03_);              \
            x_ = _mm512_set1_ps(w1_[j_]);                                                              \
            a10_ = _mm512_fmadd_ps(x_, v0_, a10_), a11_ = _mm512_fmadd_ps(x_, v1_, a11_);              \
            a12_ = _mm512_fmadd_ps(x_, v2_, a12_), a13_ = _mm512_fmadd_ps(x_, v3_, a13_);              \
            x_ = _mm512_set1_ps(w2_[j_]);                                                              \
            a20_ = _mm512_fmadd_ps(x_, v0_, a20_), a21_ = _mm512_fmadd_ps(x_, v1_, a21_);              \
            a22_ = _mm512_fmadd_ps(x_, v2_, a22_), a23_ = _mm512_fmadd_ps(x_, v3_, a23_);              \
            x_ = _mm512_set1_ps(w3_[j_]);                                                              \
            a30_ = _mm512_fmadd_ps(x_, v0_, a30_), a31_ = _mm512_fmadd_ps(x_, v1_, a31_);              \
            a32_ = _mm512_fmadd_ps(x_, v2_, a32_), a33_ = _mm512_fmadd_ps(x_, v3_, a33_);              \
        }                                                                                              \
        _mm512_storeu_ps(o0_, a00_), _mm512_storeu_ps(o0_ + 16, a01_), _mm512_storeu_ps(o0_ + 32, a02_); \
        _mm512_storeu_ps(o0_ + 48, a03_), _mm512_storeu_ps(o1_, a10_), _mm512_storeu_ps(o1_ + 16, a11_); \
        _mm512_storeu_ps(o1_ + 32, a12_), _mm512_storeu_ps(o1_ + 48, a13_), _mm512_storeu_ps(o2_, a20_); \
        _mm512_storeu_ps(o2_ + 16, a21_), _mm512_storeu_ps(o2_ + 32, a22_), _mm512_storeu_ps(o2_ + 48, a23_); \
        _mm512_storeu_ps(o3_, a30_), _mm512_storeu_ps(o3_ + 16, a31_), _mm512_storeu_ps(o3_ + 32, a32_); \
        _mm512_storeu_ps(o3_ + 48, a33_);                                                              \
    } while (0)

/* out += the weighted sums of n value rows for nh heads: 4 heads at a time
 * (NT_ACCUM4x64) where heads are whole 64-value chunks, the rest one head
 * and 64 values at a time; every value's sum runs over the rows in order. */
#define NT_ACCUM_HEADS(LD, out, nh, w, w_stride, v, stride, n, hd, pf_bytes)                           \
    do {                                                                                               \
        int32_t hh_ = 0;                                                                               \
        if ((hd) % 64 == 0)                                                                            \
            for (; hh_ + 4 <= (nh); hh_ += 4)                                                          \
                for (int64_t cc_ = 0; cc_ < (hd); cc_ += 64)                                           \
                    NT_ACCUM4x64(LD, (out) + hh_ * (hd) + cc_, (hd), (w) + hh_ * (w_stride), (w_stride), (v), (stride), \
                                 (n), cc_, hh_ == 0 && cc_ == 0 ? (pf_bytes) : 0);                     \
        for (; hh_ < (nh); hh_++)                                                                      \
            for (int64_t cc_ = 0; cc_ < (hd); cc_ += 64) {                                             \
                __mmask16 mm_[4];                                                                      \
                for (int uu_ = 0; uu_ < 4; uu_++) {                                                    \
                    const int64_t left_ = (hd) - cc_ - 16 * uu_;                                       \
                    mm_[uu_] = left_ >= 16 ? (__mmask16)0xFFFF : left_ > 0 ? nt_mask16(left_) : 0;     \
                }                                                                                      \
                float *oo_ = (out) + hh_ * (hd) + cc_;                                                 \
                const float *wh_ = (w) + hh_ * (w_stride);                                             \
                __m512 s0_ = _mm512_maskz_loadu_ps(mm_[0], oo_), s1_ = _mm512_maskz_loadu_ps(mm_[1], oo_ + 16); \
                __m512 s2_ = _mm512_maskz_loadu_ps(mm_[2], oo_ + 32), s3_ = _mm512_maskz_loadu_ps(mm_[3], oo_ + 48); \
                const unsigned char *vr_ = (const unsigned char *)(v);                                 \
                const size_t pfb_ = hh_ == 0 && cc_ == 0 ? (pf_bytes) : 0;                             \
                for (int64_t jj_ = 0; jj_ < (n); jj_++, vr_ += (stride)) {                             \
                    if (pfb_) nt_prefetch_rows(vr_, (stride), NT_ATTN_AHEAD, NT_ATTN_AHEAD + 1, pfb_); \
                    const __m512 wj_ = _mm512_set1_ps(wh_[jj_]);                                       \
                    s0_ = _mm512_fmadd_ps(wj_, LD(vr_, cc_, mm_[0]), s0_);                             \
                    if (mm_[1]) s1_ = _mm512_fmadd_ps(wj_, LD(vr_, cc_ + 16, mm_[1]), s1_);            \
                    if (mm_[2]) s2_ = _mm512_fmadd_ps(wj_, LD(vr_, cc_ + 32, mm_[2]), s2_);            \
                    if (mm_[3]) s3_ = _mm512_fmadd_ps(wj_, LD(vr_, cc_ + 48, mm_[3]), s3_);            \
                }                                                                                      \
                _mm512_mask_storeu_ps(oo_, mm_[0], s0_);                                               \
                _mm512_mask_storeu_ps(oo_ + 16, mm_[1], s1_);                                          \
                _mm512_mask_storeu_ps(oo_ + 32, mm_[2], s2_);                                          \
                _mm512_mask_storeu_ps(oo_ + 48, mm_[3], s3_);                                          \
            }                                                                                          \
    } while (0)

/* Scores go 16 keys at a time (NT_SCORE16), the last n % 16 keys one at a
 * time; within a group of keys the heads take turns while its rows are in
 * L1. BUF: convert each 16 rows once into floats for all heads (scores and
 * sums), where more than 4 heads share them. The common head sizes (64,
 * 128) get bodies of their own (attn_head_sizes.h), compiled with the size known: unrolled
 * loops without masks or spilled row pointers, the same operations in the
 * same order, so the same bits. */
#define NT_DEFINE_ATTN_AVX512(T, BUF)                                                                  \
    static inline __attribute__((always_inline)) void nt_attn_scores_##T##_body(                       \
        const float *q, int32_t nh, const void *k, size_t stride, int64_t n, int64_t hd, float scale,  \
        float *scores, int64_t sc_stride)                                                              \
    {                                                                                                  \
        const unsigned char *kb = k;                                                                   \
        const __m512 vs = _mm512_set1_ps(scale);                                                       \
        const size_t head_bytes = (size_t)(nt_ld_bytes_##T * (double)hd);                              \
        const bool buffered = (BUF) && nh > 1 && hd <= NT_ATTN_BUF_HD;                                 \
        float buf[16 * NT_ATTN_BUF_HD];                                                                \
        int64_t j = 0;                                                                                 \
        for (; j + 16 <= n; j += 16, kb += 16 * stride) {                                              \
            /* the next 16 rows, a share with each head (not all at once, */                           \
            /* which stalls on the line fill buffers) */                                               \
            const int64_t share = (16 + nh - 1) / nh;                                                  \
            if (buffered) {                                                                            \
                nt_prefetch_rows(kb, stride, NT_ATTN_AHEAD, NT_ATTN_AHEAD + 16, head_bytes);           \
                nt_cvt_rows_##T(kb, stride, 16, hd, buf);                                            \
                const unsigned char *bb = (const unsigned char *)buf;                                  \
                for (int32_t h = 0; h < nh; h++)                                                       \
                    NT_SCORE16(nt_ld_f32, q + h * hd, bb, (size_t)hd * sizeof(float), hd, vs,          \
                               scores + h * sc_stride + j);                                            \
            } else                                                                                     \
                for (int32_t h = 0; h < nh; h++) {                                                     \
                    const int64_t p0 = h * share, p1 = p0 + share < 16 ? p0 + share : 16;              \
                    nt_prefetch_rows(kb, stride, NT_ATTN_AHEAD + p0, NT_ATTN_AHEAD + p1, head_bytes);  \
                    NT_SCORE16(nt_ld_##T, q + h * hd, kb, stride, hd, vs, scores + h * sc_stride + j); \
                }                                                                                      \
        }                                                                                              \
        for (; j < n; j++, kb += stride) {                                                             \
            if (buffered) {                                                                            \
                nt_cvt_rows_##T(kb, stride, 1, hd, buf);                                             \
                for (int32_t h = 0; h < nh; h++)                                                       \
                    NT_SCORE1(nt_ld_f32, q + h * hd, buf, hd, scale, scores + h * sc_stride + j);      \
            } else                                                                                     \
                for (int32_t h = 0; h < nh; h++)                                                       \
                    NT_SCORE1(nt_ld_##T, q + h * hd, kb, hd, scale, scores + h * sc_stride + j);       \
        }                                                                                              \
    }                                                                                                  \
    static inline __attribute__((always_inline)) void nt_attn_accum_##T##_body(                        \
        float *out, int32_t nh, const float *w, int64_t w_stride, const void *v, size_t stride, int64_t n, \
        int64_t hd)                                                                                    \
    {                                                                                                  \
        const size_t head_bytes = (size_t)(nt_ld_bytes_##T * (double)hd);                              \
        if (!(BUF) || nh <= 4 || hd > NT_ATTN_BUF_HD) {                                                \
            NT_ACCUM_HEADS(nt_ld_##T, out, nh, w, w_stride, v, stride, n, hd, head_bytes);             \
            return;                                                                                    \
        }                                                                                              \
        float buf[16 * NT_ATTN_BUF_HD];                                                                \
        const unsigned char *vb = v;                                                                   \
        for (int64_t j = 0; j < n; j += 16, vb += 16 * stride) {                                       \
            const int64_t r = n - j < 16 ? n - j : 16;                                                 \
            nt_prefetch_rows(vb, stride, 16, 32, head_bytes);                                          \
            nt_cvt_rows_##T(vb, stride, r, hd, buf);                                                 \
            NT_ACCUM_HEADS(nt_ld_f32, out, nh, w + j, w_stride, buf, (size_t)hd * sizeof(float), r, hd, 0); \
        }                                                                                              \
    }

/* Bytes per value of each row type, for the prefetches. */
static const double nt_ld_bytes_f32 = 4.0, nt_ld_bytes_f16 = 2.0, nt_ld_bytes_q8_0 = 34.0 / 32.0;

NT_DEFINE_ATTN_AVX512(f32, false)
NT_DEFINE_ATTN_ENTRIES(f32, avx512)
NT_DEFINE_ATTN_AVX512(f16, true)
NT_DEFINE_ATTN_ENTRIES(f16, avx512)
NT_DEFINE_ATTN_AVX512(q8_0, true)
NT_DEFINE_ATTN_ENTRIES(q8_0, avx512)
