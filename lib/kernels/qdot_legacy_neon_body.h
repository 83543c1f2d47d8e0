/*
 * The body of the NEON fast-mode dots, included twice by
 * qdot_legacy_neon.c: NT_DP(w, x) is an int32x4 whose lanes sum to the
 * block's integer dot, NT_V(name) suffixes the names and NT_ATTR is the
 * functions' target attribute. No include guard.
 */

static inline __attribute__((always_inline)) NT_ATTR void NT_V(nt_run)(int t, int64_t n, const unsigned char *w,
                                                              const unsigned char *xq, size_t stride, int K,
                                                              float *out)
{
    const int bytes = nt_ql_bytes(t);
    const bool has_min = nt_ql_has_min(t);
    const int64_t nb = n / NT_QK32, ng = nb / 4;
    float32x4_t acc[NT_DOTK_Q_MAX];
#pragma GCC unroll 4
    for (int u = 0; u < K; u++) acc[u] = vdupq_n_f32(0.0f);
    for (int64_t g = 0; g < ng; g++) {
        const unsigned char *b = w + g * 4 * bytes;
        int32x4_t p[NT_DOTK_Q_MAX][4];
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            int8x16_t q[2];
            nt_w_block(t, b + j * bytes, q);
#pragma GCC unroll 4
            for (int u = 0; u < K; u++)
                p[u][j] = NT_DP(q, ((const nt_q8a_block *)(xq + u * stride) + 4 * g + j)->qs);
        }
        uint16_t hd[4], hm[4];
        for (int j = 0; j < 4; j++) {
            memcpy(&hd[j], b + j * bytes, 2);
            memcpy(&hm[j], b + j * bytes + 2, 2);
        }
        const float32x4_t dw = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(hd)));
        const float32x4_t m = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(hm)));
#pragma GCC unroll 4
        for (int u = 0; u < K; u++) {
            const nt_q8a_block *x = (const nt_q8a_block *)(xq + u * stride) + 4 * g;
            const float dd[4] = {x[0].d, x[1].d, x[2].d, x[3].d};
            const int32_t ss[4] = {x[0].s, x[1].s, x[2].s, x[3].s};
            const float32x4_t dx = vld1q_f32(dd);
            const int32x4_t isum = vpaddq_s32(vpaddq_s32(p[u][0], p[u][1]), vpaddq_s32(p[u][2], p[u][3]));
            float32x4_t c = vmulq_f32(vmulq_f32(dw, dx), vcvtq_f32_s32(isum));
            if (has_min) c = vaddq_f32(c, vmulq_f32(vmulq_f32(m, dx), vcvtq_f32_s32(vld1q_s32(ss))));
            acc[u] = vaddq_f32(acc[u], c);
        }
    }
    float tail[NT_DOTK_Q_MAX] = {0};
    nt_ql_blocks_scalar(t, ng * 4, nb, w, xq, stride, K, tail);
#pragma GCC unroll 4
    for (int u = 0; u < K; u++) out[u] = vaddvq_f32(acc[u]) + tail[u];
}

/* Up to four tokens per pass: with more, the tokens' partial sums would
 * outgrow the 32 q registers, which five or more tokens' four block sums each would fill; five to eight tokens take a second pass over the
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
