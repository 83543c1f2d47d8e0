/*
 * The body of the AVX-512 fast-mode dots, included twice by
 * qdot_legacy_avx512.c: NT_DP(w, x) is the int32 lanes of the byte dot
 * (maddubs or VNNI), NT_V(name) suffixes the names and NT_ATTR is the
 * functions' target attribute. No include guard.
 */

/* One group of 16 blocks (G = 16) or 8 (G = 8, lanes 8..15 zero) at b for
 * K tokens, their activations the nt_q8a blocks at xq: each token's 16
 * block results c_b into acc[u]. The group's weight pairs are unpacked into
 * registers once (up to 8 zmm, and 8 sign masks for Q8_0), and then each
 * token in turn runs its whole reduction tree and float step over them:
 * with up to NT_DOTK_Q_MAX = 8 tokens, keeping every token's tree alive at
 * once would need more registers than there are. Each token's operations
 * are the same whatever K is. */
static inline __attribute__((always_inline)) NT_ATTR void NT_V(nt_group)(int t, int G, const unsigned char *b,
                                                                const unsigned char *xq, size_t stride, int K,
                                                                __m512 *acc)
{
    const int bytes = nt_ql_bytes(t), off = nt_ql_offset(t);
    const bool has_min = nt_ql_has_min(t);
    /* the block order nt_tree16 leaves its sums in */
    const __m512i order = _mm512_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15);
    __m512i wv[8];
    __mmask64 neg[8];
#pragma GCC unroll 8
    for (int pair = 0; pair < G / 2; pair++) {
        wv[pair] = nt_w_pair(t, b + 2 * pair * bytes);
        neg[pair] = 0;
        if (t == NT_QL_Q8_0) {
            neg[pair] = _mm512_movepi8_mask(wv[pair]);
            wv[pair] = _mm512_abs_epi8(wv[pair]);
        }
    }
    __m512 dw, m;
    nt_w_scales(t, G, b, &dw, &m);
#pragma GCC unroll 8
    for (int u = 0; u < K; u++) {
        __m512i half[2];
#pragma GCC unroll 2
        for (int h = 0; h < G / 8; h++) {
            __m512i tq[2];
#pragma GCC unroll 2
            for (int q = 0; q < 2; q++) {
                __m512i pp[2];
#pragma GCC unroll 2
                for (int j = 0; j < 2; j++) {
                    const int pair = 4 * h + 2 * q + j; /* blocks 2 pair, 2 pair + 1 */
                    __m512i xv = nt_x_pair((const nt_q8a_block *)(xq + u * stride) + 2 * pair);
                    if (t == NT_QL_Q8_0) xv = _mm512_mask_sub_epi8(xv, neg[pair], _mm512_setzero_si512(), xv);
                    pp[j] = NT_DP(wv[pair], xv);
                }
                tq[q] = nt_merge1(t, pp[0], pp[1]);
            }
            half[h] = nt_merge2(t, tq[0], tq[1]);
        }
        /* (d, s) of the blocks, as 64-bit pairs, split into d and s */
        const __m256i xidx0 = _mm256_mullo_epi32(_mm512_castsi512_si256(order), _mm256_set1_epi32((int)sizeof(nt_q8a_block)));
        const __m256i xidx1 = _mm256_mullo_epi32(_mm512_extracti64x4_epi64(order, 1), _mm256_set1_epi32((int)sizeof(nt_q8a_block)));
        const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
        const unsigned char *xb = xq + u * stride;
        const __m512i g0 = _mm512_i32gather_epi64(xidx0, (const void *)xb, 1);
        const __m512i g1 = G == 16 ? _mm512_i32gather_epi64(xidx1, (const void *)xb, 1) : _mm512_setzero_si512();
        const __m512 dx = _mm512_castsi512_ps(_mm512_permutex2var_epi32(g0, even, g1));
        const __m512i s = _mm512_permutex2var_epi32(g0, odd, g1);
        __m512i isum = nt_tree_last(half[0], G == 16 ? half[1] : _mm512_setzero_si512());
        if (off) isum = _mm512_sub_epi32(isum, _mm512_slli_epi32(s, off == 8 ? 3 : 4));
        __m512 c = _mm512_mul_ps(_mm512_mul_ps(dw, dx), _mm512_cvtepi32_ps(isum));
        if (has_min) c = _mm512_add_ps(c, _mm512_mul_ps(_mm512_mul_ps(m, dx), _mm512_cvtepi32_ps(s)));
        acc[u] = _mm512_add_ps(acc[u], c);
    }
}

