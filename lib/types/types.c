/* The weight-type traits table. Block sizes and bytes per block follow
 * ggml's definitions; kernels are filled in where we can compute. */
#include "types/types.h"

#include <string.h>

#include "kernels/isa.h"
#include "types/type_kernels.h"

#define QK4_0 32
#define QK8_0 32
#define QK_K 256

static const nt_type_traits nt_traits[NT_TYPE_ID_LIMIT] = {
    [NT_TYPE_F32] = {"F32", 1, 4, nt_f32_to_float, NT_DOTS(f32)},
    [NT_TYPE_F16] = {"F16", 1, 2, nt_f16_to_float, NT_DOTS(f16)},
    [NT_TYPE_BF16] = {"BF16", 1, 2, nt_bf16_to_float, NT_DOTS(bf16)},
    [NT_TYPE_Q4_0] = {"Q4_0", QK4_0, 2 + QK4_0 / 2, nt_q4_0_to_float, NT_DOTS(q4_0)},
    [NT_TYPE_Q4_1] = {"Q4_1", 32, 4 + 16, nt_q4_1_to_float, NT_DOTS(q4_1)},
    [NT_TYPE_Q5_0] = {"Q5_0", 32, 2 + 4 + 16, nt_q5_0_to_float, NT_DOTS(q5_0)},
    [NT_TYPE_Q5_1] = {"Q5_1", 32, 4 + 4 + 16, nt_q5_1_to_float, NT_DOTS(q5_1)},
    [NT_TYPE_Q8_0] = {"Q8_0", QK8_0, 2 + QK8_0, nt_q8_0_to_float, NT_DOTS(q8_0)},
    [NT_TYPE_Q8_1] = {"Q8_1", 32, 4 + 32, NULL, {NULL}},
    [NT_TYPE_Q2_K] = {"Q2_K", QK_K, QK_K / 16 + QK_K / 4 + 4, nt_q2_k_to_float, NT_DOTS(q2_k)},
    [NT_TYPE_Q3_K] = {"Q3_K", QK_K, QK_K / 8 + QK_K / 4 + 12 + 2, nt_q3_k_to_float, NT_DOTS(q3_k)},
    [NT_TYPE_Q4_K] = {"Q4_K", QK_K, 4 + 12 + QK_K / 2, nt_q4_k_to_float, NT_DOTS(q4_k)},
    [NT_TYPE_Q5_K] = {"Q5_K", QK_K, 4 + 12 + QK_K / 8 + QK_K / 2, nt_q5_k_to_float, NT_DOTS(q5_k)},
    [NT_TYPE_Q6_K] = {"Q6_K", QK_K, QK_K / 2 + QK_K / 4 + QK_K / 16 + 2, nt_q6_k_to_float, NT_DOTS(q6_k)},
    [NT_TYPE_Q8_K] = {"Q8_K", QK_K, 4 + QK_K + QK_K / 16 * 2, NULL, {NULL}},
    [NT_TYPE_I8] = {"I8", 1, 1, NULL, {NULL}},
    [NT_TYPE_I16] = {"I16", 1, 2, NULL, {NULL}},
    [NT_TYPE_I32] = {"I32", 1, 4, NULL, {NULL}},
    [NT_TYPE_I64] = {"I64", 1, 8, NULL, {NULL}},
    [NT_TYPE_F64] = {"F64", 1, 8, NULL, {NULL}},
};

const nt_type_traits *nt_type_traits_get(uint32_t type)
{
    if (type >= NT_TYPE_ID_LIMIT || nt_traits[type].name == NULL) return NULL;
    return &nt_traits[type];
}

bool nt_type_is_computable(uint32_t type)
{
    const nt_type_traits *t = nt_type_traits_get(type);
    return t && t->to_float && t->vec_dot[NT_ISA_SCALAR];
}

nt_vec_dot_fn nt_type_vec_dot(uint32_t type)
{
    const nt_type_traits *t = nt_type_traits_get(type);
    if (!t) return NULL;
    nt_vec_dot_fn f = t->vec_dot[nt_isa_active()];
    return f ? f : t->vec_dot[NT_ISA_SCALAR];
}

bool nt_type_row_bytes(uint32_t type, int64_t n, uint64_t *bytes_out)
{
    const nt_type_traits *t = nt_type_traits_get(type);
    if (!t || n < 0 || n % t->blck_size != 0) return false;
    uint64_t blocks = (uint64_t)(n / t->blck_size);
    if (blocks > UINT64_MAX / (uint64_t)t->type_size) return false;
    *bytes_out = blocks * (uint64_t)t->type_size;
    return true;
}

float nt_fp16_to_fp32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do { e++; man <<= 1; } while ((man & 0x400) == 0);
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t nt_fp32_to_fp16(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t absx = x & 0x7fffffffu;
    if (absx > 0x7f800000u) return (uint16_t)(sign | 0x7e00); /* NaN */
    if (absx >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* overflow to inf */
    if (absx < 0x38800000u) { /* subnormal or zero in half */
        if (absx < 0x33000000u) return (uint16_t)sign;
        uint32_t man = (absx & 0x7fffff) | 0x800000;
        int shift = 126 - (int)(absx >> 23); /* 14..24 */
        uint32_t half = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t r = absx - 0x38000000u; /* rebias exponent */
    uint32_t half = r >> 13;
    uint32_t rem = r & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++;
    return (uint16_t)(sign | half);
}

float nt_bf16_to_fp32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t nt_fp32_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40); /* quiet NaN */
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}
