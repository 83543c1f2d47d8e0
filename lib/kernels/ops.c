/*
 * The element-wise and normalisation operations of the forward passes.
 * They are a small share of the run time next to the matrix products, so
 * they favour accuracy: reductions and transcendental functions run in
 * double and each result is rounded to F32 once. The transcendental
 * functions are the library's own (core/pmath.h), not libm's, so these
 * operations give the same bits on every machine (portable sessions).
 *
 * The activation functions (act_scalar.c and its vector copies) and
 * softmax flush results below FLT_MIN to zero (act_scalar.c says why).
 */
#include <float.h>
#include <math.h>
#include <stdbool.h>

#include "core/isa.h"
#include "core/pmath.h"
#include "kernels/kernels.h"
#include "kernels/kernels_isa.h"

void nt_rmsnorm(float *out, const float *x, const float *weight, int64_t n, float eps)
{
    if (n <= 0) return;
    double ss = 0.0;
    for (int64_t i = 0; i < n; i++) ss += (double)x[i] * (double)x[i];
    const double inv = 1.0 / sqrt(ss / (double)n + (double)eps);
    for (int64_t i = 0; i < n; i++) {
        double v = (double)x[i] * inv;
        if (weight) v *= (double)weight[i];
        out[i] = (float)v;
    }
}

void nt_layernorm(float *out, const float *x, const float *weight, const float *bias,
                  int64_t n, float eps)
{
    if (n <= 0) return;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)x[i];
    const double mean = sum / (double)n;
    double var = 0.0; /* two passes: no cancellation from E[x^2] - E[x]^2 */
    for (int64_t i = 0; i < n; i++) {
        double d = (double)x[i] - mean;
        var += d * d;
    }
    const double inv = 1.0 / sqrt(var / (double)n + (double)eps);
    for (int64_t i = 0; i < n; i++) {
        double v = ((double)x[i] - mean) * inv;
        if (weight) v *= (double)weight[i];
        if (bias) v += (double)bias[i];
        out[i] = (float)v;
    }
}

/* The activations run with the ISA chosen for the process, not the
 * calling thread's: they are bitwise the scalar ones, so a portable
 * session (which sets its thread to scalar) loses nothing by them. */
static const nt_isa_kernels *nt_act_kernels(void)
{
    const nt_isa_kernels *k = nt_isa_kernels_get(nt_isa_process());
    return k ? k : nt_isa_kernels_get(NT_ISA_SCALAR);
}

static inline float nt_flush_subnormal(float v) { return fabsf(v) < FLT_MIN ? 0.0f : v; }

void nt_softmax(float *x, int64_t n)
{
    if (n <= 0) return;
    float max = x[0];
    for (int64_t i = 1; i < n; i++)
        if (x[i] > max) max = x[i];
    if (max == -INFINITY) { /* everything masked: no preference */
        for (int64_t i = 0; i < n; i++) x[i] = (float)(1.0 / (double)n);
        return;
    }
    /* the exponentials by the vector nt_pexp in chunks, summed in order */
    const nt_isa_kernels *k = nt_act_kernels();
    const nt_exp_f64_fn exp_f64 = k->exp_f64 ? k->exp_f64 : nt_exp_f64_scalar;
    enum { CHUNK = 256 };
    double d[CHUNK], e[CHUNK];
    double sum = 0.0;
    for (int64_t i0 = 0; i0 < n; i0 += CHUNK) {
        const int64_t m = n - i0 < CHUNK ? n - i0 : CHUNK;
        for (int64_t i = 0; i < m; i++) d[i] = (double)x[i0 + i] - (double)max;
        exp_f64(e, d, m);
        for (int64_t i = 0; i < m; i++) {
            sum += e[i];
            x[i0 + i] = (float)e[i];
        }
    }
    const double inv = 1.0 / sum;
    for (int64_t i = 0; i < n; i++) x[i] = nt_flush_subnormal((float)((double)x[i] * inv));
}

void nt_gelu_tanh(float *x, int64_t n)
{
    const nt_isa_kernels *k = nt_act_kernels();
    (k->gelu_f32 ? k->gelu_f32 : nt_gelu_f32_scalar)(x, n);
}

void nt_silu_mul(float *gate, const float *up, int64_t n)
{
    const nt_isa_kernels *k = nt_act_kernels();
    (k->silu_mul_f32 ? k->silu_mul_f32 : nt_silu_mul_f32_scalar)(gate, up, n);
}

void nt_gelu_mul(float *gate, const float *up, int64_t n)
{
    const nt_isa_kernels *k = nt_act_kernels();
    (k->gelu_mul_f32 ? k->gelu_mul_f32 : nt_gelu_mul_f32_scalar)(gate, up, n);
}

void nt_scale(float *x, float s, int64_t n)
{
    for (int64_t i = 0; i < n; i++) x[i] *= s;
}

void nt_softcap(float *x, float cap, int64_t n)
{
    for (int64_t i = 0; i < n; i++) x[i] = (float)((double)cap * nt_ptanh((double)x[i] / (double)cap));
}

