/*
 * Portable exp, expm1, log, tanh, sin and cos (see pmath.h): Cody-Waite
 * range reduction and Taylor polynomials evaluated by Horner's rule.
 * Every coefficient 1/n! is a constant expression that the compiler folds
 * with correct rounding, the same value on every target.
 */
#include "core/pmath.h"
#include "core/pmath_exp.h"

#include <math.h>
#include <stdint.h>

/* exp(r) for |r| <= ln2/2 + tiny: Taylor to r^13 (error < 5e-18). */
static double exp_poly(double r)
{
    double p = NT_PEXP_C13;
    p = NT_PEXP_C12 + r * p;
    p = NT_PEXP_C11 + r * p;
    p = NT_PEXP_C10 + r * p;
    p = NT_PEXP_C9 + r * p;
    p = NT_PEXP_C8 + r * p;
    p = NT_PEXP_C7 + r * p;
    p = NT_PEXP_C6 + r * p;
    p = NT_PEXP_C5 + r * p;
    p = NT_PEXP_C4 + r * p;
    p = NT_PEXP_C3 + r * p;
    p = NT_PEXP_C2 + r * p;
    p = 1.0 + r * p;
    return 1.0 + r * p;
}

double nt_pexp(double x)
{
    if (x != x) return x + x;
    if (x > NT_EXP_OVER) return HUGE_VAL;
    if (x < NT_EXP_UNDER) return 0.0;
    const double kd = floor(x * NT_INV_LN2 + 0.5);
    const double hi = x - kd * NT_LN2_HI, lo = kd * NT_LN2_LO;
    const double p = exp_poly(hi - lo);
    const int k = (int)kd;
    if (k < -1020 || k > 1022) return ldexp(p, k); /* results near the ends of the range */
    /* 2^k from its bits: multiplying by it is exact, as ldexp is, and cheaper */
    union { double d; uint64_t u; } two_k = {.u = (uint64_t)(k + 1023) << 52};
    return p * two_k.d;
}

double nt_pexpm1(double x)
{
    if (!(fabs(x) < 0.35)) return nt_pexp(x) - 1.0; /* NaN goes here too */
    /* x (1 + x/2! + ... + x^13/14!): no 1 - 1 to cancel */
    double p = 1.0 / 87178291200.0;           /* 1/14! */
    p = 1.0 / 6227020800.0 + x * p;
    p = 1.0 / 479001600.0 + x * p;
    p = 1.0 / 39916800.0 + x * p;
    p = 1.0 / 3628800.0 + x * p;
    p = 1.0 / 362880.0 + x * p;
    p = 1.0 / 40320.0 + x * p;
    p = 1.0 / 5040.0 + x * p;
    p = 1.0 / 720.0 + x * p;
    p = 1.0 / 120.0 + x * p;
    p = 1.0 / 24.0 + x * p;
    p = 1.0 / 6.0 + x * p;
    p = 0.5 + x * p;
    return x + x * (x * p);
}

double nt_plog(double x)
{
    if (x != x || x < 0.0) return NAN;
    if (x == 0.0) return -HUGE_VAL;
    if (isinf(x)) return x;
    int e;
    double m = frexp(x, &e); /* x = m 2^e, m in [0.5, 1) */
    if (m < 0.70710678118654752440) {
        m *= 2.0;
        e--;
    }
    /* log(m) = 2 atanh(s), s = (m-1)/(m+1), |s| <= 0.1716 */
    const double f = m - 1.0, s = f / (2.0 + f), z = s * s;
    double p = 1.0 / 23.0;
    p = 1.0 / 21.0 + z * p;
    p = 1.0 / 19.0 + z * p;
    p = 1.0 / 17.0 + z * p;
    p = 1.0 / 15.0 + z * p;
    p = 1.0 / 13.0 + z * p;
    p = 1.0 / 11.0 + z * p;
    p = 1.0 / 9.0 + z * p;
    p = 1.0 / 7.0 + z * p;
    p = 1.0 / 5.0 + z * p;
    p = 1.0 / 3.0 + z * p;
    const double r = 2.0 * s + 2.0 * s * (z * p);
    const double ed = (double)e;
    return ed * NT_LN2_HI + (r + ed * NT_LN2_LO);
}

double nt_ptanh(double x)
{
    const double a = fabs(x);
    if (a > 22.0) return x > 0 ? 1.0 : -1.0; /* tanh is 1 to double precision */
    /* tanh a = (1 - e^-2a) / (1 + e^-2a) = -m / (2 + m), m = expm1(-2a) */
    const double m = nt_pexpm1(-2.0 * a);
    return copysign(-m / (2.0 + m), x);
}

/* pi/2 in three 33-bit parts and a tail (fdlibm's split): k * part is
 * exact for |k| < 2^20. */
#define NT_PIO2_1 1.57079632673412561417e+00
#define NT_PIO2_2 6.07710050630396597660e-11
#define NT_PIO2_3 2.02226624871116645580e-21
#define NT_PIO2_3T 8.47842766036889956997e-32
#define NT_TWO_OVER_PI 6.36619772367581382433e-01

void nt_psincos(double x, double *s, double *c)
{
    if (!isfinite(x)) {
        *s = *c = NAN;
        return;
    }
    double kd = floor(x * NT_TWO_OVER_PI + 0.5);
    double r = x - kd * NT_PIO2_1;
    r -= kd * NT_PIO2_2;
    r -= kd * NT_PIO2_3;
    r -= kd * NT_PIO2_3T;
    const double z = r * r;
    /* sin r = r - r^3/3! + ... - r^19/19!; cos r = 1 - r^2/2! + ... + r^20/20!
     * (|r| <= pi/4: the first omitted terms are below 1e-19) */
    double ps = -1.0 / 121645100408832000.0;      /* -1/19! */
    ps = 1.0 / 355687428096000.0 + z * ps;        /* 1/17! */
    ps = -1.0 / 1307674368000.0 + z * ps;         /* -1/15! */
    ps = 1.0 / 6227020800.0 + z * ps;
    ps = -1.0 / 39916800.0 + z * ps;
    ps = 1.0 / 362880.0 + z * ps;
    ps = -1.0 / 5040.0 + z * ps;
    ps = 1.0 / 120.0 + z * ps;
    ps = -1.0 / 6.0 + z * ps;
    const double sr = r + r * (z * ps);
    double pc = 1.0 / 2432902008176640000.0;      /* 1/20! */
    pc = -1.0 / 6402373705728000.0 + z * pc;      /* -1/18! */
    pc = 1.0 / 20922789888000.0 + z * pc;         /* 1/16! */
    pc = -1.0 / 87178291200.0 + z * pc;           /* -1/14! */
    pc = 1.0 / 479001600.0 + z * pc;
    pc = -1.0 / 3628800.0 + z * pc;
    pc = 1.0 / 40320.0 + z * pc;
    pc = -1.0 / 720.0 + z * pc;
    pc = 1.0 / 24.0 + z * pc;
    const double cr = (1.0 - 0.5 * z) + z * (z * pc);
    /* the quadrant: k mod 4, exact for any integral kd */
    const int q = (int)(kd - 4.0 * floor(kd * 0.25));
    switch (q) {
    case 0: *s = sr; *c = cr; break;
    case 1: *s = cr; *c = -sr; break;
    case 2: *s = -sr; *c = -cr; break;
    default: *s = -cr; *c = sr; break;
    }
}
