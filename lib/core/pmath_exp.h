/*
 * The constants of nt_pexp (core/pmath.c), shared with the vector copies
 * of it in kernels/act_<isa>.c, which must perform the very same IEEE
 * operations on them to give the same bits.
 */
#ifndef NT_CORE_PMATH_EXP_H
#define NT_CORE_PMATH_EXP_H

/* ln 2 in two parts: k * LN2_HI is exact for |k| < 2^21 */
#define NT_LN2_HI 6.93147180369123816490e-01
#define NT_LN2_LO 1.90821492927058770002e-10
#define NT_INV_LN2 1.44269504088896338700e+00
#define NT_EXP_OVER 7.09782712893383973096e+02
#define NT_EXP_UNDER -7.45133219101941108420e+02

/* exp_poly's Taylor coefficients 1/13! .. 1/2!, highest first; Horner's
 * rule p = c + r * p over them, then 1 + r * p twice. */
#define NT_PEXP_C13 (1.0 / 6227020800.0)
#define NT_PEXP_C12 (1.0 / 479001600.0)
#define NT_PEXP_C11 (1.0 / 39916800.0)
#define NT_PEXP_C10 (1.0 / 3628800.0)
#define NT_PEXP_C9 (1.0 / 362880.0)
#define NT_PEXP_C8 (1.0 / 40320.0)
#define NT_PEXP_C7 (1.0 / 5040.0)
#define NT_PEXP_C6 (1.0 / 720.0)
#define NT_PEXP_C5 (1.0 / 120.0)
#define NT_PEXP_C4 (1.0 / 24.0)
#define NT_PEXP_C3 (1.0 / 6.0)
#define NT_PEXP_C2 0.5

#endif