void nt_add(float *y, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

/* Every head of a token shares one position, so the cos/sin table of the
 * last (pos, n_rot, base) is kept per thread and reused across heads (for
 * callers that rotate one position at a time; the forward pass keeps a
 * table per batch, nt_rope_angles). */
#define NT_ROPE_CACHE_PAIRS 1024

typedef struct nt_rope_cache {
    bool valid;
    int64_t pos;
    nt_rope_cfg cfg;
    double cos_t[NT_ROPE_CACHE_PAIRS];
    double sin_t[NT_ROPE_CACHE_PAIRS];
} nt_rope_cache;

static _Thread_local nt_rope_cache nt_rope_tls;

static nt_rope_cfg nt_rope_clamped(const nt_rope_cfg *cfg, int64_t head_dim)
{
    nt_rope_cfg c = *cfg;
    if (c.n_rot > head_dim) c.n_rot = head_dim;
    return c;
}

/* theta_i = pos * freq_scale * base^(-2i/n_rot) [/ freq_factors[i]], the
 * power as pexp(-2i/n_rot * log base) by the array exp (bitwise nt_pexp),
 * in double: ggml's running product in F32 drifts by many ulps at long
 * positions. Pairs [i0, i1) into cos_t[0..], sin_t[0..]. */
static void nt_rope_angles_span(double *cos_t, double *sin_t, int64_t pos, const nt_rope_cfg *cfg, int64_t i0,
                                int64_t i1)
{
    const nt_isa_kernels *k = nt_act_kernels();
    const nt_exp_f64_fn exp_f64 = k->exp_f64 ? k->exp_f64 : nt_exp_f64_scalar;
    const double log_base = nt_plog((double)cfg->freq_base);
    const double pos_scale = (double)pos * (double)cfg->freq_scale;
    const double mscale = cfg->mscale != 0.0f ? (double)cfg->mscale : 1.0;
    enum { CHUNK = 64 };
    double arg[CHUNK], pw[CHUNK];
    for (int64_t c0 = i0; c0 < i1; c0 += CHUNK) {
        const int64_t m = i1 - c0 < CHUNK ? i1 - c0 : CHUNK;
        for (int64_t j = 0; j < m; j++) arg[j] = -2.0 * (double)(c0 + j) / (double)cfg->n_rot * log_base;
        exp_f64(pw, arg, m);
        for (int64_t j = 0; j < m; j++) {
            const int64_t i = c0 + j;
            double theta = pos_scale * pw[j];
            if (cfg->freq_factors) theta /= (double)cfg->freq_factors[i];
            double cs, sn;
            nt_psincos(theta, &sn, &cs);
            cos_t[i - i0] = cs * mscale;
            sin_t[i - i0] = sn * mscale;
        }
    }
}

/* Rotate pairs [i0, i1) by cos_t[0..], sin_t[0..]. */
static void nt_rope_apply_span(float *head, const nt_rope_cfg *cfg, const double *cos_t, const double *sin_t,
                               int64_t i0, int64_t i1)
{
    const int64_t half = cfg->n_rot / 2;
    for (int64_t i = i0; i < i1; i++) {
        const double c = cos_t[i - i0], s = sin_t[i - i0];
        /* Normal mode rotates adjacent pairs; NeoX pairs the two halves of
         * the rotated dimensions (as ggml does, also when n_rot < head_dim). */
        const int64_t p0 = cfg->neox ? i : 2 * i;
        const int64_t p1 = cfg->neox ? i + half : 2 * i + 1;
        const double x0 = head[p0], x1 = head[p1];
        head[p0] = (float)(x0 * c - x1 * s);
        head[p1] = (float)(x0 * s + x1 * c);
    }
}

void nt_rope_angles(double *cos_t, double *sin_t, int64_t head_dim, int64_t pos, const nt_rope_cfg *cfg)
{
    const nt_rope_cfg c = nt_rope_clamped(cfg, head_dim);
    nt_rope_angles_span(cos_t, sin_t, pos, &c, 0, c.n_rot / 2);
}

void nt_rope_apply(float *head, int64_t head_dim, const nt_rope_cfg *cfg, const double *cos_t, const double *sin_t)
{
    const nt_rope_cfg c = nt_rope_clamped(cfg, head_dim);
    nt_rope_apply_span(head, &c, cos_t, sin_t, 0, c.n_rot / 2);
}

static bool nt_rope_cfg_eq(const nt_rope_cfg *a, const nt_rope_cfg *b)
{
    return a->n_rot == b->n_rot && a->freq_base == b->freq_base && a->freq_scale == b->freq_scale &&
           a->freq_factors == b->freq_factors && a->mscale == b->mscale;
}

void nt_rope(float *head, int64_t head_dim, int64_t pos, const nt_rope_cfg *cfg_in)
{
    const nt_rope_cfg cfg = nt_rope_clamped(cfg_in, head_dim);
    const int64_t half = cfg.n_rot / 2;
    if (half <= 0) return;
    nt_rope_cache *cache = &nt_rope_tls;
    if (half > NT_ROPE_CACHE_PAIRS) { /* wider than the cache: in spans, through it */
        cache->valid = false;
        for (int64_t i0 = 0; i0 < half; i0 += NT_ROPE_CACHE_PAIRS) {
            const int64_t i1 = half - i0 < NT_ROPE_CACHE_PAIRS ? half : i0 + NT_ROPE_CACHE_PAIRS;
            nt_rope_angles_span(cache->cos_t, cache->sin_t, pos, &cfg, i0, i1);
            nt_rope_apply_span(head, &cfg, cache->cos_t, cache->sin_t, i0, i1);
        }
        return;
    }
    if (!(cache->valid && cache->pos == pos && nt_rope_cfg_eq(&cache->cfg, &cfg))) {
        nt_rope_angles_span(cache->cos_t, cache->sin_t, pos, &cfg, 0, half);
        cache->valid = true;
        cache->pos = pos;
        cache->cfg = cfg;
    }
    nt_rope_apply_span(head, &cfg, cache->cos_t, cache->sin_t, 0, half);
}
