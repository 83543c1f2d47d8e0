/* Reading an F16 block scale with F16C, shared by the x86 quantized kernels
 * (AVX2 and AVX-512 both have F16C). Include only from files compiled with
 * -mf16c. */
#ifndef NT_KERNELS_F16C_SCALE_H
#define NT_KERNELS_F16C_SCALE_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

/* The F16 at b + off as F32: exact, like nt_fp16_to_fp32, and branch-free. */
static inline float nt_f16_hw(const unsigned char *b, int off)
{
    uint16_t h;
    memcpy(&h, b + off, sizeof h);
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}

#endif
