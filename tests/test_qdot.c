/*
 * The fast-mode integer dots of the 32-wide weight types (Q4_0, Q4_1,
 * Q5_0, Q5_1, Q8_0) and the activation quantizers, on every ISA this CPU
 * runs (and, where the CPU has a dot-product extension, both the kernels
 * with and without it):
 *  - every quantizer gives the scalar quantizer's bytes, on random data,
 *    zeros, exact ties and subnormals; the scalar one follows qdot.h's rule;
 *  - with weight scales +-1, small integer minimums and integer activations
 *    of maximum 127 (so d = 1), every float operation is exact: every
 *    result equals an int64 reference sum, bitwise;
 *  - on random rows each ISA is within the reordering bound of the scalar
 *    dot, and the scalar dot within the quantization error bound (derived
 *    below) of the exact dot of the dequantized row with the F32
 *    activations;
 *  - the k-token dots give, bitwise, each token's single dot.
 * Weight rows start unaligned and end at an inaccessible page, as do the
 * activation rows.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/harness.h"
#include "support/guarded.h"

#include "core/isa.h"
#include "kernels/qdot.h"
#include "kernels/qdot_legacy.h"
#include "types/types.h"

#define N_TYPES 5

typedef struct ltype {
    uint32_t id;
    const char *name;
    int bytes;
    bool has_min;
} ltype;

static const ltype ltypes[N_TYPES] = {
    {NT_TYPE_Q4_0, "q4_0", 18, false}, {NT_TYPE_Q4_1, "q4_1", 20, true}, {NT_TYPE_Q5_0, "q5_0", 22, false},
    {NT_TYPE_Q5_1, "q5_1", 24, true},  {NT_TYPE_Q8_0, "q8_0", 34, false},
};

typedef struct isa_kernels {
    nt_isa isa;
    nt_quantize_act_fn q8a, q8k;
    nt_vec_dot_q_fn dot[N_TYPES];
    nt_dotk_q_fn dotk[N_TYPES];
    int (*ext)(int on);
} isa_kernels;

#define NT_KERNELS(i, isa, ext)                                                                          \
    {i, nt_quantize_q8a_##isa, nt_quantize_q8k_##isa,                                                    \
     {nt_vec_dot_q_q4_0_##isa, nt_vec_dot_q_q4_1_##isa, nt_vec_dot_q_q5_0_##isa, nt_vec_dot_q_q5_1_##isa, \
      nt_vec_dot_q_q8_0_##isa},                                                                          \
     {nt_dotk_q_q4_0_##isa, nt_dotk_q_q4_1_##isa, nt_dotk_q_q5_0_##isa, nt_dotk_q_q5_1_##isa,             \
      nt_dotk_q_q8_0_##isa},                                                                             \
     ext}

static const isa_kernels all_isas[] = {
    NT_KERNELS(NT_ISA_SCALAR, scalar, NULL),
#if defined(__x86_64__)
    NT_KERNELS(NT_ISA_AVX2, avx2, nt_qdot_legacy_ext_avx2),
    NT_KERNELS(NT_ISA_AVX512, avx512, nt_qdot_legacy_ext_avx512),
#endif
#if defined(__aarch64__)
    NT_KERNELS(NT_ISA_NEON, neon, nt_qdot_legacy_ext_neon),
#endif
};
#define N_ISAS (sizeof all_isas / sizeof all_isas[0])

/* The kernels to test: each supported ISA, with and without its extension
 * where the CPU has one. */
typedef struct variant {
    const isa_kernels *k;
    int ext; /* -1: none; else the extension setting */
} variant;

static const char *vname(const variant *v)
{
    static char buf[64];
    snprintf(buf, sizeof buf, "%s%s", nt_isa_name(v->k->isa), v->ext == 1 ? "+ext" : v->ext == 0 ? "-ext" : "");
    return buf;
}

