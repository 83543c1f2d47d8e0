/*
 * The k-quants' integer dots with nt_q8k activations (kernels/qdot.h), on
 * every ISA this CPU runs:
 *  - integer exactness: with d = dmin = 1 and integer activations of amax
 *    127 (so d_x = 1 and the quants are the activations), every ISA gives
 *    bitwise the scalar definition's float steps applied to int64 sums
 *    taken from the dequantized row, and, where every intermediate stays
 *    below 2^24, exactly the int64 dot; rows with extreme quants and
 *    activations catch a saturating 16-bit step;
 *  - random blocks: each ISA within a reordering bound of scalar, and the
 *    scalar dot within a derived bound of the F32 dot of the dequantized
 *    row with the unquantized activations;
 *  - the multi-token dot, bitwise the single dot for each token.
 * Weight rows end at an inaccessible page and start unaligned; token
 * strides are not multiples of four.
 *
 * The activation quantizer is a scalar one written here from qdot.h's rule
 * (the library's own nt_quantize_* come from another change).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/harness.h"
#include "support/guarded.h"

#include "core/isa.h"
#include "kernels/qdot.h"
#include "types/types.h"

/* ---- the activation quantizer of qdot.h -------------------------------- */

static void quantize_q8k(const float *x, nt_q8k_block *y, int64_t n)
{
    for (int64_t b = 0; b < n / NT_Q8K_VALUES; b++, x += NT_Q8K_VALUES) {
        float amax = 0.0f;
        for (int i = 0; i < NT_Q8K_VALUES; i++) amax = fmaxf(amax, fabsf(x[i]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = d;
        for (int i = 0; i < NT_Q8K_VALUES; i++) y[b].qs[i] = (int8_t)nearbyintf(x[i] * id);
        for (int g = 0; g < NT_Q8K_VALUES / 16; g++) {
            int s = 0;
            for (int i = 0; i < 16; i++) s += y[b].qs[16 * g + i];
            y[b].bsums[g] = (int16_t)s;
        }
    }
}

/* ---- the types and each ISA's kernels ----------------------------------- */

enum { N_K = 5 };

typedef struct ktype {
    uint32_t id;
    const char *name;
    int bytes, d_off, dmin_off; /* dmin_off < 0: no mins */
} ktype;

static const ktype ktypes[N_K] = {
    {NT_TYPE_Q2_K, "q2_k", 84, 80, 82},  {NT_TYPE_Q3_K, "q3_k", 110, 108, -1},
    {NT_TYPE_Q4_K, "q4_k", 144, 0, 2},   {NT_TYPE_Q5_K, "q5_k", 176, 0, 2},
    {NT_TYPE_Q6_K, "q6_k", 210, 208, -1},
};

#define KERNELS(isa)                                                                                     \
    {{nt_vec_dot_q_q2_k_##isa, nt_vec_dot_q_q3_k_##isa, nt_vec_dot_q_q4_k_##isa, nt_vec_dot_q_q5_k_##isa, \
      nt_vec_dot_q_q6_k_##isa},                                                                          \
     {nt_dotk_q_q2_k_##isa, nt_dotk_q_q3_k_##isa, nt_dotk_q_q4_k_##isa, nt_dotk_q_q5_k_##isa,            \
      nt_dotk_q_q6_k_##isa}}

typedef struct kset {
    nt_vec_dot_q_fn dot[N_K];
    nt_dotk_q_fn dotk[N_K];
} kset;

static const struct {
    nt_isa isa;
    kset k;
} isas[] = {
    {NT_ISA_SCALAR, KERNELS(scalar)},
#if defined(__x86_64__)
    {NT_ISA_AVX2, KERNELS(avx2)},
#endif
#if defined(__x86_64__)
    {NT_ISA_AVX512, KERNELS(avx512)},
#endif
#if defined(__aarch64__)
    {NT_ISA_NEON, KERNELS(neon)},
#endif
};
#define N_ISAS (sizeof isas / sizeof isas[0])

static const int row_blocks[] = {1, 2, 11};
#define N_ROWS (sizeof row_blocks / sizeof row_blocks[0])
#define MAX_NB 11
#define MAX_N (MAX_NB * 256)

/* ---- blocks -------------------------------------------------------------- */

static void put16(unsigned char *p, uint16_t h)
{
    p[0] = (unsigned char)h;
    p[1] = (unsigned char)(h >> 8);
}

static void set_scales(const ktype *t, unsigned char *b, uint16_t d, uint16_t dmin)
{
    put16(b + t->d_off, d);
    if (t->dmin_off >= 0) put16(b + t->dmin_off, dmin);
}

/* Random quant and sub-scale bytes; `extreme` sets every one of them to
 * all ones (largest quants, scales and mins), or for the types whose
 * quants are signed, all bits set but the scales' sign. */
static void fill_blocks(const ktype *t, unsigned char *w, int nb, nt_rng *r, int extreme)
{
    for (int k = 0; k < nb; k++) {
        unsigned char *b = w + (size_t)k * t->bytes;
        for (int j = 0; j < t->bytes; j++) b[j] = extreme ? 0xff : (unsigned char)nt_rng_next(r);
        if (extreme && t->id == NT_TYPE_Q6_K && extreme == 2)
            for (int j = 0; j < 16; j++) b[192 + j] = 0x80; /* scales -128: largest magnitude */
        if (extreme && t->id == NT_TYPE_Q3_K && extreme == 2) {
            memset(b + 32, 0, 64);             /* quants -4 (hmask clear too) */
            memset(b, 0, 32);
            memset(b + 96, 0, 12);             /* scales 0 - 32 */
        }
        set_scales(t, b, 0x3c00, 0x3c00);
    }
}

static float f16(const unsigned char *b, int off) { return nt_fp16_to_fp32((uint16_t)(b[off] | b[off + 1] << 8)); }

/* A weight row that ends at a guard page and starts one byte past an
 * aligned address. */
static unsigned char *guarded_row(const ktype *t, int nb, nt_guard *g)
{
    unsigned char *p = nt_guarded_alloc((size_t)nb * t->bytes + 1, g);
    cr_assert(p);
    return p + 1;
}

/* Dequantized row with the blocks' F16 scales replaced: (d, dmin) = (1, 0)
 * gives sc_j * q_i, (0, 1) gives -m_j, exactly (small integers). */
static void deq_with(const ktype *t, const unsigned char *w, int nb, uint16_t d, uint16_t dmin, float *y)
{
    unsigned char *c = malloc((size_t)nb * t->bytes);
    cr_assert(c);
    memcpy(c, w, (size_t)nb * t->bytes);
    for (int k = 0; k < nb; k++) set_scales(t, c + (size_t)k * t->bytes, d, dmin);
    nt_type_kernels_isa(t->id, NT_ISA_SCALAR)->to_float(c, y, (int64_t)nb * 256);
    free(c);
}

/* Per super-block int64 isum and isum_m of row w with activations xq. */
static void int_sums(const ktype *t, const unsigned char *w, int nb, const nt_q8k_block *xq, int64_t *isum,
                     int64_t *isum_m)
{
    static float a[MAX_N], m[MAX_N];
    deq_with(t, w, nb, 0x3c00, 0x0000, a);
    if (t->dmin_off >= 0) deq_with(t, w, nb, 0x0000, 0x3c00, m);
    for (int k = 0; k < nb; k++) {
        int64_t s = 0, sm = 0;
        for (int i = 0; i < 256; i++) {
            s += (int64_t)a[256 * k + i] * xq[k].qs[i];
            if (t->dmin_off >= 0) sm -= (int64_t)m[256 * k + i] * xq[k].qs[i];
        }
        isum[k] = s;
        isum_m[k] = sm;
    }
}

/* The scalar definition's float steps on exact integer sums. */
static float mirror(const ktype *t, const unsigned char *w, int nb, const nt_q8k_block *xq)
{
    int64_t is[MAX_NB], im[MAX_NB];
    int_sums(t, w, nb, xq, is, im);
    float acc = 0.0f;
    for (int k = 0; k < nb; k++) {
        const unsigned char *b = w + (size_t)k * t->bytes;
        const float a = f16(b, t->d_off) * xq[k].d;
        const float p = a * (float)is[k];
        if (t->dmin_off >= 0) {
            const float bm = f16(b, t->dmin_off) * xq[k].d;
            const float q = bm * (float)im[k];
            const float r = p - q;
            acc = acc + r;
        } else {
            acc = acc + p;
        }
    }
    return acc;
}

static bool same_float(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

/* ---- tests ---------------------------------------------------------------- */

/* Integer activations, x[0] = 127 so d_x = 1; with a budget, each value is
 * kept only while sum over the row of (|sc q| + |m|) * |x| stays below 2^23,
 * so every intermediate of the float steps is an integer below 2^24. */
static void integer_activations(const ktype *t, const unsigned char *w, int nb, nt_rng *r, bool budget,
                                int pattern, float *x)
{
    static float a[MAX_N], m[MAX_N];
    const int64_t n = (int64_t)nb * 256;
    deq_with(t, w, nb, 0x3c00, 0x0000, a);
    if (t->dmin_off >= 0) deq_with(t, w, nb, 0x0000, 0x3c00, m);
    else memset(m, 0, sizeof(float) * (size_t)n);
    double used = 0;
    for (int64_t i = 0; i < n; i++) {
        int v;
        switch (pattern) {
        case 0: v = (int)(nt_rng_next(r) % 255) - 127; break;
        case 1: v = 127; break;
        case 2: v = -127; break;
        default: v = (i / 2) % 2 ? -127 : 127; break;
        }
        if (i % 256 == 0) v = pattern == 2 ? -127 : 127; /* amax 127 in every block */
        const double cost = (fabs((double)a[i]) + fabs((double)m[i])) * abs(v);
        if (budget && i % 256 && used + cost >= 0x1p23) v = 0;
        else used += cost;
        x[i] = (float)v;
    }
}

Test(qdot_k, integer_sums_are_exact_on_every_isa)
{
    nt_rng r = {2024};
    static float x[MAX_N];
    static nt_q8k_block xq[MAX_NB];
    for (int ti = 0; ti < N_K; ti++) {
        const ktype *t = &ktypes[ti];
        for (size_t ri = 0; ri < N_ROWS; ri++) {
            const int nb = row_blocks[ri];
            const int64_t n = (int64_t)nb * 256;
            for (int round = 0; round < 24; round++) {
                const int extreme = round < 8 ? round % 3 : 0; /* 1, 2: extreme quants */
                const int pattern = round < 8 ? round % 4 : 0;
                const bool budget = round % 2 == 1;
                nt_guard g;
                unsigned char *w = guarded_row(t, nb, &g);
                fill_blocks(t, w, nb, &r, extreme);
                integer_activations(t, w, nb, &r, budget, pattern, x);
                quantize_q8k(x, xq, n);
                for (int k = 0; k < nb; k++) {
                    cr_assert(xq[k].d == 1.0f);
                    for (int i = 0; i < 256; i++) cr_assert(xq[k].qs[i] == (int8_t)x[256 * k + i]);
                }
                const float want = mirror(t, w, nb, xq);
                if (budget) {
                    static float deq[MAX_N];
                    nt_type_kernels_isa(t->id, NT_ISA_SCALAR)->to_float(w, deq, n);
                    int64_t exact = 0;
                    for (int64_t i = 0; i < n; i++) exact += (int64_t)deq[i] * (int64_t)x[i];
                    cr_assert(want == (float)exact && (double)exact == (double)(float)exact,
                              "%s: budgeted row not exact (%.9g vs %lld)", t->name, (double)want,
                              (long long)exact);
                }
                for (size_t ii = 0; ii < N_ISAS; ii++) {
                    if (!nt_isa_supported(isas[ii].isa)) continue;
                    const float got = isas[ii].k.dot[ti](n, w, xq);
                    cr_assert(same_float(got, want), "%s %s nb=%d round %d: %.9g, want %.9g",
                              nt_isa_name(isas[ii].isa), t->name, nb, round, (double)got, (double)want);
                }
                nt_guarded_free(&g);
            }
        }
    }
}

/* sum_i (|d sc_i q_i| + |dmin m_i|) * f_i for the row's exact weight
 * magnitudes A_i, from the integer parts and the F16 scales, in double. */
static void weight_magnitudes(const ktype *t, const unsigned char *w, int nb, double *A)
{
    static float a[MAX_N], m[MAX_N];
    deq_with(t, w, nb, 0x3c00, 0x0000, a);
    if (t->dmin_off >= 0) deq_with(t, w, nb, 0x0000, 0x3c00, m);
    for (int k = 0; k < nb; k++) {
        const unsigned char *b = w + (size_t)k * t->bytes;
        const double d = fabs((double)f16(b, t->d_off));
        const double dmin = t->dmin_off >= 0 ? fabs((double)f16(b, t->dmin_off)) : 0.0;
        for (int i = 0; i < 256; i++)
            A[256 * k + i] = d * fabs((double)a[256 * k + i]) + (t->dmin_off >= 0 ? dmin * fabs((double)m[256 * k + i]) : 0.0);
    }
}

Test(qdot_k, random_rows_within_derived_bounds)
{
    nt_rng r = {77};
    static float x[MAX_N], deq[MAX_N];
    static double A[MAX_N];
    static nt_q8k_block xq[MAX_NB];
    const double u = 0x1p-24;
    for (int ti = 0; ti < N_K; ti++) {
        const ktype *t = &ktypes[ti];
        for (size_t ri = 0; ri < N_ROWS; ri++) {
            const int nb = row_blocks[ri];
            const int64_t n = (int64_t)nb * 256;
            for (int round = 0; round < 40; round++) {
                nt_guard g;
                unsigned char *w = guarded_row(t, nb, &g);
                fill_blocks(t, w, nb, &r, 0);
                for (int k = 0; k < nb; k++) {
                    /* finite F16 scales of either sign, some tiny, some large */
                    const float sd = nt_rng_float(&r) * (round % 5 == 0 ? 60.0f : 0.02f);
                    const float sm = nt_rng_float(&r) * (round % 7 == 0 ? 1e-6f : 0.01f);
                    set_scales(t, w + (size_t)k * t->bytes, nt_fp32_to_fp16(sd), nt_fp32_to_fp16(sm));
                }
                const float xs = round % 3 == 0 ? 100.0f : 1.0f;
                for (int64_t i = 0; i < n; i++) x[i] = nt_rng_float(&r) * xs;
                if (round == 1) memset(x, 0, 256 * sizeof(float)); /* a zero block: d_x = 0 */
                quantize_q8k(x, xq, n);
                nt_type_kernels_isa(t->id, NT_ISA_SCALAR)->to_float(w, deq, n);
                weight_magnitudes(t, w, nb, A);
                /* Derived bound, with u = 2^-24:
                 *  - each dequantized weight carries at most 3u * A_i of
                 *    rounding (d*sc, times q, minus dmin*m);
                 *  - each activation is d_x * q_i within d_x * (1/2 + 2^-15)
                 *    (the rounding to q, plus x * id's rounding at |x*id| <= 127);
                 *  - the float steps: d*d_x, the products, the difference
                 *    and the running sum over nb super-blocks add at most
                 *    (nb + 4) u of sum_i A_i d_x |q_i|. */
                double exact = 0, bound = 0, mag = 0;
                for (int64_t i = 0; i < n; i++) {
                    const double dx = xq[i / 256].d;
                    const double qi = fabs((double)xq[i / 256].qs[i % 256]);
                    exact += (double)deq[i] * (double)x[i];
                    bound += A[i] * (3 * u * fabs((double)x[i]) + dx * (0.5 + 0x1p-15) + (nb + 4) * u * dx * qi);
                    mag += A[i] * dx * qi;
                }
                bound = bound * (1 + 1e-6) + 1e-30;
                const float want = isas[0].k.dot[ti](n, w, xq);
                cr_assert(fabs((double)want - exact) <= bound, "scalar %s nb=%d round %d: %.9g, exact %.9g, bound %.3g",
                          t->name, nb, round, (double)want, exact, bound);
                cr_assert(same_float(want, mirror(t, w, nb, xq)), "scalar %s nb=%d round %d: not the definition",
                          t->name, nb, round);
                /* two sums of the same nb super-block results in different orders */
                const double reorder = 2.0 * nb * u * mag * (1 + 1e-6);
                for (size_t ii = 1; ii < N_ISAS; ii++) {
                    if (!nt_isa_supported(isas[ii].isa)) continue;
                    const float got = isas[ii].k.dot[ti](n, w, xq);
                    cr_assert(fabs((double)got - (double)want) <= reorder, "%s %s nb=%d round %d: %.9g, scalar %.9g",
                              nt_isa_name(isas[ii].isa), t->name, nb, round, (double)got, (double)want);
                }
                nt_guarded_free(&g);
            }
        }
    }
}

Test(qdot_k, multi_token_dots_match_single_dots_bitwise)
{
    nt_rng r = {31337};
    static float x[MAX_N];
    for (int ti = 0; ti < N_K; ti++) {
        const ktype *t = &ktypes[ti];
        for (size_t ri = 0; ri < N_ROWS; ri++) {
            const int nb = row_blocks[ri];
            const int64_t n = (int64_t)nb * 256;
            /* tokens' activations an odd number of bytes apart */
            const size_t stride = (size_t)nb * sizeof(nt_q8k_block) + 3;
            unsigned char *acts = malloc(stride * NT_DOTK_Q_MAX + 16);
            nt_q8k_block *tmp = malloc((size_t)nb * sizeof *tmp);
            cr_assert(acts && tmp);
            nt_guard g;
            unsigned char *w = guarded_row(t, nb, &g);
            fill_blocks(t, w, nb, &r, 0);
            for (int k = 0; k < nb; k++)
                set_scales(t, w + (size_t)k * t->bytes, nt_fp32_to_fp16(nt_rng_float(&r) * 0.05f),
                           nt_fp32_to_fp16(nt_rng_float(&r) * 0.01f));
            for (int tok = 0; tok < NT_DOTK_Q_MAX; tok++) {
                for (int64_t i = 0; i < n; i++) x[i] = nt_rng_float(&r) * (float)(tok + 1);
                quantize_q8k(x, tmp, n);
                memcpy(acts + 1 + (size_t)tok * stride, tmp, (size_t)nb * sizeof *tmp);
            }
            for (size_t ii = 0; ii < N_ISAS; ii++) {
                if (!nt_isa_supported(isas[ii].isa)) continue;
                for (int k = 1; k <= NT_DOTK_Q_MAX; k++) {
                    float out[NT_DOTK_Q_MAX + 1], want[NT_DOTK_Q_MAX];
                    for (int j = 0; j <= NT_DOTK_Q_MAX; j++) out[j] = -1234.5f;
                    isas[ii].k.dotk[ti](n, w, acts + 1, stride, k, out);
                    for (int tok = 0; tok < k; tok++) {
                        memcpy(tmp, acts + 1 + (size_t)tok * stride, (size_t)nb * sizeof *tmp);
                        want[tok] = isas[ii].k.dot[ti](n, w, tmp);
                    }
                    cr_assert(memcmp(out, want, (size_t)k * sizeof(float)) == 0, "%s %s nb=%d k=%d",
                              nt_isa_name(isas[ii].isa), t->name, nb, k);
                    cr_assert(out[k] == -1234.5f, "%s %s k=%d wrote past out[k-1]", nt_isa_name(isas[ii].isa),
                              t->name, k);
                }
            }
            nt_guarded_free(&g);
            free(acts);
            free(tmp);
        }
    }
}
