/* The one horizontal sum of the AVX-512 dots, written out rather than left
 * to _mm512_reduce_add_ps so that its order is ours on every compiler: the
 * GEMM tiles (kernels_avx512.c) sum sixteen vectors at once with shuffles
 * and must land on the same bits as a dot summing one. */
#ifndef NT_KERNELS_HSUM_AVX512_H
#define NT_KERNELS_HSUM_AVX512_H

#include <immintrin.h>

/* ((v0 + v8) + (v4 + v12)) + ((v2 + v10) + (v6 + v14)) + ... : halves of
 * 256, 128, 64 and 32 bits added in turn. */
static inline float nt_hsum512(__m512 v)
{
    __m256 s = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 u = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    u = _mm_add_ps(u, _mm_movehl_ps(u, u));
    u = _mm_add_ss(u, _mm_movehdup_ps(u));
    return _mm_cvtss_f32(u);
}

/* nt_hsum512 of sixteen vectors at once, each level of the tree done for
 * several vectors by one add of two shuffled registers. Lane 4q + m of the
 * result is the sum of v[q + 4m]. */
static inline __m512 nt_hsum512x16(const __m512 v[16])
{
    __m512 l1[8], l2[4], l3[2];
    for (int k = 0; k < 8; k++) /* [lo256 of a, lo256 of b] + [hi256 of a, hi256 of b] */
        l1[k] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], 0x44),
                              _mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], 0xEE));
    for (int k = 0; k < 4; k++) /* quarters 0, 2 of each + quarters 1, 3 */
        l2[k] = _mm512_add_ps(_mm512_shuffle_f32x4(l1[2 * k], l1[2 * k + 1], 0x88),
                              _mm512_shuffle_f32x4(l1[2 * k], l1[2 * k + 1], 0xDD));
    for (int k = 0; k < 2; k++) /* in each quarter: lanes 0, 1 + lanes 2, 3 */
        l3[k] = _mm512_add_ps(_mm512_shuffle_ps(l2[2 * k], l2[2 * k + 1], 0x44),
                              _mm512_shuffle_ps(l2[2 * k], l2[2 * k + 1], 0xEE));
    /* lane 0 + lane 1 */
    return _mm512_add_ps(_mm512_shuffle_ps(l3[0], l3[1], 0x88), _mm512_shuffle_ps(l3[0], l3[1], 0xDD));
}

#endif
