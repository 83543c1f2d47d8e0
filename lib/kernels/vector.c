/* The F32 vector kernels attention uses, dispatched to the active ISA. */
#include <stddef.h>

#include "kernels/isa.h"
#include "kernels/kernels.h"
#include "kernels/kernels_isa.h"
#include "types/type_kernels.h"

float nt_dot_f32(const float *a, const float *b, int64_t n)
{
    return nt_type_vec_dot(NT_TYPE_F32)(n, a, b);
}

typedef void (*nt_axpy_fn)(float *y, float a, const float *x, int64_t n);

static const nt_axpy_fn nt_axpy_table[NT_ISA_COUNT] = {
    [NT_ISA_SCALAR] = nt_axpy_f32_scalar,
#if NT_HAVE_X86
    [NT_ISA_AVX2] = nt_axpy_f32_avx2,
    [NT_ISA_AVX512] = nt_axpy_f32_avx512,
#endif
#if NT_HAVE_NEON
    [NT_ISA_NEON] = nt_axpy_f32_neon,
#endif
};

void nt_axpy_f32(float *y, float a, const float *x, int64_t n)
{
    nt_axpy_fn f = nt_axpy_table[nt_isa_active()];
    (f ? f : nt_axpy_f32_scalar)(y, a, x, n);
}