/* The same group with the activations packed (qdot.h nt_q8a_pack) at xp:
 * each register holds four blocks' halves, one block per 128-bit lane, so
 * a block's two halves add in one chain of byte dots and a group reduces
 * in two merge steps; one permutation puts the blocks in nt_group's lane
 * order, and the float step is nt_group's: each token's c_b are the same
 * bits. */
static inline __attribute__((always_inline)) NT_ATTR void NT_V(nt_group_p)(int t, int G, const unsigned char *b,
                                                                  const unsigned char *xp, size_t stride, int K,
                                                                  __m512 *acc)
{
    const int bytes = nt_ql_bytes(t), off = nt_ql_offset(t);
    const bool has_min = nt_ql_has_min(t);
    /* lane 4 L + q of the merged quads is block 4 q + L: to `order` */
    const __m512i to_order = _mm512_setr_epi32(0, 8, 1, 9, 4, 12, 5, 13, 2, 10, 3, 11, 6, 14, 7, 15);
    __m512i lo[4], hi[4];
    __mmask64 nlo[4], nhi[4];
#pragma GCC unroll 4
    for (int q = 0; q < G / 4; q++) {
        nt_w_quad(t, b + 4 * q * bytes, &lo[q], &hi[q]);
        nlo[q] = nhi[q] = 0;
        if (t == NT_QL_Q8_0) {
            nlo[q] = _mm512_movepi8_mask(lo[q]);
            nhi[q] = _mm512_movepi8_mask(hi[q]);
            lo[q] = _mm512_abs_epi8(lo[q]);
            hi[q] = _mm512_abs_epi8(hi[q]);
        }
    }
    __m512 dw, m;
    nt_w_scales(t, G, b, &dw, &m);
#pragma GCC unroll 8
    for (int u = 0; u < K; u++) {
        const unsigned char *xpu = xp + u * stride;
        __m512i r[4];
#pragma GCC unroll 4
        for (int q = 0; q < G / 4; q++) {
            __m512i xa = _mm512_loadu_si512((const void *)(xpu + 8 * G + 128 * q));
            __m512i xb = _mm512_loadu_si512((const void *)(xpu + 8 * G + 128 * q + 64));
            if (t == NT_QL_Q8_0) {
                xa = _mm512_mask_sub_epi8(xa, nlo[q], _mm512_setzero_si512(), xa);
                xb = _mm512_mask_sub_epi8(xb, nhi[q], _mm512_setzero_si512(), xb);
            }
            r[q] = NT_DP2(lo[q], xa, hi[q], xb);
        }
        const __m512i m01 = nt_qmerge1(t, r[0], r[1]);
        const __m512i m23 = G == 16 ? nt_qmerge1(t, r[2], r[3]) : _mm512_setzero_si512();
        __m512i isum = _mm512_permutexvar_epi32(to_order, nt_qmerge2(t, m01, m23));
        __m512 dx;
        __m512i s;
        if (G == 16) {
            dx = _mm512_loadu_ps((const void *)xpu);
            s = _mm512_loadu_si512((const void *)(xpu + 64));
        } else {
            dx = _mm512_zextps256_ps512(_mm256_loadu_ps((const float *)xpu));
            s = _mm512_zextsi256_si512(_mm256_loadu_si256((const __m256i *)(xpu + 32)));
        }
        if (off) isum = _mm512_sub_epi32(isum, _mm512_slli_epi32(s, off == 8 ? 3 : 4));
        __m512 c = _mm512_mul_ps(_mm512_mul_ps(dw, dx), _mm512_cvtepi32_ps(isum));
        if (has_min) c = _mm512_add_ps(c, _mm512_mul_ps(_mm512_mul_ps(m, dx), _mm512_cvtepi32_ps(s)));
        acc[u] = _mm512_add_ps(acc[u], c);
    }
}

/* The same group with the activations transposed (qdot.h nt_q8a_pack_t)
 * at xp: register c of the group holds, in int32 lane l, bytes 4c..4c+3 of
 * the weight and activation quants of block order[l] (nt_group's lane
 * order), so eight chained byte dots leave each block's exact sum in its
 * own lane, with no reduction tree per token; the weights pay for the
 * transposition once per group, for all K tokens. The _0 types' chains
 * start from the packed -offset * s, the same integer nt_group subtracts;
 * the float step is nt_group's, so each token's c_b are the same bits. */
