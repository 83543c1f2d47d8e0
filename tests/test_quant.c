/*
 * The quantized weight types: each dequantizer against a reference decoder
 * written here from the format definitions (ggml-common.h's block layouts,
 * element by element with its own index arithmetic, and the same float
 * operations ggml's dequantization defines), on hand-built blocks with
 * known values and on random blocks whose F16 scales include negative,
 * subnormal and extreme values; and each ISA's dot against a double
 * precision dot of the dequantized row, and bitwise against that ISA's F32
 * dot of it (which batched matrix products rely on). Rows end at an
 * inaccessible page and start unaligned.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/harness.h"
#include "support/guarded.h"

#include "core/isa.h"
#include "kernels/kernels.h"
#include "types/types.h"

typedef struct qtype {
    uint32_t id;
    int blck, bytes;
} qtype;

static const qtype qtypes[] = {
    {NT_TYPE_Q4_0, 32, 18},  {NT_TYPE_Q4_1, 32, 20},  {NT_TYPE_Q5_0, 32, 22},  {NT_TYPE_Q5_1, 32, 24},
    {NT_TYPE_Q8_0, 32, 34},  {NT_TYPE_Q2_K, 256, 84}, {NT_TYPE_Q3_K, 256, 110}, {NT_TYPE_Q4_K, 256, 144},
    {NT_TYPE_Q5_K, 256, 176}, {NT_TYPE_Q6_K, 256, 210},
};
#define N_QTYPES (sizeof qtypes / sizeof qtypes[0])

/* ---- reference decoders: value i of one block --------------------------- */

static float h16(const unsigned char *p)
{
    uint16_t h = (uint16_t)(p[0] | p[1] << 8); /* GGUF is little-endian */
    return nt_fp16_to_fp32(h);
}

/* Four-bit quant i of a 32-value block stored as 16 bytes: the first 16
 * values in the low nibbles, the next 16 in the high nibbles. */
static int nib32(const unsigned char *qs, int i) { return i < 16 ? qs[i] & 15 : qs[i - 16] >> 4; }

/* Q4_K/Q5_K six-bit scales and mins, unpacked as whole 32-bit words. */
static void unpack_k4(const unsigned char *s12, uint8_t sc[8], uint8_t mn[8])
{
    uint32_t u[4];
    for (int k = 0; k < 3; k++)
        u[k] = (uint32_t)s12[4 * k] | (uint32_t)s12[4 * k + 1] << 8 | (uint32_t)s12[4 * k + 2] << 16 |
               (uint32_t)s12[4 * k + 3] << 24;
    const uint32_t m6 = 0x3f3f3f3fu, m4 = 0x0f0f0f0fu, m2 = 0x03030303u;
    uint32_t s_lo = u[0] & m6, n_lo = u[1] & m6;
    uint32_t s_hi = (u[2] & m4) | (((u[0] >> 6) & m2) << 4);
    uint32_t n_hi = ((u[2] >> 4) & m4) | (((u[1] >> 6) & m2) << 4);
    for (int k = 0; k < 4; k++) {
        sc[k] = (uint8_t)(s_lo >> (8 * k));
        sc[k + 4] = (uint8_t)(s_hi >> (8 * k));
        mn[k] = (uint8_t)(n_lo >> (8 * k));
        mn[k + 4] = (uint8_t)(n_hi >> (8 * k));
    }
}

/* Q3_K's sixteen six-bit scales (bias 32 not yet removed), as words. */
static void unpack_q3k(const unsigned char *s12, uint8_t sc[16])
{
    uint32_t u[3];
    for (int k = 0; k < 3; k++)
        u[k] = (uint32_t)s12[4 * k] | (uint32_t)s12[4 * k + 1] << 8 | (uint32_t)s12[4 * k + 2] << 16 |
               (uint32_t)s12[4 * k + 3] << 24;
    const uint32_t m4 = 0x0f0f0f0fu, m2 = 0x03030303u;
    uint32_t w[4] = {(u[0] & m4) | ((u[2] & m2) << 4), (u[1] & m4) | (((u[2] >> 2) & m2) << 4),
                     ((u[0] >> 4) & m4) | (((u[2] >> 4) & m2) << 4), ((u[1] >> 4) & m4) | (((u[2] >> 6) & m2) << 4)};
    for (int k = 0; k < 16; k++) sc[k] = (uint8_t)(w[k / 4] >> (8 * (k % 4)));
}

