/*
 * The body of the AVX2 packed-activation dots (dotk_qp; the layout is
 * qdot.h's nt_q8a_pack), included by qdot_legacy_avx2.c after
 * qdot_legacy_avx2_body.h with the same NT_V, NT_DP and NT_ATTR, and
 * NT_QP_VNNI (1: the byte dots are vpdpbusd). No include guard.
 *
 * The packed quants put blocks a and a + 1 side by side in one register
 * (values 0..15 of each, then 16..31), which is how a Q4/Q5 weight byte
 * holds them too (low nibble: value j, high nibble: value j + 16): one
 * load and two masks give two blocks' weights, and each block's products
 * stay in its own 128-bit half. Their reduction to one int32 per block
 * then needs shuffles and adds, not a multiply per block: the multiply
 * port, which the maddubs themselves keep busy, was the bottleneck of the
 * unpacked kernels on Zen 2. The block sums come out in the lane order
 * 0 2 4 6 1 3 5 7 of the packed scales, so each lane's float step is the
 * unpacked kernel's for that block; the accumulator is put back in block
 * order before the same final sum, and the result is bitwise the unpacked
 * single dot. The weights are prefetched as in the AVX-512 kernels
 * (prefetch_x86.h): on Zen 2 the hardware prefetcher alone left one core
 * at 9.6 GB/s of its 15.6 on Q4_0 rows (build/tests/bench_qdot).
 */

/* Two blocks' weights (blocks at pa, pb): values 0..15 of both in *lo,
 * 16..31 in *hi, as unsigned bytes (Q8_0: signed). */
static inline __attribute__((always_inline)) NT_ATTR void NT_V(nt_qp_w_pair)(int t, const unsigned char *pa,
                                                                     const unsigned char *pb, __m256i *lo,
                                                                     __m256i *hi)
{
    const int qo = nt_ql_qs_off(t);
    if (t == NT_QL_Q8_0) {
        *lo = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(pa + qo))),
                                      _mm_loadu_si128((const __m128i *)(pb + qo)), 1);
        *hi = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(pa + qo + 16))),
                                      _mm_loadu_si128((const __m128i *)(pb + qo + 16)), 1);
        return;
    }
    const __m256i raw = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(pa + qo))),
                                                _mm_loadu_si128((const __m128i *)(pb + qo)), 1);
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    *lo = _mm256_and_si256(raw, m4);
    *hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
    if (t == NT_QL_Q5_0 || t == NT_QL_Q5_1) {
        uint32_t ha, hb;
        memcpy(&ha, pa + nt_ql_qh_off(t), 4);
        memcpy(&hb, pb + nt_ql_qh_off(t), 4);
        const uint32_t bl = (ha & 0xFFFFu) | (hb << 16), bh = (ha >> 16) | (hb & 0xFFFF0000u);
        const __m256i b16 = _mm256_set1_epi8(16);
        *lo = _mm256_or_si256(*lo, _mm256_and_si256(nt_bytes_from_bits32((const unsigned char *)&bl), b16));
        *hi = _mm256_or_si256(*hi, _mm256_and_si256(nt_bytes_from_bits32((const unsigned char *)&bh), b16));
    }
}

/* The products of a pair of blocks with their activation quants, each
 * block's in its 128-bit half: 8 int16 partial sums (maddubs, Q4/Q5:
 * at most 4 * 31 * 127) or 4 int32 ones (VNNI, and Q8_0 whose maddubs
 * lanes reach 2 * 128 * 127). */
static inline __attribute__((always_inline)) NT_ATTR __m256i NT_V(nt_qp_pair)(int t, __m256i wl, __m256i wh,
                                                                      __m256i xl, __m256i xh)
{
    if (t == NT_QL_Q8_0) {
        xl = _mm256_sign_epi8(xl, wl);
        xh = _mm256_sign_epi8(xh, wh);
        wl = _mm256_sign_epi8(wl, wl);
        wh = _mm256_sign_epi8(wh, wh);
    }
#if NT_QP_VNNI
    return _mm256_dpbusd_avx_epi32(_mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), wl, xl), wh, xh);
#else
    if (t == NT_QL_Q8_0)
        return _mm256_add_epi32(nt_dp_maddubs(wl, xl), nt_dp_maddubs(wh, xh));
    return _mm256_add_epi16(_mm256_maddubs_epi16(wl, xl), _mm256_maddubs_epi16(wh, xh));
