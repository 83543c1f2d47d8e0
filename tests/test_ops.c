/*
 * The element-wise and normalisation operations against long-double
 * references written from their definitions. The kernels compute in double
 * and round once, so results must be within an ulp or two of the reference.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "support/harness.h"
#include "support/guarded.h"

#include "kernels/kernels.h"

/* |got - want| within k float ulps of want (plus a subnormal floor). */
static bool near_ulps(float got, long double want, double k)
{
    long double tol = (long double)k * 0x1p-24L * fabsl(want) + 0x1p-140L;
    return fabsl((long double)got - want) <= tol;
}

static void fill(float *x, int64_t n, nt_rng *rng, float scale, float offset)
{
    for (int64_t i = 0; i < n; i++) x[i] = nt_rng_float(rng) * scale + offset;
}

Test(ops, rmsnorm_matches_definition)
{
    nt_rng rng = {1};
    static const int64_t sizes[] = {1, 2, 7, 64, 255, 4096};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int64_t n = sizes[s];
        float *x = malloc(4 * (size_t)n), *w = malloc(4 * (size_t)n), *out = malloc(4 * (size_t)n);
        fill(x, n, &rng, 5.0f, 0.3f);
        fill(w, n, &rng, 2.0f, 0.0f);
        long double ss = 0;
        for (int64_t i = 0; i < n; i++) ss += (long double)x[i] * x[i];
        long double inv = 1.0L / sqrtl(ss / n + 1e-5L);
        nt_rmsnorm(out, x, w, n, 1e-5f);
        for (int64_t i = 0; i < n; i++)
            cr_assert(near_ulps(out[i], x[i] * inv * w[i], 2), "n=%lld i=%lld", (long long)n, (long long)i);
        memcpy(w, x, 4 * (size_t)n); /* keep the input: the next call overwrites x */
        nt_rmsnorm(x, x, NULL, n, 1e-5f); /* in place, no weight */
        for (int64_t i = 0; i < n; i++)
            cr_assert(near_ulps(x[i], w[i] * inv, 2), "in place i=%lld", (long long)i);
        free(x);
        free(w);
        free(out);
    }
}

Test(ops, layernorm_matches_definition_despite_large_mean)
{
    nt_rng rng = {2};
    static const int64_t sizes[] = {1, 3, 768, 1025};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int64_t n = sizes[s];
        float *x = malloc(4 * (size_t)n), *w = malloc(4 * (size_t)n), *b = malloc(4 * (size_t)n);
        float *out = malloc(4 * (size_t)n);
        /* A mean far above the spread: one-pass E[x^2]-E[x]^2 would cancel. */
        fill(x, n, &rng, 0.01f, 1000.0f);
        fill(w, n, &rng, 1.0f, 0.0f);
        fill(b, n, &rng, 1.0f, 0.0f);
        long double mean = 0, var = 0;
        for (int64_t i = 0; i < n; i++) mean += x[i];
        mean /= n;
        for (int64_t i = 0; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
        var /= n;
        long double inv = 1.0L / sqrtl(var + 1e-5L);
        nt_layernorm(out, x, w, b, n, 1e-5f);
        for (int64_t i = 0; i < n; i++) {
            long double want = (x[i] - mean) * inv * w[i] + b[i];
            /* Rounded once from a double: an ulp of the larger term. */
            long double tol = 0x1p-23L * (fabsl((x[i] - mean) * inv * w[i]) + fabsl((long double)b[i])) + 0x1p-140L;
            cr_assert(fabsl(out[i] - want) <= tol, "n=%lld i=%lld: %.9g vs %.9Lg", (long long)n,
                      (long long)i, out[i], want);
        }
        free(x);
        free(w);
        free(b);
        free(out);
    }
}

Test(ops, softmax_matches_definition)
{
    nt_rng rng = {3};
    static const int64_t sizes[] = {1, 2, 5, 100, 50257};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int64_t n = sizes[s];
        float *x = malloc(4 * (size_t)n), *orig = malloc(4 * (size_t)n);
        fill(x, n, &rng, 20.0f, 900.0f); /* large logits: no overflow */
        memcpy(orig, x, 4 * (size_t)n);
        long double max = -INFINITY, sum = 0;
        for (int64_t i = 0; i < n; i++) if (x[i] > max) max = x[i];
        for (int64_t i = 0; i < n; i++) sum += expl(x[i] - max);
        nt_softmax(x, n);
        long double total = 0;
        for (int64_t i = 0; i < n; i++) {
            cr_assert(near_ulps(x[i], expl(orig[i] - max) / sum, 3), "n=%lld i=%lld", (long long)n, (long long)i);
            total += x[i];
        }
        cr_assert(fabsl(total - 1.0L) < 1e-5L);
        free(x);
        free(orig);
    }
    float m[4] = {-INFINITY, 0.0f, -INFINITY, 0.0f};
    nt_softmax(m, 4);
    cr_assert(m[0] == 0.0f && m[2] == 0.0f && m[1] == 0.5f && m[3] == 0.5f);
    float one[1] = {-3.0f};
    nt_softmax(one, 1);
    cr_assert(one[0] == 1.0f);
}

