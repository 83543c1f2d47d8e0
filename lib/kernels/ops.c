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
 * last (pos, n_rot, base) is kept per thread and reused across heads. */
#define NT_ROPE_CACHE_PAIRS 1024

typedef struct nt_rope_cache {
    bool valid;
    int64_t pos;
    nt_rope_cfg cfg;
    double cos_t[NT_ROPE_CACHE_PAIRS];
    double sin_t[NT_ROPE_CACHE_PAIRS];
} nt_rope_cache;

static _Thread_local nt_rope_cache nt_rope_tls;

static void nt_rope_angle(int64_t pos, int64_t i, const nt_rope_cfg *cfg, double *c, double *s)
{
    /* theta in double: ggml's running product in F32 drifts by many ulps
     * at long positions. */
    double theta = (double)pos * (double)cfg->freq_scale *
                   nt_pexp(-2.0 * (double)i / (double)cfg->n_rot * nt_plog((double)cfg->freq_base));
    if (cfg->freq_factors) theta /= (double)cfg->freq_factors[i];
    const double mscale = cfg->mscale != 0.0f ? (double)cfg->mscale : 1.0;
    double cs, sn;
    nt_psincos(theta, &sn, &cs);
    *c = cs * mscale;
    *s = sn * mscale;
}

static bool nt_rope_cfg_eq(const nt_rope_cfg *a, const nt_rope_cfg *b)
{
    return a->n_rot == b->n_rot && a->freq_base == b->freq_base && a->freq_scale == b->freq_scale &&
           a->freq_factors == b->freq_factors && a->mscale == b->mscale;
}

void nt_rope(float *head, int64_t head_dim, int64_t pos, const nt_rope_cfg *cfg_in)
{
    nt_rope_cfg cfg = *cfg_in;
    if (cfg.n_rot > head_dim) cfg.n_rot = head_dim;
    const int64_t half = cfg.n_rot / 2;
    if (half <= 0) return;
    nt_rope_cache *cache = half <= NT_ROPE_CACHE_PAIRS ? &nt_rope_tls : NULL;
    if (cache && !(cache->valid && cache->pos == pos && nt_rope_cfg_eq(&cache->cfg, &cfg))) {
        for (int64_t i = 0; i < half; i++) nt_rope_angle(pos, i, &cfg, &cache->cos_t[i], &cache->sin_t[i]);
        cache->valid = true;
        cache->pos = pos;
        cache->cfg = cfg;
    }
    for (int64_t i = 0; i < half; i++) {
        double c, s;
        if (cache) {
            c = cache->cos_t[i];
            s = cache->sin_t[i];
        } else {
            nt_rope_angle(pos, i, &cfg, &c, &s);
        }
        /* Normal mode rotates adjacent pairs; NeoX pairs the two halves of
         * the rotated dimensions (as ggml does, also when n_rot < head_dim). */
        const int64_t i0 = cfg.neox ? i : 2 * i;
        const int64_t i1 = cfg.neox ? i + half : 2 * i + 1;
        const double x0 = head[i0], x1 = head[i1];
        head[i0] = (float)(x0 * c - x1 * s);
        head[i1] = (float)(x0 * s + x1 * c);
    }
}
