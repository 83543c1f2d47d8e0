/*
 * The vector activations (kernels/act_<isa>.c) against the scalar
 * reference, byte for byte: portable sessions use them, so a zip file
 * written on one machine is read on another only if every ISA gives the
 * scalar bits on every input. Inputs: random bit patterns (NaNs with their
 * payloads, infinities, subnormals), the range the models feed, the edges
 * of nt_pexp (its overflow and underflow bounds, the ends of the exponent
 * range where it rounds like ldexp) and lengths that leave a tail.
 */
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/harness.h"
#include "support/guarded.h"

#include "core/isa.h"
#include "core/pmath.h"
#include "core/pmath_exp.h"
#include "kernels/kernels.h"
#include "kernels/kernels_isa.h"
#include "types/types.h"

enum { N_RANDOM = 1 << 20 };

static float f32_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static double f64_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static double uniform(nt_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * (double)(nt_rng_next(r) >> 11) * 0x1p-53;
}

/* Float inputs of kind 0: any bit pattern; 1: the models' range; 2: where
 * -2z of GELU or -g of SiLU crosses nt_pexp's bounds (|v| about 5 to 800). */
static void fill_f32(float *x, int64_t n, nt_rng *r, int kind)
{
    for (int64_t i = 0; i < n; i++) {
        switch (kind) {
        case 0: x[i] = f32_bits((uint32_t)nt_rng_next(r)); break;
        case 1: x[i] = (float)uniform(r, -30.0, 30.0); break;
        default: x[i] = (float)((nt_rng_next(r) & 1 ? -1.0 : 1.0) * exp(uniform(r, log(4.0), log(800.0)))); break;
        }
    }
}

static const float f32_edges[] = {
    0.0f, -0.0f, 1.0f, -1.0f, FLT_MIN, -FLT_MIN, FLT_TRUE_MIN, -FLT_TRUE_MIN, 0x1.fffffcp-127f, -0x1.fffffcp-127f,
    FLT_MAX, -FLT_MAX, INFINITY, -INFINITY, NAN, -NAN, 1e-20f, -1e-20f, 88.0f, -88.0f, 104.0f, -104.0f, 709.0f,
    -709.0f, 745.0f, -745.0f, 746.0f, -746.0f, 7.5f, -7.5f, 8.9f, -8.9f, 9.2f, -9.2f, 1e10f, -1e10f, 1e13f, -1e13f,
};

static void add_f32_edges(float *x, int64_t n)
{
    const size_t m = sizeof f32_edges / sizeof f32_edges[0];
    for (size_t i = 0; i < m && (int64_t)i < n; i++) x[i] = f32_edges[i];
    /* a signalling NaN and a quiet one with a payload */
    if (n > (int64_t)m + 1) {
        x[m] = f32_bits(0x7f800001u);
        x[m + 1] = f32_bits(0xffc12345u);
    }
}

typedef struct act_fns {
    nt_act_fn gelu;
    nt_gated_act_fn silu_mul, gelu_mul;
    nt_exp_f64_fn exp_f64;
} act_fns;

static bool isa_fns(nt_isa isa, act_fns *f)
{
    if (isa == NT_ISA_SCALAR || !nt_isa_supported(isa)) return false;
    const nt_isa_kernels *k = nt_isa_kernels_get(isa);
    if (!k) return false;
    *f = (act_fns){k->gelu_f32, k->silu_mul_f32, k->gelu_mul_f32, k->exp_f64};
    cr_assert(f->gelu && f->silu_mul && f->gelu_mul && f->exp_f64, "%s lacks an activation", nt_isa_name(isa));
    return true;
}

static int64_t first_diff(const void *a, const void *b, int64_t n, size_t size)
{
    for (int64_t i = 0; i < n; i++)
        if (memcmp((const char *)a + (size_t)i * size, (const char *)b + (size_t)i * size, size)) return i;
    return -1;
}