Test(ops, gelu_tanh_matches_gpt2_formula)
{
    nt_rng rng = {4};
    enum { N = 5000 };
    float x[N], orig[N];
    fill(x, N, &rng, 8.0f, 0.0f);
    x[0] = 0.0f;
    x[1] = 30.0f;
    x[2] = -30.0f;
    memcpy(orig, x, sizeof x);
    nt_gelu_tanh(x, N);
    const long double k = sqrtl(2.0L / 3.14159265358979323846264338327950288L);
    for (int i = 0; i < N; i++) {
        long double v = orig[i];
        long double z = k * (v + 0.044715L * v * v * v);
        /* 0.5*v*(1 + tanh z), written as v/(1 + e^-2z) so the reference
         * itself does not cancel for negative v; where 1 + tanh z is
         * well-conditioned, the literal formula must agree too. */
        long double want = v / (1.0L + expl(-2.0L * z));
        cr_assert(near_ulps(x[i], want, 2), "x=%.9g: %.9g vs %.9Lg", orig[i], x[i], want);
        if (v > -2.0L)
            cr_assert(near_ulps(x[i], 0.5L * v * (1.0L + tanhl(z)), 3), "x=%.9g (tanh form)", orig[i]);
    }
    cr_assert(x[0] == 0.0f && x[1] == 30.0f && fabsf(x[2]) < 1e-30f);
}

Test(ops, silu_mul_and_add_match_definition)
{
    nt_rng rng = {5};
    enum { N = 3001 };
    float g[N], u[N], orig[N], y[N];
    fill(g, N, &rng, 12.0f, 0.0f);
    fill(u, N, &rng, 3.0f, 0.0f);
    memcpy(orig, g, sizeof g);
    nt_silu_mul(g, u, N);
    for (int i = 0; i < N; i++) {
        long double v = orig[i];
        cr_assert(near_ulps(g[i], v / (1.0L + expl(-v)) * u[i], 2), "i=%d", i);
    }
    fill(y, N, &rng, 1.0f, 0.0f);
    memcpy(orig, y, sizeof y);
    nt_add(y, u, N);
    for (int i = 0; i < N; i++) cr_assert(y[i] == (float)((double)orig[i] + (double)u[i]), "i=%d", i);
}

static void rope_ref_scaled(long double *out, const float *head, int64_t head_dim, int64_t n_rot,
                            int64_t pos, float base, float scale, const float *factors, int neox)
{
    for (int64_t i = 0; i < head_dim; i++) out[i] = head[i];
    for (int64_t i = 0; i < n_rot / 2; i++) {
        long double theta = pos * (long double)scale * powl(base, -2.0L * i / n_rot);
        if (factors) theta /= factors[i];
        int64_t a = neox ? i : 2 * i, b = neox ? i + n_rot / 2 : 2 * i + 1;
        out[a] = head[a] * cosl(theta) - head[b] * sinl(theta);
        out[b] = head[a] * sinl(theta) + head[b] * cosl(theta);
    }
}

static void rope_ref(long double *out, const float *head, int64_t head_dim, int64_t n_rot, int64_t pos,
                     float base, int neox)
{
    rope_ref_scaled(out, head, head_dim, n_rot, pos, base, 1.0f, NULL, neox);
}

static void rope(float *head, int64_t head_dim, int64_t n_rot, int64_t pos, float base, int neox)
{
    nt_rope_cfg cfg = {n_rot, base, 1.0f, NULL, neox, 1.0f};
    nt_rope(head, head_dim, pos, &cfg);
}

Test(ops, rope_pairs_follow_mode)
{
    /* head_dim 4, pos 1, base 10000: pair 0 turns by 1 rad, pair 1 by 0.01. */
    for (int neox = 0; neox <= 1; neox++) {
        float h[4] = {1, 0, 0, 0};
        rope(h, 4, 4, 1, 10000.0f, neox);
        int partner = neox ? 2 : 1;
        cr_assert(near_ulps(h[0], cosl(1.0L), 1) && near_ulps(h[partner], sinl(1.0L), 1), "neox=%d", neox);
        cr_assert(neox ? (h[1] == 0.0f && h[3] == 0.0f) : (h[2] == 0.0f && h[3] == 0.0f));
        float g[4] = {0, 0, 1, 0};
        rope(g, 4, 4, 1, 10000.0f, neox);
        if (neox) /* index 2 is the second half of pair 0 */
            cr_assert(near_ulps(g[0], -sinl(1.0L), 1) && near_ulps(g[2], cosl(1.0L), 1));
        else /* index 2 starts pair 1 */
            cr_assert(near_ulps(g[2], cosl(0.01L), 1) && near_ulps(g[3], sinl(0.01L), 1) && g[0] == 0.0f);
    }
}

