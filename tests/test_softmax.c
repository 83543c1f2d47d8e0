/*
 * Attention's softmax (kernels/exp_poly.h): its exp within an ulp or two of
 * a long-double reference over the whole range it is used on, and every
 * ISA's softmax bitwise equal to the scalar reference, which the portable
 * results (and a zip file written on one machine and read on another)
 * rest on.
 */
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "support/harness.h"
#include "support/guarded.h"

#include "core/isa.h"
#include "kernels/exp_poly.h"
#include "kernels/kernels_isa.h"
#include "types/types.h"

Test(softmax, exp_poly_within_two_ulps_of_exp)
{
    /* half a million points across [-87.3, 88.7], the edges and specials */
    double worst = 0.0;
    const int n_points = 500000;
    for (int k = 0; k <= n_points; k++) {
        const float x = NT_EXP_LO + (NT_EXP_HI - NT_EXP_LO) * (float)k / (float)n_points;
        const long double want = expl((long double)x);
        const float got = nt_exp_poly(x);
        if (want < (long double)FLT_MIN) {
            cr_assert(got == 0.0f || got >= FLT_MIN, "x=%a: subnormal %a", (double)x, (double)got);
            continue;
        }
        if (want > (long double)FLT_MAX) {
            cr_assert(isinf(got), "x=%a: %a, want inf", (double)x, (double)got);
            continue;
        }
        const double ulps = (double)(fabsl((long double)got - want) / (0x1p-23L * powl(2.0L, floorl(log2l(want)))));
        if (ulps > worst) worst = ulps;
        cr_assert(ulps <= 2.0, "x=%a: got %a, want %La (%.2f ulps)", (double)x, (double)got, want, ulps);
    }
    cr_assert(worst > 0.0, "no value was checked");
    cr_log_info("exp_poly: worst error %.3f ulps", worst);
    cr_assert(nt_exp_poly(0.0f) == 1.0f && nt_exp_poly(-0.0f) == 1.0f);
    cr_assert(nt_exp_poly(-INFINITY) == 0.0f && nt_exp_poly(-200.0f) == 0.0f);
    cr_assert(isinf(nt_exp_poly(INFINITY)) && isinf(nt_exp_poly(89.0f)));
    cr_assert(isnan(nt_exp_poly(NAN)));
}

/* Scores as attention makes them: spread, with ties, a few far below the
 * rest and, in some rows, every one masked. */
static void scores_fill(float *x, int64_t n, unsigned *seed, int kind)
{
    for (int64_t i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        const float u = (float)((*seed >> 8) & 0xFFFF) / 65536.0f;
        x[i] = kind == 0 ? 40.0f * u - 20.0f : kind == 1 ? (u < 0.5f ? -1e30f : u) : -INFINITY;
    }
    if (kind == 0 && n > 3) x[n / 2] = x[1];
}

Test(softmax, every_isa_equals_the_scalar_softmax_bitwise)
{
    const int64_t lengths[] = {1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 100, 255, 256, 257, 1000, 4097};
    int tested = 0;
    for (int isa = 0; isa < NT_ISA_COUNT; isa++) {
        if (!nt_isa_supported((nt_isa)isa) || isa == NT_ISA_SCALAR) continue;
        const nt_softmax_fn fn = nt_isa_kernels_get((nt_isa)isa)->softmax_f32;
        cr_assert(fn, "ISA %d has no softmax", isa);
        unsigned seed = 7;
        for (size_t l = 0; l < sizeof lengths / sizeof lengths[0]; l++)
            for (int kind = 0; kind < 3; kind++) {
                const int64_t n = lengths[l];
                nt_guard ga, gb;
                float *a = nt_guarded_alloc((size_t)n * sizeof *a, &ga), *b = nt_guarded_alloc((size_t)n * sizeof *b, &gb);
                cr_assert(a && b);
                scores_fill(a, n, &seed, kind);
                memcpy(b, a, (size_t)n * sizeof *a);
                nt_softmax_f32_scalar(a, n);
                fn(b, n);
                cr_assert(memcmp(a, b, (size_t)n * sizeof *a) == 0, "ISA %d, n=%lld, kind %d differs", isa,
                          (long long)n, kind);
                double sum = 0.0;
                for (int64_t i = 0; i < n; i++) sum += a[i];
                cr_assert(fabs(sum - 1.0) < 1e-5, "n=%lld kind %d: sum %g", (long long)n, kind, sum);
                nt_guarded_free(&ga);
                nt_guarded_free(&gb);
                tested++;
            }
    }
#if defined(__x86_64__) || defined(__aarch64__)
    cr_assert(tested > 0, "no ISA besides scalar was tested");
#else
    (void)tested;
#endif
}

Test(softmax, matches_the_double_definition)
{
    enum { N = 333 };
    float x[N];
    unsigned seed = 3;
    scores_fill(x, N, &seed, 0);
    long double want[N], max = x[0], sum = 0.0L;
    for (int i = 1; i < N; i++)
        if (x[i] > max) max = x[i];
    for (int i = 0; i < N; i++) sum += want[i] = expl((long double)x[i] - max);
    nt_softmax_f32_scalar(x, N);
    for (int i = 0; i < N; i++) {
        const long double w = want[i] / sum;
        if (w < (long double)FLT_MIN) {
            cr_assert(x[i] == 0.0f || fabsl(x[i] - w) < 1e-37L);
            continue;
        }
        cr_assert(fabsl((long double)x[i] - w) <= 3 * 0x1p-24L * w, "i=%d: %a vs %La", i, (double)x[i], w);
    }
}