static inline __attribute__((always_inline)) NT_ATTR void NT_V(nt_group_t)(int t, int G, const unsigned char *b,
                                                                  const unsigned char *xp, size_t stride, int K,
                                                                  __m512 *acc)
{
    const int off = nt_ql_offset(t);
    const bool has_min = nt_ql_has_min(t);
    /* Q8_0 with NT_Q8_BIAS: the weights as the bytes q + 128 (q ^ 0x80),
     * whose chains start from the packed -128 * s, so the sum is exactly
     * sum q * qx with no per-token sign flip of the activations; without
     * it, |q| with the signs moved onto the activations. */
    const bool bias = t == NT_QL_Q8_0 && NT_Q8_BIAS;
    __m512i wt[8];
    __mmask64 neg[8];
    nt_w_transposed(t, G, b, wt);
#pragma GCC unroll 8
    for (int c = 0; c < 8; c++) {
        neg[c] = 0;
        if (bias) {
            wt[c] = _mm512_xor_si512(wt[c], _mm512_set1_epi8((char)0x80));
        } else if (t == NT_QL_Q8_0) {
            neg[c] = _mm512_movepi8_mask(wt[c]);
            wt[c] = _mm512_abs_epi8(wt[c]);
        }
    }
    __m512 dw, m;
    nt_w_scales(t, G, b, &dw, &m);
    /* chunk by chunk across the tokens: eight independent chains in
     * flight instead of one token's chain of eight dependent dots */
    __m512i isum[NT_DOTK_Q_MAX];
#pragma GCC unroll 8
    for (int u = 0; u < K; u++) {
        const unsigned char *xpu = xp + u * stride;
        isum[u] = !off && !bias ? _mm512_setzero_si512()
                  : G == 16 ? _mm512_loadu_si512((const void *)(xpu + 64))
                            : _mm512_zextsi256_si512(_mm256_loadu_si256((const __m256i *)(xpu + 32)));
    }
#pragma GCC unroll 8
    for (int c = 0; c < 8; c++)
#pragma GCC unroll 8
        for (int u = 0; u < K; u++) {
            const unsigned char *xpu = xp + u * stride;
            __m512i xv = G == 16 ? _mm512_loadu_si512((const void *)(xpu + 8 * G + 64 * c))
                                 : _mm512_zextsi256_si512(_mm256_loadu_si256((const __m256i *)(xpu + 8 * G + 32 * c)));
            if (t == NT_QL_Q8_0 && !bias) xv = _mm512_mask_sub_epi8(xv, neg[c], _mm512_setzero_si512(), xv);
            isum[u] = NT_DPA(isum[u], wt[c], xv);
        }
#pragma GCC unroll 8
    for (int u = 0; u < K; u++) {
        const unsigned char *xpu = xp + u * stride;
        __m512 dx;
        if (G == 16) dx = _mm512_loadu_ps((const void *)xpu);
        else dx = _mm512_zextps256_ps512(_mm256_loadu_ps((const float *)xpu));
        __m512 c = _mm512_mul_ps(_mm512_mul_ps(dw, dx), _mm512_cvtepi32_ps(isum[u]));
        if (has_min) {
            const __m512i s = G == 16 ? _mm512_loadu_si512((const void *)(xpu + 64))
                                      : _mm512_zextsi256_si512(_mm256_loadu_si256((const __m256i *)(xpu + 32)));
            c = _mm512_add_ps(c, _mm512_mul_ps(_mm512_mul_ps(m, dx), _mm512_cvtepi32_ps(s)));
        }
        acc[u] = _mm512_add_ps(acc[u], c);
    }
}