Test(ops, rope_matches_definition_at_long_positions)
{
    nt_rng rng = {6};
    static const struct { int64_t head_dim, n_rot; float base; } cfg[] = {
        {64, 64, 10000.0f}, {128, 128, 500000.0f}, {80, 32, 10000.0f}, {7, 6, 10000.0f}};
    static const int64_t positions[] = {0, 1, 17, 4095, 131071};
    for (int neox = 0; neox <= 1; neox++)
        for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++)
            for (size_t p = 0; p < sizeof positions / sizeof positions[0]; p++) {
                float h[128];
                long double want[128];
                int64_t d = cfg[c].head_dim;
                fill(h, d, &rng, 2.0f, 0.0f);
                rope_ref(want, h, d, cfg[c].n_rot, positions[p], cfg[c].base, neox);
                float orig[128];
                memcpy(orig, h, sizeof h);
                rope(h, d, cfg[c].n_rot, positions[p], cfg[c].base, neox);
                for (int64_t i = 0; i < d; i++) {
                    if (i >= cfg[c].n_rot || positions[p] == 0) {
                        cr_assert(h[i] == orig[i], "unrotated dim %lld changed", (long long)i);
                        continue;
                    }
                    /* An ulp of each input: theta itself carries about
                     * pos * 2^-53 of error from the double computation. */
                    long double tol = 0x1p-23L * 2.0L + 0x1p-50L * positions[p];
                    cr_assert(fabsl(h[i] - want[i]) <= tol, "neox=%d cfg=%zu pos=%lld dim=%lld: %.9g vs %.9Lg",
                              neox, c, (long long)positions[p], (long long)i, h[i], want[i]);
                }
            }
}

/* Linear position scaling and per-pair frequency factors (Llama 3.1's
 * rope_freqs) against the definition; the angle cache must tell configs
 * apart at the same position. */
Test(ops, rope_scaling_and_frequency_factors)
{
    nt_rng rng = {7};
    enum { D = 64 };
    float factors[D / 2];
    for (int i = 0; i < D / 2; i++) factors[i] = 1.0f + (float)i / 4.0f;
    static const float scales[] = {1.0f, 0.25f};
    for (int neox = 0; neox <= 1; neox++)
        for (int with_factors = 0; with_factors <= 1; with_factors++)
            for (size_t sc = 0; sc < 2; sc++) {
                float h[D], plain[D];
                long double want[D];
                fill(h, D, &rng, 2.0f, 0.0f);
                memcpy(plain, h, sizeof h);
                const int64_t pos = 1000;
                nt_rope_cfg cfg = {D, 10000.0f, scales[sc], with_factors ? factors : NULL, neox, 1.0f};
                rope_ref_scaled(want, h, D, D, pos, 10000.0f, scales[sc], cfg.freq_factors, neox);
                rope(plain, D, D, pos, 10000.0f, neox); /* fills the cache with the plain config */
                nt_rope(h, D, pos, &cfg);
                long double tol = 0x1p-23L * 2.0L + 0x1p-50L * pos;
                for (int i = 0; i < D; i++)
                    cr_assert(fabsl(h[i] - want[i]) <= tol, "neox=%d factors=%d scale=%g dim=%d: %.9g vs %.9Lg",
                              neox, with_factors, (double)scales[sc], i, h[i], want[i]);
                if (with_factors || sc) cr_assert(memcmp(h, plain, sizeof h) != 0, "scaling changed nothing");
            }
}

Test(ops, activations_over_a_pool_equal_the_serial_loops_bitwise)
{
    /* sizes around the pool's threshold and chunk, odd tails included */
    const int64_t sizes[] = {1000, 16383, 16384, 16385, 8192 * 5 + 17, 100003};
    nt_pool *pool = NULL;
    /* qemu-user hangs in new threads (tests/run-neon.sh): there the pool
     * is the caller alone, and the chunks run in turn */
    cr_assert_eq(nt_pool_create(getenv("NT_TEST_NO_THREADS") ? 1 : 3, &pool), NEXTTOK_OK);
    nt_rng rng = {11};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        const int64_t n = sizes[s];
        float *x = malloc((size_t)n * sizeof *x), *up = malloc((size_t)n * sizeof *up);
        float *a = malloc((size_t)n * sizeof *a), *b = malloc((size_t)n * sizeof *b);
        cr_assert(x && up && a && b);
        fill(x, n, &rng, 16.0f, -8.0f);
        fill(up, n, &rng, 4.0f, -2.0f);
        for (int op = 0; op < 3; op++) {
            memcpy(a, x, (size_t)n * sizeof *x);
            memcpy(b, x, (size_t)n * sizeof *x);
            switch (op) {
            case 0: nt_gelu_tanh(a, n); nt_gelu_tanh_pool(pool, b, n); break;
            case 1: nt_silu_mul(a, up, n); nt_silu_mul_pool(pool, b, up, n); break;
            default: nt_gelu_mul(a, up, n); nt_gelu_mul_pool(pool, b, up, n); break;
            }
            cr_assert(memcmp(a, b, (size_t)n * sizeof *a) == 0, "op %d, n=%lld differs", op, (long long)n);
            cr_assert(memcmp(a, x, (size_t)n * sizeof *a) != 0, "op %d, n=%lld did nothing", op, (long long)n);
        }
        free(x);
        free(up);
        free(a);
        free(b);
    }
    nt_pool_free(pool);
}
