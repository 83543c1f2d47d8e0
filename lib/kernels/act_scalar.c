/*
 * The activation functions, the reference every ISA's act_<isa>.c equals
 * bitwise. In double with the portable nt_pexp (core/pmath.h), each result
 * rounded to F32 once, so they give the same bits on every machine.
 *
 * Results below FLT_MIN (subnormals, all smaller than 2^-126) are flushed
 * to zero: they feed the matrix products, where a subnormal operand costs
 * x86 a microcode assist per multiply-add (GELU of strongly negative
 * inputs made GPT-2 prefill three times slower), and what the flush drops
 * is far below any logit's rounding.
 */
#include <float.h>
#include <math.h>

#include "core/pmath.h"
#include "kernels/kernels_isa.h"

#define NT_SQRT_2_OVER_PI 0.79788456080286535588

static inline float nt_flush_subnormal(float v) { return fabsf(v) < FLT_MIN ? 0.0f : v; }

/* 0.5*v*(1 + tanh(z)) == v / (1 + exp(-2z)): the same function without
 * the cancellation of 1 + tanh(z) for negative v. */
static inline double nt_gelu_tanh_d(double v)
{
    const double z = NT_SQRT_2_OVER_PI * (v + 0.044715 * v * v * v);
    return v / (1.0 + nt_pexp(-2.0 * z));
}

/* s * u, where two NaN operands give s: which NaN a product of two returns
 * depends on the operands' order in the instruction (x86 and ARM return
 * the first), and a compiler may order a product's operands either way. */
static inline double nt_mul_nan_first(double s, double u) { return s != s ? s : s * u; }

void nt_gelu_f32_scalar(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) x[i] = nt_flush_subnormal((float)nt_gelu_tanh_d(x[i]));
}

void nt_silu_mul_f32_scalar(float *gate, const float *up, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        const double g = gate[i];
        gate[i] = nt_flush_subnormal((float)nt_mul_nan_first(g / (1.0 + nt_pexp(-g)), (double)up[i]));
    }
}

void nt_gelu_mul_f32_scalar(float *gate, const float *up, int64_t n)
{
    for (int64_t i = 0; i < n; i++) gate[i] = nt_flush_subnormal((float)nt_mul_nan_first(nt_gelu_tanh_d(gate[i]), (double)up[i]));
}

void nt_exp_f64_scalar(double *y, const double *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) y[i] = nt_pexp(x[i]);
}