static float ref_value(uint32_t type, const unsigned char *b, int i)
{
    switch (type) {
    case NT_TYPE_Q4_0: return (float)(nib32(b + 2, i) - 8) * h16(b);
    case NT_TYPE_Q4_1: return (float)nib32(b + 4, i) * h16(b) + h16(b + 2);
    case NT_TYPE_Q5_0: {
        int hb = (b[2 + i / 8] >> (i % 8)) & 1;
        return (float)((nib32(b + 6, i) | hb << 4) - 16) * h16(b);
    }
    case NT_TYPE_Q5_1: {
        int hb = (b[4 + i / 8] >> (i % 8)) & 1;
        return (float)(nib32(b + 8, i) | hb << 4) * h16(b) + h16(b + 2);
    }
    case NT_TYPE_Q8_0: return (float)(int8_t)b[2 + i] * h16(b);
    case NT_TYPE_Q2_K: {
        /* value i: 128-value half, then four two-bit planes of 32 */
        int half = i / 128, plane = (i % 128) / 32, r = i % 32;
        int q = (b[16 + 32 * half + r] >> (2 * plane)) & 3;
        int sc = b[i / 16];
        return h16(b + 80) * (float)(sc & 15) * (float)q - h16(b + 82) * (float)(sc >> 4);
    }
    case NT_TYPE_Q3_K: {
        int half = i / 128, plane = (i % 128) / 32, r = i % 32;
        int q = (b[32 + 32 * half + r] >> (2 * plane)) & 3;
        int high = (b[r] >> (4 * half + plane)) & 1;
        uint8_t sc[16];
        unpack_q3k(b + 96, sc);
        return h16(b + 108) * (float)((int)sc[i / 16] - 32) * (float)(q - (high ? 0 : 4));
    }
    case NT_TYPE_Q4_K:
    case NT_TYPE_Q5_K: {
        const bool five = type == NT_TYPE_Q5_K;
        const unsigned char *qs = b + (five ? 48 : 16);
        int g = i / 32, byte = qs[32 * (g / 2) + i % 32];
        int q = g % 2 ? byte >> 4 : byte & 15;
        if (five) q += ((b[16 + i % 32] >> g) & 1) * 16;
        uint8_t sc[8], mn[8];
        unpack_k4(b + 4, sc, mn);
        return h16(b) * (float)sc[g] * (float)q - h16(b + 2) * (float)mn[g];
    }
    case NT_TYPE_Q6_K: {
        int half = i / 128, k = (i % 128) / 32, l = i % 32;
        int byte = b[64 * half + l + 32 * (k & 1)];
        int lo = k >= 2 ? byte >> 4 : byte & 15;
        int hi = (b[128 + 32 * half + l] >> (2 * k)) & 3;
        return h16(b + 208) * (float)(int8_t)b[192 + i / 16] * (float)((lo | hi << 4) - 32);
    }
    default: return NAN;
    }
}

/* ---- block builders ------------------------------------------------------ */

/* Byte offsets of each type's F16 fields. */
static int f16_fields(uint32_t type, int off[2])
{
    switch (type) {
    case NT_TYPE_Q4_0: case NT_TYPE_Q5_0: case NT_TYPE_Q8_0: off[0] = 0; return 1;
    case NT_TYPE_Q4_1: case NT_TYPE_Q5_1: case NT_TYPE_Q4_K: case NT_TYPE_Q5_K: off[0] = 0; off[1] = 2; return 2;
    case NT_TYPE_Q2_K: off[0] = 80; off[1] = 82; return 2;
    case NT_TYPE_Q3_K: off[0] = 108; return 1;
    case NT_TYPE_Q6_K: off[0] = 208; return 1;
    default: return 0;
    }
}

static void put16(unsigned char *p, uint16_t h)
{
    p[0] = (unsigned char)h;
    p[1] = (unsigned char)(h >> 8);
}

/* A random F16 scale: any finite value when `wild` (subnormals, negatives,
 * 65504 included), else a moderate one of either sign. */
