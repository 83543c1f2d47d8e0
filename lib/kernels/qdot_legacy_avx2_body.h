/*
 * The body of the AVX2 fast-mode dots, included twice by
 * qdot_legacy_avx2.c: NT_DP(w, x) is the int32 lanes of the byte dot
 * (maddubs or VNNI), NT_V(name) suffixes the names and NT_ATTR is the
 * functions' target attribute. No include guard.
 */

static inline __attribute__((always_inline)) NT_ATTR void NT_V(nt_run)(int t, int64_t n, const unsigned char *w,
                                                              const unsigned char *xq, size_t stride, int K,
                                                              float *out)
{
    const int bytes = nt_ql_bytes(t), off = nt_ql_offset(t);
    const bool has_min = nt_ql_has_min(t);
    const int64_t nb = n / NT_QK32, ng = nb / 8;
    /* a lane of the byte dot is at most 4 * 31 * 127 (Q5_*) or 4 * 15 * 127
     * (Q4_*): sums of two lanes fit in int16 for both, of four for Q4_* */
    const bool small1 = t != NT_QL_Q8_0, small2 = t == NT_QL_Q4_0 || t == NT_QL_Q4_1;
    __m256 acc[NT_DOTK_Q_MAX];
#pragma GCC unroll 4
    for (int u = 0; u < K; u++) acc[u] = _mm256_setzero_ps();
    for (int64_t g = 0; g < ng; g++) {
        const unsigned char *b = w + g * 8 * bytes;
        const size_t xo = (size_t)g * 8 * sizeof(nt_q8a_block);
        __m256i h[NT_DOTK_Q_MAX][2];
#pragma GCC unroll 2
        for (int half = 0; half < 2; half++) {
            __m256i hp[NT_DOTK_Q_MAX][2];
#pragma GCC unroll 2
            for (int j = 0; j < 2; j++) {
                const int blk = 4 * half + 2 * j;
                __m256i w0 = nt_w_block(t, b + blk * bytes), w1 = nt_w_block(t, b + (blk + 1) * bytes);
                const __m256i s0 = w0, s1 = w1;
                if (t == NT_QL_Q8_0) {
                    w0 = _mm256_sign_epi8(w0, w0);
                    w1 = _mm256_sign_epi8(w1, w1);
                }
#pragma GCC unroll 4
                for (int u = 0; u < K; u++) {
                    const nt_q8a_block *x = (const nt_q8a_block *)(xq + u * stride + xo) + blk;
                    __m256i x0 = _mm256_loadu_si256((const __m256i *)x[0].qs);
                    __m256i x1 = _mm256_loadu_si256((const __m256i *)x[1].qs);
                    if (t == NT_QL_Q8_0) {
                        x0 = _mm256_sign_epi8(x0, s0);
                        x1 = _mm256_sign_epi8(x1, s1);
                    }
                    hp[u][j] = nt_pairsum(small1, NT_DP(w0, x0), NT_DP(w1, x1));
                }
            }
#pragma GCC unroll 4
            for (int u = 0; u < K; u++) h[u][half] = nt_pairsum(small2, hp[u][0], hp[u][1]);
        }
        /* the scales by plain loads: gathers are slow on many AVX2 CPUs */
        uint32_t wd[8];
        for (int j = 0; j < 8; j++) memcpy(&wd[j], b + j * bytes, 4);
        const __m256i wg = _mm256_setr_epi32((int)wd[0], (int)wd[1], (int)wd[2], (int)wd[3], (int)wd[4], (int)wd[5], (int)wd[6], (int)wd[7]);
        const __m256 dw = nt_f16_lanes(wg, 0);
        const __m256 m = has_min ? nt_f16_lanes(wg, 1) : _mm256_setzero_ps();
#pragma GCC unroll 4
        for (int u = 0; u < K; u++) {
            const unsigned char *xb = xq + u * stride + xo;
            const nt_q8a_block *xx = (const nt_q8a_block *)xb;
            const __m256 dx = _mm256_setr_ps(xx[0].d, xx[1].d, xx[2].d, xx[3].d, xx[4].d, xx[5].d, xx[6].d, xx[7].d);
            const __m256i s = (off || has_min) ? _mm256_setr_epi32(xx[0].s, xx[1].s, xx[2].s, xx[3].s, xx[4].s, xx[5].s, xx[6].s, xx[7].s)
                                               : _mm256_setzero_si256();
            /* 128-bit lane L of h[u][i]: lane L of blocks 4i..4i+3 */
            __m256i isum = _mm256_add_epi32(_mm256_permute2x128_si256(h[u][0], h[u][1], 0x20),
                                            _mm256_permute2x128_si256(h[u][0], h[u][1], 0x31));
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

/* Up to four tokens per pass: with more, the tokens' partial sums would
 * outgrow the 16 ymm registers; five to eight tokens take a second pass over the
 * row (each token's result is the same either way). */
#define NT_RUN_TYPE(name, T)                                                                        \
    static inline __attribute__((always_inline)) NT_ATTR void NT_V(nt_run4_##name)(                 \
        int64_t n, const unsigned char *w, const unsigned char *xq, size_t stride, int k, float *out) \
    {                                                                                               \
        switch (k) {                                                                                \
        case 1: NT_V(nt_run)(T, n, w, xq, stride, 1, out); break;                                   \
        case 2: NT_V(nt_run)(T, n, w, xq, stride, 2, out); break;                                   \
        case 3: NT_V(nt_run)(T, n, w, xq, stride, 3, out); break;                                   \
        case 4: NT_V(nt_run)(T, n, w, xq, stride, 4, out); break;                                   \
        default: break;                                                                             \
        }                                                                                           \
    }                                                                                               \
    static __attribute__((noinline)) NT_ATTR void NT_V(nt_run_##name)(int64_t n, const void *w, const void *xq, \
                                                              size_t stride, int k, float *out)       \
    {                                                                                               \
        if (k > NT_DOTK_Q_MAX) return;                                                              \
        for (int c = 0; c < k; c += 4)                                                              \
            NT_V(nt_run4_##name)(n, w, (const unsigned char *)xq + (size_t)c * stride, stride,         \
                                 k - c < 4 ? k - c : 4, out + c);                                     \
    }

NT_RUN_TYPE(q4_0, NT_QL_Q4_0)
NT_RUN_TYPE(q4_1, NT_QL_Q4_1)
NT_RUN_TYPE(q5_0, NT_QL_Q5_0)
NT_RUN_TYPE(q5_1, NT_QL_Q5_1)
NT_RUN_TYPE(q8_0, NT_QL_Q8_0)

#undef NT_RUN_TYPE