static int variants(variant *v)
{
    int nv = 0;
    for (size_t i = 0; i < N_ISAS; i++) {
        if (!nt_isa_supported(all_isas[i].isa)) continue;
        if (!all_isas[i].ext) {
            v[nv++] = (variant){&all_isas[i], -1};
            continue;
        }
        all_isas[i].ext(1);
        const int has = all_isas[i].ext(-1);
        v[nv++] = (variant){&all_isas[i], 0};
        if (has) v[nv++] = (variant){&all_isas[i], 1};
    }
    for (int i = 0; i < nv; i++) cr_log_info("testing %s", vname(&v[i]));
    return nv;
}

static void use(const variant *v)
{
    if (v->ext >= 0) v->k->ext(v->ext);
}

static bool same_float(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

static void put16(unsigned char *p, uint16_t h)
{
    p[0] = (unsigned char)h;
    p[1] = (unsigned char)(h >> 8);
}

static float h16(const unsigned char *p) { return nt_fp16_to_fp32((uint16_t)(p[0] | p[1] << 8)); }

/* The signed integer weight quant i of a block, from the format definition. */
static int ref_q(uint32_t type, const unsigned char *b, int i)
{
    const int r = i % 16;
    switch (type) {
    case NT_TYPE_Q4_0: return (i < 16 ? b[2 + r] & 15 : b[2 + r] >> 4) - 8;
    case NT_TYPE_Q4_1: return i < 16 ? b[4 + r] & 15 : b[4 + r] >> 4;
    case NT_TYPE_Q5_0: return ((i < 16 ? b[6 + r] & 15 : b[6 + r] >> 4) | ((b[2 + i / 8] >> (i % 8)) & 1) << 4) - 16;
    case NT_TYPE_Q5_1: return (i < 16 ? b[8 + r] & 15 : b[8 + r] >> 4) | ((b[4 + i / 8] >> (i % 8)) & 1) << 4;
    default: return (int8_t)b[2 + i];
    }
}

/* A random F16 scale: a moderate one of either sign, or when `wild` any
 * finite one (subnormals, zero and 65504 included). */
static uint16_t random_scale(nt_rng *r, bool wild)
{
    if (!wild) return nt_fp32_to_fp16(nt_rng_float(r) * 0.02f);
    uint16_t h;
    do h = (uint16_t)nt_rng_next(r); while ((h & 0x7c00) == 0x7c00);
    switch (nt_rng_next(r) % 8) {
    case 0: return (uint16_t)(h & 0x83ff); /* subnormal or zero */
    case 1: return (uint16_t)((h & 0x8000) | 0x7bff); /* largest magnitude, 65504 */
    default: return h;
    }
}

static void random_blocks_w(const ltype *t, unsigned char *p, int64_t nb, nt_rng *r, bool wild)
{
    for (int64_t k = 0; k < nb; k++) {
        unsigned char *b = p + k * t->bytes;
        for (int j = 0; j < t->bytes; j++) b[j] = (unsigned char)nt_rng_next(r);
        put16(b, random_scale(r, wild));
        if (t->has_min) put16(b + 2, random_scale(r, wild));
    }
}

static void random_blocks(const ltype *t, unsigned char *p, int64_t nb, nt_rng *r)
{
    random_blocks_w(t, p, nb, r, false);
}

static const int block_counts[] = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 27, 33, 69};
#define N_COUNTS (sizeof block_counts / sizeof block_counts[0])

/* A row of nb weight blocks starting one byte past an aligned address and
 * ending at a guard page; activations for k tokens `stride` bytes apart,
 * the last ending at a guard page. */
typedef struct rows {
    nt_guard gw, gx;
    unsigned char *w, *xq;
    size_t stride;
} rows;

static void rows_alloc(rows *r, const ltype *t, int64_t nb, int k)
{
    r->w = (unsigned char *)nt_guarded_alloc((size_t)(nb * t->bytes) + 1, &r->gw) + 1;
    r->stride = (size_t)(nb + 1) * sizeof(nt_q8a_block);
    const size_t xbytes = (size_t)(k - 1) * r->stride + (size_t)nb * sizeof(nt_q8a_block);
    r->xq = nt_guarded_alloc(xbytes, &r->gx);
    cr_assert(r->w && r->xq);
    memset(r->xq, 0, xbytes);
}