#endif
}

/* Whether nt_qp_pair gives int16 lanes for type t. */
#define NT_QP_I16(t) (!NT_QP_VNNI && (t) != NT_QL_Q8_0)

/* Eight blocks' sums from the pairs p0 (blocks 0, 1) .. p3 (6, 7), in the
 * lane order 0 2 4 6 1 3 5 7. Each level adds partial sums of the same
 * block: int16 while they fit (16 products of Q4 at most 30480, of Q5 8
 * products at most 31496). */
static inline __attribute__((always_inline)) NT_ATTR __m256i NT_V(nt_qp_reduce)(int t, __m256i p0, __m256i p1,
                                                                        __m256i p2, __m256i p3)
{
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i l0, l1;
    if (NT_QP_I16(t)) {
        /* per half: blocks 0 0 2 2 0 0 2 2 (and 4 4 6 6 ...) */
        l0 = _mm256_add_epi16(_mm256_unpacklo_epi32(p0, p1), _mm256_unpackhi_epi32(p0, p1));
        l1 = _mm256_add_epi16(_mm256_unpacklo_epi32(p2, p3), _mm256_unpackhi_epi32(p2, p3));
        if (t == NT_QL_Q4_0 || t == NT_QL_Q4_1)
            return _mm256_madd_epi16(
                _mm256_add_epi16(_mm256_unpacklo_epi64(l0, l1), _mm256_unpackhi_epi64(l0, l1)), ones);
        l0 = _mm256_madd_epi16(l0, ones);
        l1 = _mm256_madd_epi16(l1, ones);
    } else {
        l0 = _mm256_add_epi32(_mm256_unpacklo_epi32(p0, p1), _mm256_unpackhi_epi32(p0, p1));
        l1 = _mm256_add_epi32(_mm256_unpacklo_epi32(p2, p3), _mm256_unpackhi_epi32(p2, p3));
    }
    return _mm256_add_epi32(_mm256_unpacklo_epi64(l0, l1), _mm256_unpackhi_epi64(l0, l1));
}

/* The F16 fields at byte `at` of blocks 0 2 4 6 1 3 5 7 of the group at
 * b, as F32 lanes: assembled in general registers, which leaves the
 * vector shuffle ports to the quants. */
static inline __attribute__((always_inline)) NT_ATTR __m256 NT_V(nt_qp_scales)(const unsigned char *b, int bytes,
                                                                       int at)
{
    uint64_t lo = 0, hi = 0;
    for (int j = 0; j < 4; j++) {
        uint16_t e, o;
        memcpy(&e, b + (2 * j) * bytes + at, 2);
        memcpy(&o, b + (2 * j + 1) * bytes + at, 2);
        lo |= (uint64_t)e << (16 * j);
        hi |= (uint64_t)o << (16 * j);
    }
    return _mm256_cvtph_ps(_mm_set_epi64x((long long)hi, (long long)lo));
}

