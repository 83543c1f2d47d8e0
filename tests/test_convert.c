/*
 * F16 and BF16 conversions against their definitions: decoding every
 * 16-bit pattern with ldexp, encoding by searching the nearest
 * representable value in double (ties to the even pattern, overflow to
 * infinity as IEEE rounding with an unbounded exponent would), and the
 * array converters the traits table uses.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support/harness.h"
#include "support/guarded.h"

#include "types/type_kernels.h"
#include "types/types.h"

typedef struct fmt16 {
    int exp_bits, man_bits;
} fmt16;

static const fmt16 fmt_f16 = {5, 10};
static const fmt16 fmt_bf16 = {8, 7};

/* Value of a 16-bit pattern; an all-ones exponent is treated as an ordinary
 * exponent (so the "next" value past the largest finite one is 2^emax+1). */
static double value_unbounded(fmt16 f, uint32_t h)
{
    const int bias = (1 << (f.exp_bits - 1)) - 1;
    const uint32_t man = h & ((1u << f.man_bits) - 1);
    const uint32_t e = (h >> f.man_bits) & ((1u << f.exp_bits) - 1);
    double mag = e == 0 ? ldexp((double)man, 1 - bias - f.man_bits)
                        : ldexp((double)(man | (1u << f.man_bits)), (int)e - bias - f.man_bits);
    return (h >> 15) & 1 ? -mag : mag;
}

static double value_def(fmt16 f, uint32_t h)
{
    const uint32_t e_max = (1u << f.exp_bits) - 1;
    const uint32_t e = (h >> f.man_bits) & e_max;
    const uint32_t man = h & ((1u << f.man_bits) - 1);
    if (e == e_max) return man ? NAN : ((h >> 15) ? -INFINITY : INFINITY);
    return value_unbounded(f, h);
}

/* The nearest pattern to v (finite or infinite), ties to even. */
static uint16_t encode_ref(fmt16 f, float v)
{
    const uint32_t sign = signbit(v) ? 0x8000u : 0;
    const double a = fabs((double)v);
    const uint32_t inf = ((1u << f.exp_bits) - 1) << f.man_bits;
    if (isinf(v)) return (uint16_t)(sign | inf);
    /* Largest positive pattern <= a, searching up to and including "inf"
     * read as 2^(emax+1), which stands for overflow. */
    uint32_t lo = 0, hi = inf;
    if (a >= value_unbounded(f, inf)) return (uint16_t)(sign | inf);
    while (lo < hi) {
        uint32_t mid = (lo + hi + 1) / 2;
        if (value_unbounded(f, mid) <= a) lo = mid; else hi = mid - 1;
    }
    const double d_lo = a - value_unbounded(f, lo);
    const double d_hi = value_unbounded(f, lo + 1) - a;
    uint32_t r = (d_lo < d_hi || (d_lo == d_hi && (lo & 1) == 0)) ? lo : lo + 1;
    return (uint16_t)(sign | r);
}

static float bits_to_float(uint32_t b)
{
    float f;
    memcpy(&f, &b, 4);
    return f;
}

static bool is_nan16(fmt16 f, uint16_t h) { return isnan(value_def(f, h)); }

Test(convert, decode_every_pattern)
{
    for (uint32_t h = 0; h <= 0xffff; h++) {
        double want16 = value_def(fmt_f16, h), wantb = value_def(fmt_bf16, h);
        float g16 = nt_fp16_to_fp32((uint16_t)h), gb = nt_bf16_to_fp32((uint16_t)h);
        if (isnan(want16)) cr_assert(isnan(g16), "f16 0x%04x", h);
        else cr_assert((double)g16 == want16 && !signbit(g16) == !signbit(want16), "f16 0x%04x: %g vs %g", h, g16, want16);
        if (isnan(wantb)) cr_assert(isnan(gb), "bf16 0x%04x", h);
        else cr_assert((double)gb == wantb && !signbit(gb) == !signbit(wantb), "bf16 0x%04x", h);
    }
}

Test(convert, round_trip_every_pattern)
{
    for (uint32_t h = 0; h <= 0xffff; h++) {
        uint16_t r16 = nt_fp32_to_fp16(nt_fp16_to_fp32((uint16_t)h));
        uint16_t rb = nt_fp32_to_bf16(nt_bf16_to_fp32((uint16_t)h));
        if (is_nan16(fmt_f16, (uint16_t)h)) cr_assert(is_nan16(fmt_f16, r16), "f16 NaN 0x%04x", h);
        else cr_assert(r16 == h, "f16 0x%04x -> 0x%04x", h, r16);
        if (is_nan16(fmt_bf16, (uint16_t)h)) cr_assert(is_nan16(fmt_bf16, rb), "bf16 NaN 0x%04x", h);
        else cr_assert(rb == h, "bf16 0x%04x -> 0x%04x", h, rb);
    }
}

static void check_encode(float v)
{
    uint16_t g16 = nt_fp32_to_fp16(v), gb = nt_fp32_to_bf16(v);
    uint16_t w16 = encode_ref(fmt_f16, v), wb = encode_ref(fmt_bf16, v);
    cr_assert(g16 == w16, "fp16(%a) = 0x%04x, want 0x%04x", (double)v, g16, w16);
    cr_assert(gb == wb, "bf16(%a) = 0x%04x, want 0x%04x", (double)v, gb, wb);
}