static void rows_free(rows *r)
{
    nt_guarded_free(&r->gw);
    nt_guarded_free(&r->gx);
}

/* ---- quantizers ------------------------------------------------------------ */

/* 24 blocks of 32 (3 of 256) of one kind of data. */
static void fill(float *x, int n, int kind, nt_rng *r)
{
    for (int i = 0; i < n; i++) {
        const int blk = i / 32;
        switch (kind) {
        case 0: x[i] = nt_rng_float(r) * ldexpf(1.0f, (int)(nt_rng_next(r) % 40) - 20); break;
        case 1: x[i] = blk % 3 == 0 ? 0.0f : blk % 3 == 1 ? -0.0f : nt_rng_float(r); break;
        case 2: /* amax 127 (d = 1, id = 1): halves are exact ties */
            x[i] = (float)((int)(nt_rng_next(r) % 253) - 126) + 0.5f;
            break;
        case 3: /* amax 63.5 (d = 0.5, id = 2): quarters x * id tie */
            x[i] = ((float)((int)(nt_rng_next(r) % 253) - 126) + 0.5f) * 0.5f;
            break;
        case 4: /* subnormals, alone or beside normals of every size */
            x[i] = nt_rng_float(r) * 0x1p-127f;
            if (blk % 4 == 1 && i % 32 == 5) x[i] = nt_rng_float(r);
            if (blk % 4 == 2 && i % 32 == 9) x[i] = 0x1p-122f;
            if (blk % 4 == 3 && i % 32 == 3) x[i] = nt_rng_float(r) * 0x1p-100f;
            break;
        default: /* around the amax where 1 / d overflows */
            x[i] = nt_rng_float(r) * ldexpf(1.0f, -118 - blk % 8);
            break;
        }
        if (kind == 2 && i % 32 == 7) x[i] = (blk % 2) ? 127.0f : -127.0f;
        if (kind == 3 && i % 32 == 7) x[i] = (blk % 2) ? 63.5f : -63.5f;
    }
}

Test(qdot, quantizers_follow_the_rule_and_match_scalar_bitwise)
{
    enum { N = 768 };
    nt_rng r = {11};
    float x[N];
    nt_q8a_block ref_a[N / 32], got_a[N / 32];
    nt_q8k_block ref_k[N / 256], got_k[N / 256];
    for (int kind = 0; kind < 6; kind++)
        for (int round = 0; round < 20; round++) {
            fill(x, N, kind, &r);
            memset(ref_a, 0x55, sizeof ref_a);
            memset(ref_k, 0x55, sizeof ref_k);
            nt_quantize_q8a_scalar(x, ref_a, N);
            nt_quantize_q8k_scalar(x, ref_k, N);
            /* the rule, directly */
            for (int b = 0; b < N / 32; b++) {
                float amax = 0;
                for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(x[32 * b + i]));
                const float d = amax / 127.0f;
                float id = d != 0 ? 1.0f / d : 0.0f;
                if (isinf(id)) id = 0.0f;
                cr_assert(same_float(ref_a[b].d, d), "kind %d block %d", kind, b);
                int s = 0;
                for (int i = 0; i < 32; i++) {
                    const float p = x[32 * b + i] * id;
                    const int q = (int)nearbyintf(p);
                    cr_assert(q >= -127 && q <= 127);
                    if (fabsf(p - truncf(p)) == 0.5f) cr_assert(q % 2 == 0, "tie %g rounded to %d", (double)p, q);
                    cr_assert(ref_a[b].qs[i] == q, "kind %d block %d value %d: %d, want %d", kind, b, i,
                              ref_a[b].qs[i], q);
                    s += q;
                }
                cr_assert(ref_a[b].s == s);
            }
            for (int b = 0; b < N / 256; b++)
                for (int g = 0; g < 16; g++) {
                    int s = 0;
                    for (int i = 0; i < 16; i++) s += ref_k[b].qs[16 * g + i];
                    cr_assert(ref_k[b].bsums[g] == s);
                }
            for (size_t i = 0; i < N_ISAS; i++) {
                if (!nt_isa_supported(all_isas[i].isa)) continue;
                memset(got_a, 0xaa, sizeof got_a);
                memset(got_k, 0xaa, sizeof got_k);
                all_isas[i].q8a(x, got_a, N);
                all_isas[i].q8k(x, got_k, N);
                cr_assert(memcmp(got_a, ref_a, sizeof ref_a) == 0, "%s q8a, data kind %d",
                          nt_isa_name(all_isas[i].isa), kind);
                cr_assert(memcmp(got_k, ref_k, sizeof ref_k) == 0, "%s q8k, data kind %d",
                          nt_isa_name(all_isas[i].isa), kind);
            }
        }
    /* ties by hand: d = 1 */
    float t[32] = {127.0f, 2.5f, 3.5f, -2.5f, -3.5f, 0.5f, -0.5f, 1.5f};
    nt_q8a_block b;
    nt_quantize_q8a_scalar(t, &b, 32);
    const int8_t want[8] = {127, 2, 4, -2, -4, 0, 0, 2};
    cr_assert(b.d == 1.0f && memcmp(b.qs, want, sizeof want) == 0);
}