static inline __attribute__((always_inline)) NT_ATTR void NT_V(nt_runp)(int t, int64_t n, const unsigned char *w,
                                                                const unsigned char *xq,
                                                                const unsigned char *xp, size_t stride, int K,
                                                                float *out)
{
    const int bytes = nt_ql_bytes(t), off = nt_ql_offset(t);
    const bool has_min = nt_ql_has_min(t);
    const int64_t nb = n / NT_QK32, ng = nb / 8, n16 = nb / 16;
    const uintptr_t ahead = nt_ql_ahead(nb * bytes);
    __m256 acc[NT_DOTK_Q_MAX];
#pragma GCC unroll 4
    for (int u = 0; u < K; u++) acc[u] = _mm256_setzero_ps();
    for (int64_t g = 0; g < ng; g++) {
        const unsigned char *b = w + g * 8 * bytes;
        nt_prefetch_ahead_l2(b, ahead, 8 * bytes);
        /* where the group sits in the packed row: half h of a group of
         * 16, or the last group of 8 */
        const int G = g < 2 * n16 ? 16 : 8;
        const int64_t first = G == 16 ? (g & ~(int64_t)1) * 8 : g * 8;
        const int h = G == 16 ? (int)(g & 1) : 0;
        const size_t at = (size_t)first * sizeof(nt_q8a_block);
        const size_t d_at = at + 32 * (size_t)h, s_at = at + 4 * (size_t)G + 32 * (size_t)h;
        const size_t q_at = at + 8 * (size_t)G + 256 * (size_t)h;
        __m256i wl[4], wh[4];
#pragma GCC unroll 4
        for (int p = 0; p < 4; p++) NT_V(nt_qp_w_pair)(t, b + 2 * p * bytes, b + (2 * p + 1) * bytes, &wl[p], &wh[p]);
        const __m256 dw = NT_V(nt_qp_scales)(b, bytes, 0);
        const __m256 m = has_min ? NT_V(nt_qp_scales)(b, bytes, 2) : _mm256_setzero_ps();
#pragma GCC unroll 4
        for (int u = 0; u < K; u++) {
            const unsigned char *xu = xp + (size_t)u * stride;
            const unsigned char *q = xu + q_at;
            __m256i pr[4];
#pragma GCC unroll 4
            for (int p = 0; p < 4; p++) {
                const unsigned char *qp = q + 128 * (p / 2) + 32 * (p % 2);
                pr[p] = NT_V(nt_qp_pair)(t, wl[p], wh[p], _mm256_loadu_si256((const __m256i *)qp),
                                         _mm256_loadu_si256((const __m256i *)(qp + 64)));
            }
            __m256i isum = NT_V(nt_qp_reduce)(t, pr[0], pr[1], pr[2], pr[3]);
            const __m256 dx = _mm256_loadu_ps((const float *)(xu + d_at));
            const __m256i s = (off || has_min) ? _mm256_loadu_si256((const __m256i *)(xu + s_at))
                                               : _mm256_setzero_si256();
            if (off) isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(s, off == 8 ? 3 : 4));
            __m256 c = _mm256_mul_ps(_mm256_mul_ps(dw, dx), _mm256_cvtepi32_ps(isum));
            if (has_min) c = _mm256_add_ps(c, _mm256_mul_ps(_mm256_mul_ps(m, dx), _mm256_cvtepi32_ps(s)));
            acc[u] = _mm256_add_ps(acc[u], c);
        }
    }
    float tail[NT_DOTK_Q_MAX] = {0};
    nt_ql_blocks_scalar(t, ng * 8, nb, w, xq, stride, K, tail);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7); /* back to block order */
#pragma GCC unroll 4
    for (int u = 0; u < K; u++) out[u] = nt_hsum8(_mm256_permutevar8x32_ps(acc[u], order)) + tail[u];
}

#define NT_RUNP_TYPE(name, T)                                                                                \
    static __attribute__((noinline)) NT_ATTR void NT_V(nt_runp_##name)(int64_t n, const void *w, const void *xq, \
                                                                       const void *xp, size_t stride, int k,   \
                                                                       float *out)                             \
    {                                                                                                        \
        if (k > NT_DOTK_Q_MAX) return;                                                                       \
        for (int c = 0; c < k; c += 4) {                                                                     \
            const unsigned char *q = (const unsigned char *)xq + (size_t)c * stride;                        \
            const unsigned char *p = (const unsigned char *)xp + (size_t)c * stride;                        \
            switch (k - c < 4 ? k - c : 4) {                                                                 \
            case 1: NT_V(nt_runp)(T, n, w, q, p, stride, 1, out + c); break;                                 \
            case 2: NT_V(nt_runp)(T, n, w, q, p, stride, 2, out + c); break;                                 \
            case 3: NT_V(nt_runp)(T, n, w, q, p, stride, 3, out + c); break;                                 \
            default: NT_V(nt_runp)(T, n, w, q, p, stride, 4, out + c); break;                                \
            }                                                                                                \
        }                                                                                                    \
    }

NT_RUNP_TYPE(q4_0, NT_QL_Q4_0)
NT_RUNP_TYPE(q4_1, NT_QL_Q4_1)
NT_RUNP_TYPE(q5_0, NT_QL_Q5_0)
NT_RUNP_TYPE(q5_1, NT_QL_Q5_1)
NT_RUNP_TYPE(q8_0, NT_QL_Q8_0)

#undef NT_RUNP_TYPE
#undef NT_QP_I16
