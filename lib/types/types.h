/*
 * Weight-type traits: the one table that drives dispatch. A row gives a
 * ggml type's block size, bytes per block, its dequantizer and its dot
 * product with an F32 vector for each instruction set. Adding a type means
 * adding one row in types.c (and its kernels), nothing else.
 */
#ifndef NT_TYPES_H
#define NT_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ggml type ids as GGUF stores them. */
enum {
    NT_TYPE_F32 = 0,
    NT_TYPE_F16 = 1,
    NT_TYPE_Q4_0 = 2,
    NT_TYPE_Q4_1 = 3,
    NT_TYPE_Q5_0 = 6,
    NT_TYPE_Q5_1 = 7,
    NT_TYPE_Q8_0 = 8,
    NT_TYPE_Q8_1 = 9,
    NT_TYPE_Q2_K = 10,
    NT_TYPE_Q3_K = 11,
    NT_TYPE_Q4_K = 12,
    NT_TYPE_Q5_K = 13,
    NT_TYPE_Q6_K = 14,
    NT_TYPE_Q8_K = 15,
    NT_TYPE_I8 = 24,
    NT_TYPE_I16 = 25,
    NT_TYPE_I32 = 26,
    NT_TYPE_I64 = 27,
    NT_TYPE_F64 = 28,
    NT_TYPE_BF16 = 30,
    NT_TYPE_ID_LIMIT = 64 /* ids at or above this are unknown */
};

/* Instruction sets with kernels of their own. */
typedef enum nt_isa {
    NT_ISA_SCALAR = 0,
    NT_ISA_AVX2 = 1,   /* AVX2 + FMA + F16C */
    NT_ISA_AVX512 = 2, /* AVX-512 F/BW/VL (+BF16, VNNI where present) */
    NT_ISA_NEON = 3,   /* aarch64 Advanced SIMD */
    NT_ISA_COUNT
} nt_isa;

/* Dequantize n values (n a multiple of the block size) into dst. */
typedef void (*nt_to_float_fn)(const void *src, float *dst, int64_t n);
/* Dot product of n weights of a type (one row) with n F32 values. */
typedef float (*nt_vec_dot_fn)(int64_t n, const void *w, const float *x);

typedef struct nt_type_traits {
    const char *name;        /* "F32", "Q8_0", ... as ggml names them */
    int32_t blck_size;       /* values per block */
    int32_t type_size;       /* bytes per block */
    nt_to_float_fn to_float; /* NULL: we cannot compute with this type */
    nt_vec_dot_fn vec_dot[NT_ISA_COUNT]; /* NULL where no kernel for that ISA */
} nt_type_traits;

/* The row for ggml type id `type`, or NULL when the id is unknown. */
const nt_type_traits *nt_type_traits_get(uint32_t type);

/* True when we can run a forward pass with weights of this type. */
bool nt_type_is_computable(uint32_t type);

/* The dot product for the active ISA (falls back to scalar). */
nt_vec_dot_fn nt_type_vec_dot(uint32_t type);

/* Bytes of n values of `type`; false when n is not a multiple of the block
 * size or the size overflows. */
bool nt_type_row_bytes(uint32_t type, int64_t n, uint64_t *bytes_out);

/* --- scalar conversions shared by kernels and tests ----------------------- */
float nt_fp16_to_fp32(uint16_t h);
uint16_t nt_fp32_to_fp16(float f);   /* round to nearest even */
float nt_bf16_to_fp32(uint16_t h);
uint16_t nt_fp32_to_bf16(float f);   /* round to nearest even */

#endif