/* ---- dots -------------------------------------------------------------------- */

/* The int64 dot of a row's integer parts: sum_b dw * isum_b + m * s_b, with
 * dw = +-1 and integer m; *abs_sum gets the sum of the magnitudes of the
 * block terms. */
static int64_t int_ref(const ltype *t, const unsigned char *w, const nt_q8a_block *x, int64_t nb, int64_t *abs_sum)
{
    int64_t sum = 0, abs = 0;
    for (int64_t b = 0; b < nb; b++) {
        const unsigned char *blk = w + b * t->bytes;
        int64_t isum = 0;
        for (int i = 0; i < 32; i++) isum += (int64_t)ref_q(t->id, blk, i) * x[b].qs[i];
        int64_t c = (int64_t)h16(blk) * isum;
        if (t->has_min) c += (int64_t)h16(blk + 2) * x[b].s;
        sum += c;
        abs += c < 0 ? -c : c;
    }
    *abs_sum = abs;
    return sum;
}

Test(qdot, integer_parts_are_exact_on_every_isa)
{
    nt_rng r = {5};
    variant vs[8];
    const int nv = variants(vs);
    for (int ti = 0; ti < N_TYPES; ti++) {
        const ltype *t = &ltypes[ti];
        for (size_t c = 0; c < N_COUNTS; c++) {
            const int64_t nb = block_counts[c], n = nb * 32;
            if (nb > 32) continue; /* 32 * 32 * 128 * 127 < 2^24: every partial sum is exact */
            for (int round = 0; round < 6; round++) {
                rows rw;
                rows_alloc(&rw, t, nb, 1);
                float *x = malloc((size_t)n * sizeof *x);
                cr_assert(x);
                random_blocks(t, rw.w, nb, &r);
                for (int64_t b = 0; b < nb; b++) {
                    unsigned char *blk = rw.w + b * t->bytes;
                    if (round >= 4) /* extreme quants: all bits set, or (Q8_0) all -128 */
                        for (int j = 2; j < t->bytes; j++) blk[j] = round == 4 ? 0xff : 0x80;
                    put16(blk, nt_rng_next(&r) % 2 ? 0x3c00 : 0xbc00); /* +-1 */
                    if (t->has_min) put16(blk + 2, nt_fp32_to_fp16((float)((int)(nt_rng_next(&r) % 7) - 3)));
                }
                for (int64_t i = 0; i < n; i++) {
                    x[i] = (float)((int)(nt_rng_next(&r) % 255) - 127);
                    if (round >= 4) x[i] = (i % 3) ? -127.0f : 127.0f;
                }
                for (int64_t b = 0; b < nb; b++) x[32 * b + (b % 32)] = b % 2 ? 127.0f : -127.0f;
                nt_q8a_block *xq = (nt_q8a_block *)rw.xq;
                nt_quantize_q8a_scalar(x, xq, n);
                for (int64_t i = 0; i < n; i++) cr_assert(xq[i / 32].d == 1.0f && xq[i / 32].qs[i % 32] == x[i]);
                int64_t abs_sum;
                const int64_t want = int_ref(t, rw.w, xq, nb, &abs_sum);
                cr_assert(abs_sum < (1 << 24), "%lld", (long long)abs_sum);
                const float scalar = all_isas[0].dot[ti](n, rw.w, xq);
                cr_assert(same_float(scalar, (float)want), "scalar %s nb=%lld: %.9g, want %lld", t->name,
                          (long long)nb, (double)scalar, (long long)want);
                for (int v = 0; v < nv; v++) {
                    use(&vs[v]);
                    const float got = vs[v].k->dot[ti](n, rw.w, xq);
                    cr_assert(same_float(got, (float)want), "%s %s nb=%lld round %d: %.9g, want %lld", vname(&vs[v]),
                              t->name, (long long)nb, round, (double)got, (long long)want);
                }
                free(x);
                rows_free(&rw);
            }
        }
    }
}

