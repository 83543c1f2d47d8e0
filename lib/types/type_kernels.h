/* Declarations of every per-type kernel the traits table names. Each ISA's
 * kernels live in lib/kernels/kernels_<isa>.c; on a build target without an
 * ISA its entries are NULL, so the table stays one row per type. */
#ifndef NT_TYPE_KERNELS_H
#define NT_TYPE_KERNELS_H

#include <stdint.h>

#include "types/types.h"

/* NT_NO_ISA_KERNELS: a build with the scalar kernels alone (meson option
 * isa_kernels=false). */
#if !defined(NT_NO_ISA_KERNELS) && (defined(__x86_64__) || defined(__i386__))
#  define NT_HAVE_X86 1
#else
#  define NT_HAVE_X86 0
#endif
#if !defined(NT_NO_ISA_KERNELS) && defined(__aarch64__)
#  define NT_HAVE_NEON 1
#else
#  define NT_HAVE_NEON 0
#endif

#define NT_DECLARE_DOTS(t)                                                   \
    float nt_dot_##t##_scalar(int64_t n, const void *w, const float *x);     \
    float nt_dot_##t##_avx2(int64_t n, const void *w, const float *x);       \
    float nt_dot_##t##_avx512(int64_t n, const void *w, const float *x);     \
    float nt_dot_##t##_neon(int64_t n, const void *w, const float *x);

NT_DECLARE_DOTS(f32)
NT_DECLARE_DOTS(f16)
NT_DECLARE_DOTS(bf16)
NT_DECLARE_DOTS(q4_0)
NT_DECLARE_DOTS(q4_1)
NT_DECLARE_DOTS(q5_0)
NT_DECLARE_DOTS(q5_1)
NT_DECLARE_DOTS(q8_0)
NT_DECLARE_DOTS(q2_k)
NT_DECLARE_DOTS(q3_k)
NT_DECLARE_DOTS(q4_k)
NT_DECLARE_DOTS(q5_k)
NT_DECLARE_DOTS(q6_k)

void nt_f32_to_float(const void *src, float *dst, int64_t n);
void nt_f16_to_float(const void *src, float *dst, int64_t n);
void nt_bf16_to_float(const void *src, float *dst, int64_t n);
void nt_f32_from_float(const float *src, void *dst, int64_t n);
void nt_f16_from_float(const float *src, void *dst, int64_t n);
void nt_bf16_from_float(const float *src, void *dst, int64_t n);
void nt_q8_0_from_float(const float *src, void *dst, int64_t n); /* ggml's Q8_0 rounding */
/* Quantized rows (lib/kernels/quants_scalar.c). */
void nt_q4_0_to_float(const void *src, float *dst, int64_t n);
void nt_q4_1_to_float(const void *src, float *dst, int64_t n);
void nt_q5_0_to_float(const void *src, float *dst, int64_t n);
void nt_q5_1_to_float(const void *src, float *dst, int64_t n);
void nt_q8_0_to_float(const void *src, float *dst, int64_t n);
void nt_q2_k_to_float(const void *src, float *dst, int64_t n);
void nt_q3_k_to_float(const void *src, float *dst, int64_t n);
void nt_q4_k_to_float(const void *src, float *dst, int64_t n);
void nt_q5_k_to_float(const void *src, float *dst, int64_t n);
void nt_q6_k_to_float(const void *src, float *dst, int64_t n);

#endif