/* Every activation of `f` on x (and up) against the scalar one. */
static void check_f32(const act_fns *f, nt_isa isa, const float *x, const float *up, int64_t n, float *a, float *b,
                      const char *what)
{
    const size_t bytes = (size_t)n * sizeof *a;
    for (int op = 0; op < 3; op++) {
        memcpy(a, x, bytes);
        memcpy(b, x, bytes);
        switch (op) {
        case 0: nt_gelu_f32_scalar(a, n); f->gelu(b, n); break;
        case 1: nt_silu_mul_f32_scalar(a, up, n); f->silu_mul(b, up, n); break;
        default: nt_gelu_mul_f32_scalar(a, up, n); f->gelu_mul(b, up, n); break;
        }
        const int64_t d = first_diff(a, b, n, sizeof *a);
        cr_assert(d < 0, "%s, %s, op %d, n=%lld: at %lld x=%a up=%a: scalar %a, vector %a", nt_isa_name(isa), what, op,
                  (long long)n, (long long)d, (double)x[d], up ? (double)up[d] : 0.0, (double)a[d], (double)b[d]);
    }
}

Test(act, every_isa_equals_scalar_bitwise_on_floats)
{
    int tested = 0;
    const int64_t n = N_RANDOM - 3; /* a tail on every vector width */
    float *x = malloc(N_RANDOM * sizeof *x), *up = malloc(N_RANDOM * sizeof *up);
    float *a = malloc(N_RANDOM * sizeof *a), *b = malloc(N_RANDOM * sizeof *b);
    cr_assert(x && up && a && b);
    for (int isa = 0; isa < NT_ISA_COUNT; isa++) {
        act_fns f;
        if (!isa_fns((nt_isa)isa, &f)) continue;
        nt_rng r = {42};
        for (int kind = 0; kind < 3; kind++) {
            fill_f32(x, n, &r, kind);
            fill_f32(up, n, &r, kind == 0 ? 0 : 1);
            if (kind == 0) {
                add_f32_edges(x, n);
                add_f32_edges(up + 64, n - 64); /* other pairings of the edges */
            }
            static const char *const what[] = {"random bits", "model range", "exp bounds"};
            check_f32(&f, (nt_isa)isa, x, up, n, a, b, what[kind]);
        }
        /* every edge against every edge, for the gated forms */
        const size_t m = sizeof f32_edges / sizeof f32_edges[0];
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < m; j++) {
                x[i * m + j] = f32_edges[i];
                up[i * m + j] = f32_edges[j];
            }
        check_f32(&f, (nt_isa)isa, x, up, (int64_t)(m * m), a, b, "edge pairs");
        tested++;
    }
    free(x);
    free(up);
    free(a);
    free(b);
#if defined(__x86_64__) || defined(__aarch64__)
    cr_assert(tested > 0, "no ISA besides scalar was tested");
#endif
}

Test(act, every_length_stays_in_bounds_and_equals_scalar)
{
    /* lengths 0..40 at the end of a guarded page: a vector load or store
     * past the end crashes; the tails must be the scalar results too */
    for (int isa = 0; isa < NT_ISA_COUNT; isa++) {
        act_fns f;
        if (!isa_fns((nt_isa)isa, &f)) continue;
        nt_rng r = {7};
        for (int64_t n = 0; n <= 40; n++) {
            nt_guard gx, gu, ga, gb;
            const size_t bytes = (size_t)(n ? n : 1) * sizeof(float);
            float *x = nt_guarded_alloc(bytes, &gx), *up = nt_guarded_alloc(bytes, &gu);
            float *a = nt_guarded_alloc(bytes, &ga), *b = nt_guarded_alloc(bytes, &gb);
            cr_assert(x && up && a && b);
            fill_f32(x, n, &r, 1);
            fill_f32(up, n, &r, 1);
            check_f32(&f, (nt_isa)isa, x, up, n, a, b, "short");
            nt_guarded_free(&gx);
            nt_guarded_free(&gu);
            nt_guarded_free(&ga);
            nt_guarded_free(&gb);
        }
    }
}

/* Doubles where nt_pexp changes course: its bounds, the ends of the
 * exponent range where it rounds like ldexp, around 0 and the specials. */
static void fill_f64(double *x, int64_t n, nt_rng *r, int kind)
{
    for (int64_t i = 0; i < n; i++) {
        switch (kind) {
        case 0: x[i] = f64_bits(nt_rng_next(r)); break;
        case 1: x[i] = uniform(r, -760.0, 720.0); break;
        case 2: x[i] = uniform(r, NT_EXP_UNDER - 0.01, -707.0); break; /* subnormal results, k < -1020 */
        case 3: x[i] = uniform(r, 707.0, NT_EXP_OVER + 0.01); break;   /* k > 1022 and overflow */
        default: x[i] = uniform(r, -1.0, 1.0) * 0x1p-30; break;
        }
    }
}

