/* Per-ISA F32 vector kernels that are not tied to a weight type (the weight
 * dot products are declared in types/type_kernels.h). Only the entries of
 * the ISAs built for this target exist. */
#ifndef NT_KERNELS_ISA_KERNELS_H
#define NT_KERNELS_ISA_KERNELS_H

#include <stdint.h>

void nt_axpy_f32_scalar(float *y, float a, const float *x, int64_t n);
void nt_axpy_f32_avx2(float *y, float a, const float *x, int64_t n);
void nt_axpy_f32_avx512(float *y, float a, const float *x, int64_t n);
void nt_axpy_f32_neon(float *y, float a, const float *x, int64_t n);

#endif
