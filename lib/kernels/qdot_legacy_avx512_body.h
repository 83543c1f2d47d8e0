/*
 * The body of the AVX-512 fast-mode dots, included twice by
 * qdot_legacy_avx512.c: NT_DP(w, x) is the int32 lanes of the byte dot
 * (maddubs or VNNI) and NT_V(name) suffixes the names. No include guard.
 */

static inline __attribute__((always_inline)) void NT_V(nt_run)(int t, int64_t n, const unsigned char *w,
                                                              const unsigned char *xq, size_t stride, int K,
                                                              float *out)
{
    const int bytes = nt_ql_bytes(t), off = nt_ql_offset(t);
    const bool has_min = nt_ql_has_min(t);
    const int64_t nb = n / NT_QK32, ng = nb / 8;
    const __m256i order = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    const __m256i widx = _mm256_mullo_epi32(order, _mm256_set1_epi32(bytes));
    const __m256i xidx = _mm256_mullo_epi32(order, _mm256_set1_epi32((int)sizeof(nt_q8a_block)));
    __m256 acc[NT_DOTK_Q_MAX];
#pragma GCC unroll 4
    for (int u = 0; u < K; u++) acc[u] = _mm256_setzero_ps();
    for (int64_t g = 0; g < ng; g++) {
        const unsigned char *b = w + g * 8 * bytes;
        const size_t xo = (size_t)g * 8 * sizeof(nt_q8a_block);
        __m512i p[NT_DOTK_Q_MAX][4];
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            __m512i wv = nt_w_pair(t, b + 2 * j * bytes);
            __mmask64 neg = 0;
            if (t == NT_QL_Q8_0) {
                neg = _mm512_movepi8_mask(wv);
                wv = _mm512_abs_epi8(wv);
            }
#pragma GCC unroll 4
            for (int u = 0; u < K; u++) {
                __m512i xv = nt_x_pair((const nt_q8a_block *)(xq + u * stride + xo) + 2 * j);
                if (t == NT_QL_Q8_0) xv = _mm512_mask_sub_epi8(xv, neg, _mm512_setzero_si512(), xv);
                p[u][j] = NT_DP(wv, xv);
            }
        }
        const __m256i wg = _mm256_i32gather_epi32((const int *)b, widx, 1);
        const __m256 dw = _mm256_cvtph_ps(_mm256_cvtepi32_epi16(wg));
        const __m256 m = has_min ? _mm256_cvtph_ps(_mm256_cvtepi32_epi16(_mm256_srli_epi32(wg, 16)))
                                 : _mm256_setzero_ps();
#pragma GCC unroll 4
        for (int u = 0; u < K; u++) {
            /* (d, s) of the eight activation blocks, as 64-bit pairs */
            const __m512i ds = _mm512_i32gather_epi64(xidx, (const void *)(xq + u * stride + xo), 1);
            const __m256 dx = _mm256_castsi256_ps(_mm512_cvtepi64_epi32(ds));
            const __m256i s = _mm512_cvtepi64_epi32(_mm512_srli_epi64(ds, 32));
            __m256i isum = nt_reduce8(p[u]);
            if (off) isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(s, off == 8 ? 3 : 4));
            __m256 c = _mm256_mul_ps(_mm256_mul_ps(dw, dx), _mm256_cvtepi32_ps(isum));
            if (has_min) c = _mm256_add_ps(c, _mm256_mul_ps(_mm256_mul_ps(m, dx), _mm256_cvtepi32_ps(s)));
            acc[u] = _mm256_add_ps(acc[u], c);
        }
    }
    float tail[NT_DOTK_Q_MAX] = {0};
    nt_ql_blocks_scalar(t, ng * 8, nb, w, xq, stride, K, tail);
#pragma GCC unroll 4
    for (int u = 0; u < K; u++) out[u] = nt_hsum8(acc[u]) + tail[u];
}

#define NT_RUN_TYPE(name, T)                                                                        \
    static __attribute__((noinline)) void NT_V(nt_run_##name)(int64_t n, const void *w, const void *xq, \
                                                              size_t stride, int k, float *out)       \
    {                                                                                               \
        switch (k) {                                                                                \
        case 1: NT_V(nt_run)(T, n, w, xq, stride, 1, out); break;                                   \
        case 2: NT_V(nt_run)(T, n, w, xq, stride, 2, out); break;                                   \
        case 3: NT_V(nt_run)(T, n, w, xq, stride, 3, out); break;                                   \
        case 4: NT_V(nt_run)(T, n, w, xq, stride, 4, out); break;                                   \
        default: break;                                                                             \
        }                                                                                           \
    }

NT_RUN_TYPE(q4_0, NT_QL_Q4_0)
NT_RUN_TYPE(q4_1, NT_QL_Q4_1)
NT_RUN_TYPE(q5_0, NT_QL_Q5_0)
NT_RUN_TYPE(q5_1, NT_QL_Q5_1)
NT_RUN_TYPE(q8_0, NT_QL_Q8_0)

#undef NT_RUN_TYPE
