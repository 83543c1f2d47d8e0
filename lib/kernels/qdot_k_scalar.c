/*
 * Integer dots of the k-quants with nt_q8k activations, in plain C. They
 * define the result of every ISA: per super-block the exact integer sums
 *   isum   = sum_j sc_j * sum_{i in sub-block j} q_i * qx_i
 *   isum_m = sum_j m_j * (sum of qx over sub-block j, from bsums)
 * with the weights' integer quants and sub-scales as the dequantization
 * (quants_scalar.c) reads them, then one float step per super-block
 * (nt_qk_step*, qdot_k.h), super-blocks in order.
 */
#include "kernels/qdot_k.h"
#include "kernels/quant_blocks.h"

static inline int16_t nt_bsum(const unsigned char *x, int j)
{
    int16_t s;
    memcpy(&s, x + NT_Q8K_OFF_BSUMS + 2 * j, sizeof s);
    return s;
}

static inline const int8_t *nt_qx(const unsigned char *x) { return (const int8_t *)(x + NT_Q8K_OFF_QS); }

/* Q2_K: sub-block is (16 values) = half h, plane s, part p as in the
 * decoder: is = 8h + 2s + p, value 16 * is + l from q[32h + 16p + l]. */
static inline void nt_sb_q2_k(const unsigned char *b, const unsigned char *const *x, int K, int32_t *isum,
                              int32_t *isum_m)
{
    const unsigned char *sc = b, *q = b + 16;
    for (int k = 0; k < K; k++) {
        const int8_t *qx = nt_qx(x[k]);
        int32_t s = 0, m = 0;
        for (int is = 0; is < 16; is++) {
            const int h = is / 8, shift = 2 * ((is % 8) / 2), part = is % 2;
            const unsigned char *qq = q + 32 * h + 16 * part;
            int32_t t = 0;
            for (int l = 0; l < 16; l++) t += ((qq[l] >> shift) & 3) * qx[16 * is + l];
            s += (sc[is] & 0x0F) * t;
            m += (sc[is] >> 4) * nt_bsum(x[k], is);
        }
        isum[k] = s;
        isum_m[k] = m;
    }
}

static inline void nt_sb_q3_k(const unsigned char *b, const unsigned char *const *x, int K, int32_t *isum,
                              int32_t *isum_m)
{
    const unsigned char *hm = b, *q = b + 32, *sc = b + 96;
    for (int k = 0; k < K; k++) {
        const int8_t *qx = nt_qx(x[k]);
        int32_t s = 0;
        for (int is = 0; is < 16; is++) {
            const int h = is / 8, plane = (is % 8) / 2, part = is % 2;
            const unsigned char *qq = q + 32 * h + 16 * part, *hh = hm + 16 * part;
            const unsigned bit = 1u << (4 * h + plane);
            int32_t t = 0;
            for (int l = 0; l < 16; l++) {
                const int v = ((qq[l] >> (2 * plane)) & 3) - ((hh[l] & bit) ? 0 : 4);
                t += v * qx[16 * is + l];
            }
            s += nt_q3k_scale(is, sc) * t;
        }
        isum[k] = s;
        isum_m[k] = 0;
    }
}

static inline void nt_sb_q4_k(const unsigned char *b, const unsigned char *const *x, int K, int32_t *isum,
                              int32_t *isum_m)
{
    const unsigned char *q = b + 16;
    for (int k = 0; k < K; k++) {
        const int8_t *qx = nt_qx(x[k]);
        int32_t s = 0, m = 0;
        for (int j = 0; j < 8; j++) {
            int sc, mn;
            nt_q_scale_min_k4(j, b + 4, &sc, &mn);
            const unsigned char *qq = q + 32 * (j / 2);
            const int shift = 4 * (j % 2);
            int32_t t = 0;
            for (int l = 0; l < 32; l++) t += ((qq[l] >> shift) & 0x0F) * qx[32 * j + l];
            s += sc * t;
            m += mn * (nt_bsum(x[k], 2 * j) + nt_bsum(x[k], 2 * j + 1));
        }
        isum[k] = s;
        isum_m[k] = m;
    }
}

static inline void nt_sb_q5_k(const unsigned char *b, const unsigned char *const *x, int K, int32_t *isum,
                              int32_t *isum_m)
{
    const unsigned char *qh = b + 16, *q = b + 48;
    for (int k = 0; k < K; k++) {
        const int8_t *qx = nt_qx(x[k]);
        int32_t s = 0, m = 0;
        for (int j = 0; j < 8; j++) {
            int sc, mn;
            nt_q_scale_min_k4(j, b + 4, &sc, &mn);
            const unsigned char *qq = q + 32 * (j / 2);
            const int shift = 4 * (j % 2);
            int32_t t = 0;
            for (int l = 0; l < 32; l++)
                t += (((qq[l] >> shift) & 0x0F) + (((qh[l] >> j) & 1) << 4)) * qx[32 * j + l];
            s += sc * t;
            m += mn * (nt_bsum(x[k], 2 * j) + nt_bsum(x[k], 2 * j + 1));
        }
        isum[k] = s;
        isum_m[k] = m;
    }
}

/* Q6_K: value 128h + 32c + l (c < 4, l < 32) is in sub-block 8h + 2c + l/16,
 * whose scale is scales[8h + 2c + l/16]. */
static inline void nt_sb_q6_k(const unsigned char *b, const unsigned char *const *x, int K, int32_t *isum,
                              int32_t *isum_m)
{
    const signed char *sc = (const signed char *)(b + 192);
    for (int k = 0; k < K; k++) {
        const int8_t *qx = nt_qx(x[k]);
        int32_t s = 0;
        for (int is = 0; is < 16; is++) {
            const int h = is / 8, c = (is % 8) / 2, l0 = 16 * (is % 2);
            const unsigned char *ql = b + 64 * h + 32 * (c & 1), *qh = b + 128 + 32 * h;
            int32_t t = 0;
            for (int l = l0; l < l0 + 16; l++) {
                const int lo = c >= 2 ? ql[l] >> 4 : ql[l] & 0x0F;
                const int v = (lo | (((qh[l] >> (2 * c)) & 3) << 4)) - 32;
                t += v * qx[128 * h + 32 * c + l];
            }
            s += sc[is] * t;
        }
        isum[k] = s;
        isum_m[k] = 0;
    }
}

NT_QK_RUN(q2_k, , , NT_Q2_K_BYTES, 80, 82, nt_q_f16)
NT_QK_EXPORT(q2_k, scalar, )
NT_QK_RUN(q3_k, , , NT_Q3_K_BYTES, 108, -1, nt_q_f16)
NT_QK_EXPORT(q3_k, scalar, )
NT_QK_RUN(q4_k, , , NT_Q4_K_BYTES, 0, 2, nt_q_f16)
NT_QK_EXPORT(q4_k, scalar, )
NT_QK_RUN(q5_k, , , NT_Q5_K_BYTES, 0, 2, nt_q_f16)
NT_QK_EXPORT(q5_k, scalar, )
NT_QK_RUN(q6_k, , , NT_Q6_K_BYTES, 208, -1, nt_q_f16)
NT_QK_EXPORT(q6_k, scalar, )
