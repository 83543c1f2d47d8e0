/*
 * The attention entry points of an x86 ISA file (attn_avx2.c,
 * attn_avx512.c) over its bodies nt_attn_scores_<T>_body and
 * nt_attn_accum_<T>_body: the common head sizes, 64 and 128 values, get
 * bodies compiled with the size known (unrolled, no masks or spilled row
 * pointers); any other size takes the body with the size at run time. The
 * operations and their order do not depend on which, so neither do the
 * bits. One list for both ISAs, so a head size added here is added to both.
 */
#ifndef NT_KERNELS_ATTN_HEAD_SIZES_H
#define NT_KERNELS_ATTN_HEAD_SIZES_H

#define NT_DEFINE_ATTN_ENTRIES(T, ISA)                                                                    \
    void nt_attn_scores_##T##_##ISA(const float *q, int32_t nh, const void *k, size_t stride, int64_t n,  \
                                    int64_t hd, float scale, float *scores, int64_t sc_stride)            \
    {                                                                                                     \
        if (hd == 64)                                                                                     \
            nt_attn_scores_##T##_body(q, nh, k, stride, n, 64, scale, scores, sc_stride);                 \
        else if (hd == 128)                                                                               \
            nt_attn_scores_##T##_body(q, nh, k, stride, n, 128, scale, scores, sc_stride);                \
        else                                                                                              \
            nt_attn_scores_##T##_body(q, nh, k, stride, n, hd, scale, scores, sc_stride);                 \
    }                                                                                                     \
    void nt_attn_accum_##T##_##ISA(float *out, int32_t nh, const float *w, int64_t w_stride, const void *v, \
                                   size_t stride, int64_t n, int64_t hd)                                  \
    {                                                                                                     \
        if (hd == 64)                                                                                     \
            nt_attn_accum_##T##_body(out, nh, w, w_stride, v, stride, n, 64);                             \
        else if (hd == 128)                                                                               \
            nt_attn_accum_##T##_body(out, nh, w, w_stride, v, stride, n, 128);                            \
        else                                                                                              \
            nt_attn_accum_##T##_body(out, nh, w, w_stride, v, stride, n, hd);                             \
    }

#endif