Test(act, exp_f64_equals_nt_pexp_bitwise)
{
    int tested = 0;
    const int64_t n = N_RANDOM - 1;
    double *x = malloc(N_RANDOM * sizeof *x), *a = malloc(N_RANDOM * sizeof *a), *b = malloc(N_RANDOM * sizeof *b);
    cr_assert(x && a && b);
    const double edges[] = {0.0, -0.0, 1.0, -1.0, DBL_MIN, -DBL_MIN, DBL_TRUE_MIN, -DBL_TRUE_MIN, DBL_MAX, -DBL_MAX,
                            INFINITY, -INFINITY, NAN, -NAN, f64_bits(0x7ff0000000000001ull),
                            f64_bits(0xfff8000000abcdefull), NT_EXP_OVER, nextafter(NT_EXP_OVER, 0.0),
                            nextafter(NT_EXP_OVER, INFINITY), NT_EXP_UNDER, nextafter(NT_EXP_UNDER, 0.0),
                            nextafter(NT_EXP_UNDER, -INFINITY), 709.0895657128241, -708.3964185322641,
                            -707.7032713517042, -744.44007192138126, -745.1332191019411, 0.5 * 0.69314718055994530942, -0.5 * 0.69314718055994530942,
                            1022.5 * 0.69314718055994530942, -1020.5 * 0.69314718055994530942, -1074.5 * 0.69314718055994530942, 1e-300, -1e-300};
    for (int isa = 0; isa < NT_ISA_COUNT; isa++) {
        act_fns f;
        if (!isa_fns((nt_isa)isa, &f)) continue;
        nt_rng r = {99};
        for (int kind = 0; kind < 5; kind++) {
            fill_f64(x, n, &r, kind);
            if (kind == 0) memcpy(x, edges, sizeof edges);
            nt_exp_f64_scalar(a, x, n);
            f.exp_f64(b, x, n);
            const int64_t d = first_diff(a, b, n, sizeof *a);
            cr_assert(d < 0, "%s, kind %d: exp(%a): scalar %a, vector %a", nt_isa_name((nt_isa)isa), kind, x[d], a[d],
                      b[d]);
            /* and the reference is nt_pexp itself */
            for (int64_t i = 0; i < n; i += kind == 0 ? 1 : 997) {
                const double want = nt_pexp(x[i]);
                cr_assert(memcmp(&want, &a[i], sizeof want) == 0, "exp(%a): nt_pexp %a, array %a", x[i], want, a[i]);
                if (kind == 0 && i > 64) i += 996;
            }
        }
        tested++;
    }
    free(x);
    free(a);
    free(b);
#if defined(__x86_64__) || defined(__aarch64__)
    cr_assert(tested > 0, "no ISA besides scalar was tested");
#endif
}

Test(act, the_dispatched_activations_equal_scalar)
{
    /* what the forward pass calls, on whatever ISA the process chose */
    enum { N = 1003 };
    float x[N], up[N], a[N], b[N];
    nt_rng r = {5};
    fill_f32(x, N, &r, 1);
    fill_f32(up, N, &r, 1);
    memcpy(a, x, sizeof x);
    memcpy(b, x, sizeof x);
    nt_gelu_f32_scalar(a, N);
    nt_gelu_tanh(b, N);
    cr_assert(memcmp(a, b, sizeof a) == 0, "nt_gelu_tanh differs from the scalar reference");
    memcpy(a, x, sizeof x);
    memcpy(b, x, sizeof x);
    nt_silu_mul_f32_scalar(a, up, N);
    nt_silu_mul(b, up, N);
    cr_assert(memcmp(a, b, sizeof a) == 0, "nt_silu_mul differs from the scalar reference");
    memcpy(a, x, sizeof x);
    memcpy(b, x, sizeof x);
    nt_gelu_mul_f32_scalar(a, up, N);
    nt_gelu_mul(b, up, N);
    cr_assert(memcmp(a, b, sizeof a) == 0, "nt_gelu_mul differs from the scalar reference");
}