/* The bounds on one random row, from the blocks' parts (u = 2^-24):
 *  - a SIMD kernel computes the same block terms c_b as the scalar one and
 *    sums them in another order; each recursive or pairwise sum of nb terms
 *    is within (nb - 1) u sum|c_b| (to first order) of the exact sum, so
 *    two such sums differ by at most 2 nb u sum|c_b|;
 *  - the scalar dot against the exact dot D = sum_i w_i x_i of the
 *    dequantized weights w_i (to_float) and the F32 activations x_i:
 *    with q_i = round(fl(x_i id)), |x_i id (1 + e) - q_i| <= 1/2 and
 *    id = (1/dx)(1 + e'), |e|, |e'| <= u, |x_i / dx| <= 127 (1 + u), so
 *    |x_i - dx q_i| <= dx (1/2 + 255 u). The integer sums are exact; the
 *    _1 types' to_float rounds d q + m once (|w_i - (d q_i + m)| <= u |w_i|
 *    to first order), and the block term costs two roundings per product
 *    and one for the add (3 u (|A_b| + |B_b|)) before the (nb - 1) u of the
 *    sum. Total, to first order:
 *      sum_b dx_b (1/2 + 256 u) sum_{i in b} |w_i|
 *      + [_1 types] u sum_i |w_i| (|x_i| + dx)
 *      + (nb + 3) u sum_b (|A_b| + |B_b|),
 *    with A_b = dw dx isum_b and B_b = m dx s_b; plus the error of the
 *    double reference itself. */
typedef struct bounds {
    double reorder, quant, exact;
} bounds;

static bounds row_bounds(const ltype *t, const unsigned char *w, const nt_q8a_block *xq, const float *x,
                         const float *deq, int64_t nb)
{
    const double u = 0x1p-24;
    double quant = 0, abs_ab = 0, abs_c = 0, exact = 0, abs_wx = 0;
    for (int64_t b = 0; b < nb; b++) {
        const unsigned char *blk = w + b * t->bytes;
        const double dw = h16(blk), m = t->has_min ? h16(blk + 2) : 0, dx = xq[b].d;
        double isum = 0, wabs = 0;
        for (int i = 0; i < 32; i++) {
            const int64_t k = 32 * b + i;
            isum += (double)ref_q(t->id, blk, i) * xq[b].qs[i];
            wabs += fabs(deq[k]);
            exact += (double)deq[k] * x[k];
            abs_wx += fabs((double)deq[k] * x[k]);
            if (t->has_min) quant += u * fabs(deq[k]) * (fabs(x[k]) + dx);
        }
        quant += dx * (0.5 + 256 * u) * wabs;
        const double a = fabs(dw * dx * isum), bb = fabs(m * dx * xq[b].s);
        abs_ab += a + bb;
        abs_c += fabs(dw * dx * isum + m * dx * xq[b].s) + 3 * u * (a + bb);
    }
    quant += ((double)nb + 3) * u * abs_ab * (1 + 1e-6) + (double)nb * 32 * 0x1p-52 * abs_wx;
    return (bounds){(2.0 * (double)nb + 4) * u * abs_c + 1e-30, quant * (1 + 1e-6) + 1e-30, exact};
}

