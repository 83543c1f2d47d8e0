/*
 * The exponential of attention's softmax, as one sequence of IEEE float
 * operations (products, fused multiply-adds, a round to nearest even and
 * exact scalings by powers of two) that the scalar reference and every
 * ISA's vector code perform alike: each lane's result is bitwise the same
 * on every ISA, with no call into libm, whose exp differs between builds
 * (glibc picks FMA variants at run time on x86-64).
 *
 *   n = rint(x * log2(e)),  r = x - n ln2 (ln2 in two parts, by FMA),
 *   exp(r) ~ sum_{k<=7} r^k / k!  (Horner, by FMA; |r| <= ln2/2 leaves a
 *   truncation error below 2^-27 relative), then times 2^n, in two exact
 *   scalings so that n = 128 does not overflow the exponent field.
 *
 * Results below FLT_MIN are flushed to 0 (as the rest of the forward pass
 * flushes subnormals), above FLT_MAX they are +inf, NaN stays NaN. The
 * error is within about 1 ulp of exp.
 */
#ifndef NT_KERNELS_EXP_POLY_H
#define NT_KERNELS_EXP_POLY_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define NT_EXP_LOG2E 1.44269504088896341f
#define NT_EXP_LN2_HI 0.693145751953125f     /* ln 2 to 16 bits: n * hi is exact */
#define NT_EXP_LN2_LO 1.42860682030941723e-6f /* ln 2 - hi */
#define NT_EXP_HI 88.72283935546875f         /* above: +inf */
#define NT_EXP_LO (-87.3365478515625f)       /* below: under FLT_MIN, flushed */
/* 1/k!, k = 7 .. 2 */
#define NT_EXP_C7 (1.0f / 5040.0f)
#define NT_EXP_C6 (1.0f / 720.0f)
#define NT_EXP_C5 (1.0f / 120.0f)
#define NT_EXP_C4 (1.0f / 24.0f)
#define NT_EXP_C3 (1.0f / 6.0f)
#define NT_EXP_C2 0.5f

/* 2^e as a float, for e in [-126, 127]. */
static inline float nt_exp_pow2(int32_t e)
{
    const uint32_t bits = (uint32_t)(e + 127) << 23;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline float nt_exp_poly(float x)
{
    if (x != x) return x;
    if (x > NT_EXP_HI) return INFINITY;
    if (x < NT_EXP_LO) return 0.0f;
    const float n = rintf(x * NT_EXP_LOG2E);
    float r = fmaf(n, -NT_EXP_LN2_HI, x);
    r = fmaf(n, -NT_EXP_LN2_LO, r);
    float p = NT_EXP_C7;
    p = fmaf(p, r, NT_EXP_C6);
    p = fmaf(p, r, NT_EXP_C5);
    p = fmaf(p, r, NT_EXP_C4);
    p = fmaf(p, r, NT_EXP_C3);
    p = fmaf(p, r, NT_EXP_C2);
    p = fmaf(p, r, 1.0f);
    p = fmaf(p, r, 1.0f);
    const int32_t ni = (int32_t)n, h = ni / 2; /* halves toward zero */
    const float v = p * nt_exp_pow2(h) * nt_exp_pow2(ni - h);
    return v < 1.17549435e-38f ? 0.0f : v;
}

/* Softmax sums e_i in double in NT_SOFTMAX_LANES interleaved partial sums
 * (lane j takes i = j mod NT_SOFTMAX_LANES, in order of i), then combines
 * lanes j and j + L/2, then j and j + L/4, and so on: every ISA adds the
 * same numbers in the same order. */
#define NT_SOFTMAX_LANES 16

/* The end of a softmax after the vector loop: elements [i, n) (at most a
 * vector's worth) exponentiated into x and added to their lanes of acc,
 * then the lanes combined; returns the sum. */
static inline double nt_softmax_tail_sum(float *x, int64_t i, int64_t n, float max, double acc[NT_SOFTMAX_LANES])
{
    for (; i < n; i++) {
        const float e = nt_exp_poly(x[i] - max);
        x[i] = e;
        acc[i % NT_SOFTMAX_LANES] += (double)e;
    }
    for (int w = NT_SOFTMAX_LANES / 2; w >= 1; w /= 2)
        for (int j = 0; j < w; j++) acc[j] += acc[j + w];
    return acc[0];
}

/* One element's share, e / sum, with subnormals flushed. */
static inline float nt_softmax_scale(float e, double inv)
{
    const float v = (float)((double)e * inv);
    return v < 1.17549435e-38f ? 0.0f : v;
}

#endif