/* Midpoints between neighbours (exact in F32 for both formats), and the
 * floats just either side of them, decide rounding direction and ties. */
Test(convert, encode_rounds_midpoints_to_nearest_even)
{
    const fmt16 fmts[2] = {fmt_f16, fmt_bf16};
    for (int k = 0; k < 2; k++) {
        const uint32_t inf = ((1u << fmts[k].exp_bits) - 1) << fmts[k].man_bits;
        for (uint32_t h = 0; h < inf; h++) {
            double mid = 0.5 * (value_unbounded(fmts[k], h) + value_unbounded(fmts[k], h + 1));
            float m = (float)mid;
            if ((double)m != mid) continue; /* bf16 near FLT_MAX: not a float */
            for (int s = 0; s < 2; s++) {
                float v = s ? -m : m;
                check_encode(v);
                check_encode(nextafterf(v, INFINITY));
                check_encode(nextafterf(v, -INFINITY));
            }
        }
    }
    /* The F16 overflow threshold itself: 65520 is the tie between 65504 and
     * 65536 and goes to the even side, infinity. */
    cr_assert(nt_fp32_to_fp16(65520.0f) == 0x7c00);
    cr_assert(nt_fp32_to_fp16(nextafterf(65520.0f, 0)) == 0x7bff);
    cr_assert(nt_fp32_to_fp16(0x1p-25f) == 0x0000); /* tie with 0: even */
    cr_assert(nt_fp32_to_fp16(nextafterf(0x1p-25f, 1)) == 0x0001);
    cr_assert(nt_fp32_to_fp16(0x1.8p-24f) == 0x0002); /* 1.5 subnormal steps: even */
}

Test(convert, encode_random_floats_of_every_magnitude)
{
    nt_rng rng = {2024};
    for (int i = 0; i < 400000; i++) {
        float v = bits_to_float((uint32_t)nt_rng_next(&rng));
        if (isnan(v)) continue;
        check_encode(v);
    }
    /* Denser around the F16 range, where most values land. */
    for (int i = 0; i < 400000; i++) {
        uint32_t b = (uint32_t)nt_rng_next(&rng);
        b = (b & 0x807fffffu) | ((100u + (b >> 23) % 60u) << 23);
        check_encode(bits_to_float(b));
    }
}

Test(convert, encode_specials)
{
    const uint32_t nans[] = {0x7fc00000u, 0xffc00000u, 0x7f800001u, 0xff800001u, 0x7fffffffu, 0x7f80ffffu};
    for (size_t i = 0; i < sizeof nans / sizeof nans[0]; i++) {
        float v = bits_to_float(nans[i]);
        cr_assert(is_nan16(fmt_f16, nt_fp32_to_fp16(v)), "f16 of NaN 0x%08x", nans[i]);
        cr_assert(is_nan16(fmt_bf16, nt_fp32_to_bf16(v)), "bf16 of NaN 0x%08x", nans[i]);
    }
    cr_assert(nt_fp32_to_fp16(INFINITY) == 0x7c00 && nt_fp32_to_fp16(-INFINITY) == 0xfc00);
    cr_assert(nt_fp32_to_bf16(INFINITY) == 0x7f80 && nt_fp32_to_bf16(-INFINITY) == 0xff80);
    cr_assert(nt_fp32_to_fp16(-0.0f) == 0x8000 && nt_fp32_to_bf16(-0.0f) == 0x8000);
    cr_assert(nt_fp32_to_bf16(3.4028235e38f) == 0x7f80); /* FLT_MAX rounds up to inf */
}

Test(convert, array_converters_match_scalar)
{
    enum { N = 1031 };
    nt_rng rng = {5};
    nt_guard g16, gb, g32, go;
    uint16_t *h = nt_guarded_alloc(N * 2, &g16);
    uint16_t *b = nt_guarded_alloc(N * 2, &gb);
    float *f = nt_guarded_alloc(N * 4, &g32);
    float *out = nt_guarded_alloc(N * 4, &go);
    for (int i = 0; i < N; i++) {
        h[i] = (uint16_t)nt_rng_next(&rng);
        b[i] = (uint16_t)nt_rng_next(&rng);
        f[i] = nt_rng_float(&rng);
    }
    nt_f16_to_float(h, out, N);
    for (int i = 0; i < N; i++) {
        float want = nt_fp16_to_fp32(h[i]);
        cr_assert(isnan(want) ? isnan(out[i]) : out[i] == want, "f16 %d", i);
    }
    nt_bf16_to_float(b + 1, out, N - 1); /* odd start: 2-byte aligned only */
    for (int i = 0; i < N - 1; i++) {
        float want = nt_bf16_to_fp32(b[i + 1]);
        cr_assert(isnan(want) ? isnan(out[i]) : out[i] == want, "bf16 %d", i);
    }
    nt_f32_to_float(f, out, N);
    cr_assert(memcmp(f, out, N * 4) == 0);
    nt_guarded_free(&g16);
    nt_guarded_free(&gb);
    nt_guarded_free(&g32);
    nt_guarded_free(&go);
}
