/*
 * Activation quantizers in plain C (the rule in qdot.h and qact_rule.h):
 * nt_q8a blocks of 32 values with the sum of their quants, nt_q8k blocks of
 * 256 values with the sums of each 16. lrintf rounds to nearest even under
 * the default rounding mode, as the SIMD conversions do.
 */
#include <math.h>
#include <string.h>

#include "kernels/qact_rule.h"
#include "kernels/qdot.h"

/* Quantize len values of x into q; returns d. */
static inline float nt_qact_block(const float *x, int len, int8_t *q)
{
    float amax = 0.0f;
    for (int i = 0; i < len; i++) {
        const float a = fabsf(x[i]);
        amax = a > amax ? a : amax;
    }
    const float d = nt_qact_d(amax), id = nt_qact_id(d);
    for (int i = 0; i < len; i++) q[i] = (int8_t)lrintf(x[i] * id);
    return d;
}

void nt_quantize_q8a_scalar(const float *x, void *dst, int64_t n)
{
    nt_q8a_block *y = dst;
    for (int64_t b = 0; b < n / NT_Q8A_VALUES; b++, x += NT_Q8A_VALUES) {
        y[b].d = nt_qact_block(x, NT_Q8A_VALUES, y[b].qs);
        int32_t s = 0;
        for (int i = 0; i < NT_Q8A_VALUES; i++) s += y[b].qs[i];
        y[b].s = s;
    }
}

void nt_quantize_q8k_scalar(const float *x, void *dst, int64_t n)
{
    nt_q8k_block *y = dst;
    for (int64_t b = 0; b < n / NT_Q8K_VALUES; b++, x += NT_Q8K_VALUES) {
        y[b].d = nt_qact_block(x, NT_Q8K_VALUES, y[b].qs);
        for (int g = 0; g < NT_Q8K_VALUES / 16; g++) {
            int s = 0;
            for (int i = 0; i < 16; i++) s += y[b].qs[16 * g + i];
            y[b].bsums[g] = (int16_t)s;
        }
    }
}

/* The block order of a group's scale lanes, shared by both layouts. */
static const int nt_q8a_pack_order[16] = {0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15};

void nt_q8a_pack(const void *xq, void *xp, int64_t nb)
{
    const nt_q8a_block *x = xq;
    unsigned char *p = xp;
    for (int64_t i = 0; i + 8 <= nb;) {
        const int G = i + 16 <= nb ? 16 : 8;
        unsigned char *g = p + i * (int64_t)sizeof(nt_q8a_block);
        for (int l = 0; l < G; l++) {
            memcpy(g + 4 * l, &x[i + nt_q8a_pack_order[l]].d, 4);
            memcpy(g + 4 * G + 4 * l, &x[i + nt_q8a_pack_order[l]].s, 4);
        }
        /* quad q (blocks 4q..4q+3): their values 0..15, then 16..31 */
        for (int b = 0; b < G; b++) {
            unsigned char *qd = g + 8 * G + 128 * (b / 4) + 16 * (b % 4);
            memcpy(qd, x[i + b].qs, 16);
            memcpy(qd + 64, x[i + b].qs + 16, 16);
        }
        i += G;
    }
}

void nt_q8a_pack_t(const void *xq, void *xp, int64_t nb, int32_t s_mul)
{
    const nt_q8a_block *x = xq;
    unsigned char *p = xp;
    for (int64_t i = 0; i + 8 <= nb;) {
        const int G = i + 16 <= nb ? 16 : 8;
        unsigned char *g = p + i * (int64_t)sizeof(nt_q8a_block);
        for (int l = 0; l < G; l++) {
            const nt_q8a_block *xb = &x[i + nt_q8a_pack_order[l]];
            const int32_t s = xb->s * s_mul;
            memcpy(g + 4 * l, &xb->d, 4);
            memcpy(g + 4 * G + 4 * l, &s, 4);
            for (int c = 0; c < 8; c++) memcpy(g + 8 * G + 4 * (G * c + l), xb->qs + 4 * c, 4);
        }
        i += G;
    }
}
