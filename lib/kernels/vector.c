/* The F32 vector kernels attention uses, dispatched to the active ISA. */
#include <stddef.h>

#include "core/isa.h"
#include "kernels/kernels.h"
#include "kernels/kernels_isa.h"
#include "types/type_kernels.h"

float nt_dot_f32(const float *a, const float *b, int64_t n)
{
    return nt_type_vec_dot(NT_TYPE_F32)(n, a, b);
}

void nt_axpy_f32(float *y, float a, const float *x, int64_t n)
{
    const nt_isa_kernels *k = nt_isa_kernels_get(nt_isa_active());
    (k && k->axpy_f32 ? k->axpy_f32 : nt_axpy_f32_scalar)(y, a, x, n);
}