static uint16_t random_scale(nt_rng *r, bool wild)
{
    if (wild) {
        uint16_t h;
        do h = (uint16_t)nt_rng_next(r); while ((h & 0x7c00) == 0x7c00);
        switch (nt_rng_next(r) % 8) {
        case 0: return (uint16_t)(h & 0x83ff);  /* subnormal or zero */
        case 1: return (uint16_t)((h & 0x8000) | 0x7bff); /* largest magnitude, either sign */
        default: return h;
        }
    }
    return nt_fp32_to_fp16(nt_rng_float(r) * 0.02f);
}

static void random_blocks(const qtype *t, unsigned char *p, int64_t nb, nt_rng *r, bool wild)
{
    for (int64_t k = 0; k < nb; k++) {
        unsigned char *b = p + k * t->bytes;
        for (int j = 0; j < t->bytes; j++) b[j] = (unsigned char)nt_rng_next(r);
        int off[2];
        int nf = f16_fields(t->id, off);
        for (int f = 0; f < nf; f++) put16(b + off[f], random_scale(r, wild));
    }
}

static bool same_float(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

/* Back to the best ISA after a test forced each in turn. */
static void restore_best_isa(void)
{
    for (int isa = NT_ISA_COUNT - 1; isa >= 0; isa--)
        if (nt_isa_force((nt_isa)isa)) return;
}

/* ---- tests ------------------------------------------------------------------ */

Test(quant, traits_match_the_block_layouts)
{
    for (size_t k = 0; k < N_QTYPES; k++) {
        const nt_type_traits *t = nt_type_traits_get(qtypes[k].id);
        cr_assert(t != NULL);
        cr_assert(t->blck_size == qtypes[k].blck && t->type_size == qtypes[k].bytes, "%s", t->name);
        cr_assert(nt_type_is_computable(qtypes[k].id), "%s", t->name);
    }
    cr_assert(!nt_type_is_computable(NT_TYPE_Q8_1));
    cr_assert(!nt_type_is_computable(NT_TYPE_Q8_K));
}

static float deq_one(uint32_t type, const unsigned char *b, int blck, int i)
{
    float y[256];
    nt_type_kernels_isa(type, NT_ISA_SCALAR)->to_float(b, y, blck);
    return y[i];
}

Test(quant, known_blocks_decode_to_hand_computed_values)
{
    unsigned char b[256];
    /* Q8_0: d = -2 (negative scale), quants -128 and 127 */
    memset(b, 0, sizeof b);
    put16(b, 0xc000);
    b[2 + 0] = 0x80;
    b[2 + 31] = 0x7f;
    cr_assert(deq_one(NT_TYPE_Q8_0, b, 32, 0) == 256.0f);
    cr_assert(deq_one(NT_TYPE_Q8_0, b, 32, 31) == -254.0f);
    /* Q4_0: d = 0.5; byte 0xf0: value 0 is 0-8, value 16 is 15-8 */
    memset(b, 0, sizeof b);
    put16(b, 0x3800);
    b[2] = 0xf0;
    cr_assert(deq_one(NT_TYPE_Q4_0, b, 32, 0) == -4.0f);
    cr_assert(deq_one(NT_TYPE_Q4_0, b, 32, 16) == 3.5f);
    cr_assert(deq_one(NT_TYPE_Q4_0, b, 32, 1) == -4.0f);
    /* Q4_0 with the smallest subnormal scale 2^-24 */
    put16(b, 0x0001);
    cr_assert(deq_one(NT_TYPE_Q4_0, b, 32, 16) == 7.0f * 0x1p-24f);
    /* Q4_K: d = 1, dmin = 0.5; group 5 gets scale 53 (0b110101) and min
     * 43 (0b101011): low bits in byte 9's nibbles, high bits in the top two
     * bits of bytes 1 and 5; group 5 is the high nibbles of qs[64..95]. */
    memset(b, 0, sizeof b);
    put16(b, 0x3c00);
    put16(b + 2, 0x3800);
    b[4 + 9] = 0xb5;
    b[4 + 1] = 0xc0;
    b[4 + 5] = 0x80;
    b[16 + 64 + 3] = 0x70;
    cr_assert(deq_one(NT_TYPE_Q4_K, b, 256, 5 * 32 + 3) == 53.0f * 7.0f - 21.5f);
    cr_assert(deq_one(NT_TYPE_Q4_K, b, 256, 5 * 32 + 4) == -21.5f);
    cr_assert(deq_one(NT_TYPE_Q4_K, b, 256, 32 + 3) == 0.0f); /* group 1: scale and min 0 */
    cr_assert(deq_one(NT_TYPE_Q4_K, b, 256, 2 * 64 + 3) == 0.0f); /* low nibble of the same byte */
    /* Q6_K: d = 1; value 200 (half 1, quarter 2, l = 8): low bits from the
     * high nibble of ql[64 + 8], high bits from bits 4-5 of qh[32 + 8];
     * scale 12 = -3. Value 136 shares both bytes: low nibble, bits 0-1. */
    memset(b, 0, sizeof b);
    put16(b + 208, 0x3c00);
    b[72] = 0xa0;
    b[128 + 40] = 0x20;
    b[192 + 12] = (unsigned char)-3;
    b[192 + 8] = 5;
    cr_assert(deq_one(NT_TYPE_Q6_K, b, 256, 200) == -3.0f * (float)(42 - 32));
    cr_assert(deq_one(NT_TYPE_Q6_K, b, 256, 136) == 5.0f * -32.0f);
    /* Q3_K: d = 1; value 150 (half 1, plane 0, l = 22): scale 9 has low
     * bits from byte 1's high nibble (7) and high bits from bits 4-5 of
     * byte 9 (1): 23 - 32 = -9; quant 3 with its hmask bit clear: 3 - 4. */
    memset(b, 0, sizeof b);
    put16(b + 108, 0x3c00);
    b[96 + 1] = 0x70;
    b[96 + 9] = 0x10;
    b[32 + 32 + 22] = 0x03;
    cr_assert(deq_one(NT_TYPE_Q3_K, b, 256, 150) == 9.0f);
    b[22] = 0x10; /* hmask bit 4 (half 1, plane 0) set: no -4 */
    cr_assert(deq_one(NT_TYPE_Q3_K, b, 256, 150) == -27.0f);
    cr_assert(deq_one(NT_TYPE_Q3_K, b, 256, 16) == 128.0f); /* scale 1 = 0 - 32, quant 0 - 4 */
}

Test(quant, dequantizers_match_the_reference_decoders)
{
    nt_rng r = {42};
    unsigned char blocks[8 * 256];
    float y[8 * 256];
    for (size_t k = 0; k < N_QTYPES; k++) {
        const qtype *t = &qtypes[k];
        const nt_type_traits *tr = nt_type_traits_get(t->id);
        for (int round = 0; round < 200; round++) {
            const int nb = 1 + round % 4;
            random_blocks(t, blocks, nb, &r, true);
            /* every few rounds, extreme quants: all bits set or all clear */
            if (round % 10 == 1 || round % 10 == 2) {
                int off[2];
                int nf = f16_fields(t->id, off);
                for (int j = 0; j < t->bytes * nb; j++) {
                    bool is_scale = false;
                    for (int f = 0; f < nf; f++)
                        if (j % t->bytes == off[f] || j % t->bytes == off[f] + 1) is_scale = true;
                    if (!is_scale) blocks[j] = round % 10 == 1 ? 0xff : 0x00;
                }
            }
            nt_type_kernels_isa(t->id, NT_ISA_SCALAR)->to_float(blocks, y, (int64_t)nb * t->blck);
            for (int64_t i = 0; i < (int64_t)nb * t->blck; i++) {
                float want = ref_value(t->id, blocks + (i / t->blck) * t->bytes, (int)(i % t->blck));
                cr_assert(same_float(y[i], want) || (isnan(y[i]) && isnan(want)),
                          "%s value %lld: got %.9g, want %.9g", tr->name, (long long)i, (double)y[i],
                          (double)want);
            }
        }
    }
}

Test(quant, dots_match_double_reference_and_the_f32_dot_on_every_isa)
{
    nt_rng r = {7};
    const int block_counts[] = {1, 2, 3, 5, 8, 17};
    for (int isa = 0; isa < NT_ISA_COUNT; isa++) {
        if (!nt_isa_force((nt_isa)isa)) continue;
        const nt_vec_dot_fn f32dot = nt_type_kernels_isa(NT_TYPE_F32, (nt_isa)isa)->vec_dot;
        for (size_t k = 0; k < N_QTYPES; k++) {
            const qtype *t = &qtypes[k];
            const nt_type_traits *tr = nt_type_traits_get(t->id);
            const nt_vec_dot_fn dot = nt_type_vec_dot(t->id);
            cr_assert(dot != NULL);
            for (size_t c = 0; c < sizeof block_counts / sizeof block_counts[0]; c++) {
                const int64_t nb = block_counts[c], n = nb * t->blck;
                nt_guard gw, gx;
                /* one spare byte / float in front: rows start unaligned and end at the guard page */
                unsigned char *w = (unsigned char *)nt_guarded_alloc((size_t)(nb * t->bytes) + 1, &gw) + 1;
                float *x = (float *)nt_guarded_alloc((size_t)(n + 1) * sizeof(float), &gx) + 1;
                float *deq = malloc((size_t)n * sizeof *deq);
                cr_assert(w && x && deq);
                random_blocks(t, w, nb, &r, false);
                for (int64_t i = 0; i < n; i++) x[i] = nt_rng_float(&r);
                nt_type_kernels_isa(t->id, NT_ISA_SCALAR)->to_float(w, deq, n);
                double want = 0, abs_sum = 0;
                for (int64_t i = 0; i < n; i++) {
                    want += (double)deq[i] * (double)x[i];
                    abs_sum += fabs((double)deq[i] * (double)x[i]);
                }
                const float got = dot(n, w, x);
                const double tol = ((double)n / 8.0 + 16.0) * 0x1p-24 * abs_sum;
                cr_assert(fabs((double)got - want) <= tol, "%s %s n=%lld: got %.9g, want %.9g (tol %.3g)",
                          nt_isa_name((nt_isa)isa), tr->name, (long long)n, (double)got, want, tol);
                if (f32dot) {
                    const float f = f32dot(n, deq, x);
                    cr_assert(same_float(got, f), "%s %s n=%lld: %.9g, F32 dot of the dequantized row %.9g",
                              nt_isa_name((nt_isa)isa), tr->name, (long long)n, (double)got, (double)f);
                }
                free(deq);
                nt_guarded_free(&gw);
                nt_guarded_free(&gx);
            }
        }
    }
    restore_best_isa();
}

Test(quant, matmul_batches_bitwise_like_single_dots_and_rows_decode)
{
    nt_rng r = {99};
    const int64_t n_tok = 11, n_out = 37;
    for (int isa = 0; isa < NT_ISA_COUNT; isa++) {
        if (!nt_isa_force((nt_isa)isa)) continue;
        for (size_t k = 0; k < N_QTYPES; k++) {
            const qtype *t = &qtypes[k];
            /* n_in past one 2048-value block of the batched path, and a short one */
            for (int64_t n_in = t->blck * 3; n_in <= 4096 + 2 * 256; n_in += 4096 + 2 * 256 - t->blck * 3) {
                if (n_in % t->blck) continue;
                const size_t row_bytes = (size_t)(n_in / t->blck * t->bytes);
                unsigned char *data = malloc(row_bytes * (size_t)n_out);
                float *x = malloc((size_t)(n_tok * n_in) * sizeof *x);
                float *y = malloc((size_t)(n_tok * n_out) * sizeof *y);
                float *row = malloc((size_t)n_in * sizeof *row);
                cr_assert(data && x && y && row);
                random_blocks(t, data, (int64_t)(row_bytes / (size_t)t->bytes) * n_out, &r, false);
                for (int64_t i = 0; i < n_tok * n_in; i++) x[i] = nt_rng_float(&r);
                nt_weight w = {data, t->id, n_in, n_out, row_bytes};
                nt_matmul(NULL, &w, x, n_tok, y);
                const nt_vec_dot_fn dot = nt_type_vec_dot(t->id);
                for (int64_t tk = 0; tk < n_tok; tk++)
                    for (int64_t o = 0; o < n_out; o++) {
                        float want = dot(n_in, data + (size_t)o * row_bytes, x + tk * n_in);
                        cr_assert(same_float(y[tk * n_out + o], want), "%s %s n_in=%lld token %lld row %lld",
                                  nt_isa_name((nt_isa)isa), nt_type_traits_get(t->id)->name, (long long)n_in,
                                  (long long)tk, (long long)o);
                    }
                nt_weight_row_get(&w, 5, row);
                for (int64_t i = 0; i < n_in; i++)
                    cr_assert(same_float(row[i], ref_value(t->id, data + 5 * row_bytes + (size_t)(i / t->blck) * t->bytes,
                                                           (int)(i % t->blck))));
                free(data);
                free(x);
                free(y);
                free(row);
            }
        }
    }
    restore_best_isa();
}

#if defined(__x86_64__)
#  include "kernels/kernels_isa.h"

Test(quant, register_dequantizers_match_to_float_bitwise)
{
    typedef struct {
        uint32_t type;
        nt_isa isa;
        void (*fn)(const void *, float *, int64_t);
    } case_t;
    const case_t cases[] = {
        {NT_TYPE_Q8_0, NT_ISA_AVX2, nt_q8_0_to_float_avx2},     {NT_TYPE_Q4_0, NT_ISA_AVX2, nt_q4_0_to_float_avx2},
        {NT_TYPE_Q4_K, NT_ISA_AVX2, nt_q4_k_to_float_avx2},     {NT_TYPE_Q6_K, NT_ISA_AVX2, nt_q6_k_to_float_avx2},
        {NT_TYPE_Q8_0, NT_ISA_AVX512, nt_q8_0_to_float_avx512}, {NT_TYPE_Q4_0, NT_ISA_AVX512, nt_q4_0_to_float_avx512},
        {NT_TYPE_Q4_K, NT_ISA_AVX512, nt_q4_k_to_float_avx512}, {NT_TYPE_Q6_K, NT_ISA_AVX512, nt_q6_k_to_float_avx512},
        {NT_TYPE_Q4_1, NT_ISA_AVX2, nt_q4_1_to_float_avx2},     {NT_TYPE_Q5_0, NT_ISA_AVX2, nt_q5_0_to_float_avx2},
        {NT_TYPE_Q5_1, NT_ISA_AVX2, nt_q5_1_to_float_avx2},     {NT_TYPE_Q5_K, NT_ISA_AVX2, nt_q5_k_to_float_avx2},
        {NT_TYPE_Q4_1, NT_ISA_AVX512, nt_q4_1_to_float_avx512}, {NT_TYPE_Q5_0, NT_ISA_AVX512, nt_q5_0_to_float_avx512},
        {NT_TYPE_Q5_1, NT_ISA_AVX512, nt_q5_1_to_float_avx512}, {NT_TYPE_Q5_K, NT_ISA_AVX512, nt_q5_k_to_float_avx512},
        {NT_TYPE_Q2_K, NT_ISA_AVX2, nt_q2_k_to_float_avx2},     {NT_TYPE_Q3_K, NT_ISA_AVX2, nt_q3_k_to_float_avx2},
        {NT_TYPE_Q2_K, NT_ISA_AVX512, nt_q2_k_to_float_avx512}, {NT_TYPE_Q3_K, NT_ISA_AVX512, nt_q3_k_to_float_avx512},
    };
    nt_rng r = {5};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        if (!nt_isa_supported(cases[c].isa)) continue;
        const nt_type_traits *tr = nt_type_traits_get(cases[c].type);
        const qtype *t = NULL;
        for (size_t k = 0; k < N_QTYPES; k++)
            if (qtypes[k].id == cases[c].type) t = &qtypes[k];
        for (int nb = 1; nb <= 5; nb++) {
            const int64_t n = (int64_t)nb * t->blck;
            nt_guard g;
            unsigned char *w = (unsigned char *)nt_guarded_alloc((size_t)(nb * t->bytes) + 1, &g) + 1;
            float *want = malloc((size_t)n * sizeof *want), *got = malloc((size_t)n * sizeof *got);
            cr_assert(want && got);
            random_blocks(t, w, nb, &r, true);
            nt_type_kernels_isa(cases[c].type, NT_ISA_SCALAR)->to_float(w, want, n);
            cases[c].fn(w, got, n);
            for (int64_t i = 0; i < n; i++)
                cr_assert(same_float(got[i], want[i]) || (isnan(got[i]) && isnan(want[i])),
                          "%s %s value %lld: %.9g, to_float %.9g", nt_isa_name(cases[c].isa), tr->name,
                          (long long)i, (double)got[i], (double)want[i]);
            free(want);
            free(got);
            nt_guarded_free(&g);
        }
    }
}
#endif