static inline __attribute__((always_inline)) NT_ATTR void NT_V(nt_run)(int t, int64_t n, const unsigned char *w,
                                                              const unsigned char *xq, const unsigned char *xp,
                                                              bool xt, size_t stride, int K, float *out)
{
    const int bytes = nt_ql_bytes(t);
    const int64_t nb = n / NT_QK32;
    const uintptr_t ahead = nt_ql_ahead(nb * bytes);
    __m512 acc[NT_DOTK_Q_MAX];
#pragma GCC unroll 8
    for (int u = 0; u < K; u++) acc[u] = _mm512_setzero_ps();
    int64_t i = 0;
    if (xp && xt) {
        for (; i + 16 <= nb; i += 16) {
            nt_prefetch_ahead_l2(w + i * bytes, ahead, 16 * bytes);
            NT_V(nt_group_t)(t, 16, w + i * bytes, xp + i * sizeof(nt_q8a_block), stride, K, acc);
        }
        if (i + 8 <= nb) {
            NT_V(nt_group_t)(t, 8, w + i * bytes, xp + i * sizeof(nt_q8a_block), stride, K, acc);
            i += 8;
        }
    } else if (xp) {
        for (; i + 16 <= nb; i += 16) {
            nt_prefetch_ahead_l2(w + i * bytes, ahead, 16 * bytes);
            NT_V(nt_group_p)(t, 16, w + i * bytes, xp + i * sizeof(nt_q8a_block), stride, K, acc);
        }
        if (i + 8 <= nb) {
            NT_V(nt_group_p)(t, 8, w + i * bytes, xp + i * sizeof(nt_q8a_block), stride, K, acc);
            i += 8;
        }
    } else {
        for (; i + 16 <= nb; i += 16) {
            nt_prefetch_ahead_l2(w + i * bytes, ahead, 16 * bytes);
            NT_V(nt_group)(t, 16, w + i * bytes, xq + i * sizeof(nt_q8a_block), stride, K, acc);
        }
        if (i + 8 <= nb) {
            NT_V(nt_group)(t, 8, w + i * bytes, xq + i * sizeof(nt_q8a_block), stride, K, acc);
            i += 8;
        }
    }
    if (i < nb) {
        /* The last 1..7 blocks as one more group of 8, the missing ones
         * zero (a zero scale contributes exactly 0): rows such as
         * Qwen2.5-0.5B's 896 values (28 blocks) would otherwise spend a
         * seventh of their blocks in scalar code. */
        _Alignas(64) unsigned char wpad[8 * 34] = {0};
        _Alignas(64) nt_q8a_block xpad[NT_DOTK_Q_MAX][8];
        memset(xpad, 0, sizeof xpad);
        const int64_t left = nb - i;
        memcpy(wpad, w + i * bytes, (size_t)(left * bytes));
        for (int u = 0; u < K; u++)
            memcpy(xpad[u], xq + u * stride + i * sizeof(nt_q8a_block), (size_t)left * sizeof(nt_q8a_block));
        NT_V(nt_group)(t, 8, wpad, (const unsigned char *)xpad, sizeof xpad[0], K, acc);
    }
#pragma GCC unroll 8
    for (int u = 0; u < K; u++) out[u] = _mm512_reduce_add_ps(acc[u]);
}

#define NT_RUN_CASES(T, XP, XT)                                                                           \
    switch (k) {                                                                                    \
    case 1: NT_V(nt_run)(T, n, w, xq, XP, XT, stride, 1, out); break;                                 \
    case 2: NT_V(nt_run)(T, n, w, xq, XP, XT, stride, 2, out); break;                                 \
    case 3: NT_V(nt_run)(T, n, w, xq, XP, XT, stride, 3, out); break;                                 \
    case 4: NT_V(nt_run)(T, n, w, xq, XP, XT, stride, 4, out); break;                                 \
    case 5: NT_V(nt_run)(T, n, w, xq, XP, XT, stride, 5, out); break;                                 \
    case 6: NT_V(nt_run)(T, n, w, xq, XP, XT, stride, 6, out); break;                                 \
    case 7: NT_V(nt_run)(T, n, w, xq, XP, XT, stride, 7, out); break;                                 \
    case 8: NT_V(nt_run)(T, n, w, xq, XP, XT, stride, 8, out); break;                                 \
    default: break;                                                                                 \
    }
#define NT_RUN_TYPE(name, T)                                                                        \
    static __attribute__((noinline)) NT_ATTR void NT_V(nt_run_##name)(int64_t n, const void *w, const void *xq, \
                                                              size_t stride, int k, float *out)       \
    {                                                                                               \
        NT_RUN_CASES(T, NULL, false)                                                                \
    }                                                                                               \
    static __attribute__((noinline)) NT_ATTR void NT_V(nt_runp_##name)(int64_t n, const void *w, const void *xq, \
                                                               const void *xp, size_t stride, int k, float *out) \
    {                                                                                               \
        NT_RUN_CASES(T, (const unsigned char *)xp, false)                                           \
    }                                                                                               \
    static __attribute__((noinline)) NT_ATTR void NT_V(nt_runt_##name)(int64_t n, const void *w, const void *xq, \
                                                               const void *xp, size_t stride, int k, float *out) \
    {                                                                                               \
        NT_RUN_CASES(T, (const unsigned char *)xp, true)                                            \
    }

NT_RUN_TYPE(q4_0, NT_QL_Q4_0)
NT_RUN_TYPE(q4_1, NT_QL_Q4_1)
NT_RUN_TYPE(q5_0, NT_QL_Q5_0)
NT_RUN_TYPE(q5_1, NT_QL_Q5_1)
NT_RUN_TYPE(q8_0, NT_QL_Q8_0)

#undef NT_RUN_TYPE
#undef NT_RUN_CASES