static void random_activations(float *x, int64_t n, nt_rng *r)
{
    for (int64_t i = 0; i < n; i++) x[i] = nt_rng_float(r) * (i % 97 == 3 ? 8.0f : 1.0f);
}

Test(qdot, random_rows_within_the_reordering_and_quantization_bounds)
{
    nt_rng r = {17};
    variant vs[8];
    const int nv = variants(vs);
    for (int ti = 0; ti < N_TYPES; ti++) {
        const ltype *t = &ltypes[ti];
        for (size_t c = 0; c < N_COUNTS; c++) {
            const int64_t nb = block_counts[c], n = nb * 32;
            for (int round = 0; round < 4; round++) {
                rows rw;
                rows_alloc(&rw, t, nb, 1);
                float *x = malloc((size_t)n * sizeof *x), *deq = malloc((size_t)n * sizeof *deq);
                cr_assert(x && deq);
                random_blocks_w(t, rw.w, nb, &r, round == 3);
                random_activations(x, n, &r);
                nt_q8a_block *xq = (nt_q8a_block *)rw.xq;
                nt_quantize_q8a_scalar(x, xq, n);
                nt_type_kernels_isa(t->id, NT_ISA_SCALAR)->to_float(rw.w, deq, n);
                const bounds bd = row_bounds(t, rw.w, xq, x, deq, nb);
                const float scalar = all_isas[0].dot[ti](n, rw.w, xq);
                cr_assert(fabs((double)scalar - bd.exact) <= bd.quant,
                          "%s nb=%lld: scalar %.9g, exact %.9g, bound %.3g", t->name, (long long)nb,
                          (double)scalar, bd.exact, bd.quant);
                for (int v = 0; v < nv; v++) {
                    use(&vs[v]);
                    const float got = vs[v].k->dot[ti](n, rw.w, xq);
                    cr_assert(fabs((double)got - (double)scalar) <= bd.reorder,
                              "%s %s nb=%lld: %.9g, scalar %.9g, bound %.3g", vname(&vs[v]), t->name,
                              (long long)nb, (double)got, (double)scalar, bd.reorder);
                    /* the extension changes no bit */
                    if (vs[v].ext == 1) {
                        vs[v].k->ext(0);
                        const float plain = vs[v].k->dot[ti](n, rw.w, xq);
                        cr_assert(same_float(plain, got), "%s %s nb=%lld: %.9g with the extension, %.9g without",
                                  nt_isa_name(vs[v].k->isa), t->name, (long long)nb, (double)got, (double)plain);
                    }
                }
                free(x);
                free(deq);
                rows_free(&rw);
            }
        }
    }
}

Test(qdot, multi_token_dots_match_single_dots_bitwise)
{
    nt_rng r = {23};
    variant vs[8];
    const int nv = variants(vs);
    for (int ti = 0; ti < N_TYPES; ti++) {
        const ltype *t = &ltypes[ti];
        for (size_t c = 0; c < N_COUNTS; c++) {
            const int64_t nb = block_counts[c], n = nb * 32;
            for (int k = 1; k <= NT_DOTK_Q_MAX; k++) {
                rows rw;
                rows_alloc(&rw, t, nb, k);
                float *x = malloc((size_t)n * sizeof *x);
                cr_assert(x);
                random_blocks_w(t, rw.w, nb, &r, k % 2 == 0);
                for (int u = 0; u < k; u++) {
                    random_activations(x, n, &r);
                    nt_quantize_q8a_scalar(x, rw.xq + (size_t)u * rw.stride, n);
                }
                for (int v = 0; v < nv; v++) {
                    use(&vs[v]);
                    float out[NT_DOTK_Q_MAX + 1], want[NT_DOTK_Q_MAX];
                    out[k] = 12345.0f;
                    vs[v].k->dotk[ti](n, rw.w, rw.xq, rw.stride, k, out);
                    for (int u = 0; u < k; u++) want[u] = vs[v].k->dot[ti](n, rw.w, rw.xq + (size_t)u * rw.stride);
                    cr_assert(memcmp(out, want, (size_t)k * sizeof *out) == 0, "%s %s nb=%lld k=%d",
                              vname(&vs[v]), t->name, (long long)nb, k);
                    cr_assert(out[k] == 12345.0f, "wrote past k outputs");
                }
                free(x);
                rows_free(&rw);
            }
        }
    }
}

