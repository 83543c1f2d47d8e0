/*
 * RoPE's rotations made once per position (nt_rope_angles, the forward
 * pass's per-batch table) against nt_rope and against the formula pair by
 * pair with the scalar nt_pexp, byte for byte: sharing the angles between
 * heads and layers must not change a bit of the rotated vectors.
 */
#include <stdlib.h>
#include <string.h>

#include "support/harness.h"
#include "support/guarded.h"

#include "core/pmath.h"
#include "kernels/kernels.h"

/* The rotation as nt_rope defines it, one pair at a time. */
static void rope_by_pair(float *head, int64_t head_dim, int64_t pos, const nt_rope_cfg *cfg_in)
{
    nt_rope_cfg cfg = *cfg_in;
    if (cfg.n_rot > head_dim) cfg.n_rot = head_dim;
    const int64_t half = cfg.n_rot / 2;
    for (int64_t i = 0; i < half; i++) {
        double theta = (double)pos * (double)cfg.freq_scale *
                       nt_pexp(-2.0 * (double)i / (double)cfg.n_rot * nt_plog((double)cfg.freq_base));
        if (cfg.freq_factors) theta /= (double)cfg.freq_factors[i];
        const double ms = cfg.mscale != 0.0f ? (double)cfg.mscale : 1.0;
        double sn, cs;
        nt_psincos(theta, &sn, &cs);
        const double c = cs * ms, s = sn * ms;
        const int64_t i0 = cfg.neox ? i : 2 * i, i1 = cfg.neox ? i + half : 2 * i + 1;
        const double x0 = head[i0], x1 = head[i1];
        head[i0] = (float)(x0 * c - x1 * s);
        head[i1] = (float)(x0 * s + x1 * c);
    }
}

Test(rope_table, angles_once_equal_nt_rope_and_the_formula_bitwise)
{
    enum { MAX_HD = 2304 };
    static float factors[MAX_HD / 2];
    for (int i = 0; i < MAX_HD / 2; i++) factors[i] = 1.0f + 0.37f * (float)(i % 7);
    const struct { int64_t head_dim; nt_rope_cfg cfg; } cases[] = {
        {64, {.n_rot = 64, .freq_base = 10000.0f, .freq_scale = 1.0f}},
        {64, {.n_rot = 64, .freq_base = 10000.0f, .freq_scale = 1.0f, .neox = 1}},
        {128, {.n_rot = 32, .freq_base = 500000.0f, .freq_scale = 0.25f, .neox = 1}},
        {96, {.n_rot = 96, .freq_base = 10000.0f, .freq_scale = 1.0f, .freq_factors = factors, .mscale = 1.19f}},
        {8, {.n_rot = 8, .freq_base = 10000.0f, .freq_scale = 1.0f}},
        {6, {.n_rot = 64, .freq_base = 1e6f, .freq_scale = 1.0f}},       /* n_rot clamped to head_dim */
        {MAX_HD, {.n_rot = MAX_HD, .freq_base = 10000.0f, .freq_scale = 1.0f}}, /* past the thread cache */
    };
    const int64_t positions[] = {0, 1, 2, 17, 511, 4096, 131071, 1000003};
    nt_rng r = {11};
    static double c[MAX_HD / 2], s[MAX_HD / 2];
    static float x[MAX_HD], a[MAX_HD], b[MAX_HD], d[MAX_HD];
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const int64_t hd = cases[k].head_dim;
        const nt_rope_cfg *cfg = &cases[k].cfg;
        for (size_t p = 0; p < sizeof positions / sizeof positions[0]; p++) {
            for (int64_t i = 0; i < hd; i++) x[i] = (float)((double)(nt_rng_next(&r) >> 11) * 0x1p-52 - 1.0);
            memcpy(a, x, (size_t)hd * sizeof *x);
            memcpy(b, x, (size_t)hd * sizeof *x);
            memcpy(d, x, (size_t)hd * sizeof *x);
            rope_by_pair(a, hd, positions[p], cfg);
            nt_rope(b, hd, positions[p], cfg);
            nt_rope_angles(c, s, hd, positions[p], cfg);
            nt_rope_apply(d, hd, cfg, c, s);
            cr_assert(memcmp(a, b, (size_t)hd * sizeof *a) == 0, "case %zu pos %lld: nt_rope differs", k,
                      (long long)positions[p]);
            cr_assert(memcmp(a, d, (size_t)hd * sizeof *a) == 0, "case %zu pos %lld: the table differs", k,
                      (long long)positions[p]);
            /* a second head at the same position: the cached angles */
            memcpy(b, x, (size_t)hd * sizeof *x);
            nt_rope(b, hd, positions[p], cfg);
            cr_assert(memcmp(a, b, (size_t)hd * sizeof *a) == 0, "case %zu pos %lld: the cached rotation differs", k,
                      (long long)positions[p]);
        }
    }
}
