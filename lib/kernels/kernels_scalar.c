/*
 * Reference kernels in plain C: the fallback on any CPU and the yardstick
 * the SIMD kernels are tested against. Dots keep eight independent F32
 * accumulators, like the SIMD kernels' lanes, so rounding behaves alike and
 * the compiler may still overlap the multiply-adds.
 */
#include <string.h>

#include "kernels/kernels_isa.h"
#include "types/type_kernels.h"

#define NT_LANES 8

static float nt_sum_lanes(const float acc[NT_LANES])
{
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

static inline uint16_t nt_load_u16(const void *p, int64_t i)
{
    uint16_t v;
    memcpy(&v, (const unsigned char *)p + 2 * i, sizeof v); /* rows may be unaligned */
    return v;
}

float nt_dot_f32_scalar(int64_t n, const void *w, const float *x)
{
    const unsigned char *wb = w;
    float acc[NT_LANES] = {0};
    int64_t i = 0;
    for (; i + NT_LANES <= n; i += NT_LANES) {
        float wv[NT_LANES];
        memcpy(wv, wb + 4 * i, sizeof wv);
        for (int l = 0; l < NT_LANES; l++) acc[l] += wv[l] * x[i + l];
    }
    for (int l = 0; i < n; i++, l++) {
        float wv;
        memcpy(&wv, wb + 4 * i, sizeof wv);
        acc[l] += wv * x[i];
    }
    return nt_sum_lanes(acc);
}

float nt_dot_f16_scalar(int64_t n, const void *w, const float *x)
{
    float acc[NT_LANES] = {0};
    int64_t i = 0;
    for (; i + NT_LANES <= n; i += NT_LANES)
        for (int l = 0; l < NT_LANES; l++) acc[l] += nt_fp16_to_fp32(nt_load_u16(w, i + l)) * x[i + l];
    for (int l = 0; i < n; i++, l++) acc[l] += nt_fp16_to_fp32(nt_load_u16(w, i)) * x[i];
    return nt_sum_lanes(acc);
}

float nt_dot_bf16_scalar(int64_t n, const void *w, const float *x)
{
    float acc[NT_LANES] = {0};
    int64_t i = 0;
    for (; i + NT_LANES <= n; i += NT_LANES)
        for (int l = 0; l < NT_LANES; l++) acc[l] += nt_bf16_to_fp32(nt_load_u16(w, i + l)) * x[i + l];
    for (int l = 0; i < n; i++, l++) acc[l] += nt_bf16_to_fp32(nt_load_u16(w, i)) * x[i];
    return nt_sum_lanes(acc);
}

void nt_axpy_f32_scalar(float *y, float a, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

void nt_f32_to_float(const void *src, float *dst, int64_t n)
{
    if (n > 0) memcpy(dst, src, (size_t)n * sizeof(float));
}

void nt_f16_to_float(const void *src, float *dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++) dst[i] = nt_fp16_to_fp32(nt_load_u16(src, i));
}

void nt_bf16_to_float(const void *src, float *dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++) dst[i] = nt_bf16_to_fp32(nt_load_u16(src, i));
}

void nt_f32_from_float(const float *src, void *dst, int64_t n)
{
    memcpy(dst, src, (size_t)n * sizeof(float));
}

void nt_f16_from_float(const float *src, void *dst, int64_t n)
{
    uint16_t *d = dst;
    for (int64_t i = 0; i < n; i++) d[i] = nt_fp32_to_fp16(src[i]);
}

void nt_bf16_from_float(const float *src, void *dst, int64_t n)
{
    uint16_t *d = dst;
    for (int64_t i = 0; i < n; i++) d[i] = nt_fp32_to_bf16(src[i]);
}