/* The kernels over packed (qdot.h nt_q8a_pack) or transposed
 * (nt_q8a_pack_t) activations, where an ISA has them: each token's result
 * bitwise that ISA's single dot. */
static void check_layout_dots(bool transposed, uint64_t seed)
{
    const char *layout = transposed ? "transposed" : "packed";
    nt_rng r = {seed};
    variant vs[8];
    const int nv = variants(vs);
    int tested = 0;
    for (int ti = 0; ti < N_TYPES; ti++) {
        const ltype *t = &ltypes[ti];
        for (size_t c = 0; c < N_COUNTS; c++)
        for (int k = 1; k <= NT_DOTK_Q_MAX; k++) {
            const int64_t nb = block_counts[c], n = nb * 32;
            rows rw;
            rows_alloc(&rw, t, nb, k);
            const size_t xbytes = (size_t)(k - 1) * rw.stride + (size_t)nb * sizeof(nt_q8a_block);
            nt_guard gp;
            unsigned char *xp = nt_guarded_alloc(xbytes, &gp);
            float *x = malloc((size_t)n * sizeof *x);
            cr_assert(x && xp);
            memset(xp, 0xA5, xbytes); /* the unpacked tail must not be read */
            random_blocks_w(t, rw.w, nb, &r, c % 2 == 0);
            for (int u = 0; u < k; u++) {
                random_activations(x, n, &r);
                nt_quantize_q8a_scalar(x, rw.xq + (size_t)u * rw.stride, n);
                if (transposed)
                    nt_q8a_pack_t(rw.xq + (size_t)u * rw.stride, xp + (size_t)u * rw.stride, nb,
                                  nt_q8a_pack_t_smul(t->id));
                else
                    nt_q8a_pack(rw.xq + (size_t)u * rw.stride, xp + (size_t)u * rw.stride, nb);
            }
            for (int v = 0; v < nv; v++) {
                const nt_type_kernels *tk = nt_type_kernels_isa(t->id, vs[v].k->isa);
                const nt_dotk_qp_fn dotk = !tk ? NULL : transposed ? tk->dotk_qt : tk->dotk_qp;
                if (!dotk) continue;
                use(&vs[v]);
                float out[NT_DOTK_Q_MAX + 1], want[NT_DOTK_Q_MAX];
                out[k] = 12345.0f;
                dotk(n, rw.w, rw.xq, xp, rw.stride, k, out);
                for (int u = 0; u < k; u++) want[u] = vs[v].k->dot[ti](n, rw.w, rw.xq + (size_t)u * rw.stride);
                cr_assert(memcmp(out, want, (size_t)k * sizeof *out) == 0, "%s %s nb=%lld k=%d %s", vname(&vs[v]),
                          t->name, (long long)nb, k, layout);
                cr_assert(out[k] == 12345.0f, "wrote past k outputs");
                tested++;
            }
            free(x);
            nt_guarded_free(&gp);
            rows_free(&rw);
        }
    }
    cr_log_info("%s kernels tested: %d cases", layout, tested);
}

Test(qdot, packed_multi_token_dots_match_single_dots_bitwise) { check_layout_dots(false, 29); }
Test(qdot, transposed_multi_token_dots_match_single_dots_bitwise) { check_layout_dots(true, 31); }
