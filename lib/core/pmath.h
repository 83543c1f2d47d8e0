/*
 * The library's own transcendental functions, in double.
 *
 * libm's exp, sin, cos, pow and tanh are accurate but not specified to the
 * bit: glibc picks FMA variants at run time on x86-64 and is built with FMA
 * on aarch64, so two machines can round differently. These use only
 * + - * / (correctly rounded in IEEE 754), floor, frexp and ldexp (exact),
 * in a fixed order, so they give the same bits on every machine the build
 * does not contract into FMA (C11 mode: GCC contracts nothing; the library
 * also passes -ffp-contract=off where the compiler knows it). Accuracy is
 * about 1 ulp in double, far below the F32 values the forward pass keeps.
 */
#ifndef NT_CORE_PMATH_H
#define NT_CORE_PMATH_H

double nt_pexp(double x);
double nt_pexpm1(double x);  /* exp(x) - 1 without cancellation near 0 */
double nt_plog(double x);
double nt_ptanh(double x);
void nt_psincos(double x, double *s, double *c);

#endif
