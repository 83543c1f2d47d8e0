/* Sizes of ggml's block layouts (ggml-common.h) and of fast mode's
 * activation blocks: what a type is, shared by the type table and the
 * kernels (lib/kernels/quant_blocks.h has the field offsets and decoders). */
#ifndef NT_TYPES_BLOCK_LAYOUTS_H
#define NT_TYPES_BLOCK_LAYOUTS_H

#include <stdint.h>

#define NT_QK32 32   /* values per block of the legacy types */
#define NT_QK_K 256  /* values per super-block of the k-quants */

/* Bytes per block:
 * Q4_0 {f16 d; u8 qs[16]}            Q4_1 {f16 d, m; u8 qs[16]}
 * Q5_0 {f16 d; u8 qh[4]; u8 qs[16]}  Q5_1 {f16 d, m; u8 qh[4]; u8 qs[16]}
 * Q8_0 {f16 d; i8 qs[32]}
 * Q2_K {u8 scales[16]; u8 qs[64]; f16 d, dmin}
 * Q3_K {u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d}
 * Q4_K {f16 d, dmin; u8 scales[12]; u8 qs[128]}
 * Q5_K {f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}
 * Q6_K {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d} */
#define NT_Q4_0_BYTES 18
#define NT_Q4_1_BYTES 20
#define NT_Q5_0_BYTES 22
#define NT_Q5_1_BYTES 24
#define NT_Q8_0_BYTES 34
#define NT_Q2_K_BYTES 84
#define NT_Q3_K_BYTES 110
#define NT_Q4_K_BYTES 144
#define NT_Q5_K_BYTES 176
#define NT_Q6_K_BYTES 210

/* Fast mode's activation blocks (lib/kernels/qdot.h says how they are
 * made and used), our own layouts, never stored in files:
 *  - nt_q8a: 32 values, for the weight types whose blocks are 32 wide;
 *    `s` is the sum of the quants (the types with a minimum need it).
 *  - nt_q8k: 256 values, for the k-quants; bsums[i] is the sum of quants
 *    16*i .. 16*i + 15 (their mins need it). */
#define NT_Q8A_VALUES 32
#define NT_Q8K_VALUES 256

typedef struct nt_q8a_block {
    float d;
    int32_t s; /* sum of qs */
    int8_t qs[NT_Q8A_VALUES];
} nt_q8a_block;

typedef struct nt_q8k_block {
    float d;
    int16_t bsums[NT_Q8K_VALUES / 16];
    int8_t qs[NT_Q8K_VALUES];
} nt_q8k_block;

_Static_assert(sizeof(nt_q8a_block) == 40, "nt_q8a_block layout");
_Static_assert(sizeof(nt_q8k_block) == 292, "nt_q8k_block layout");

#endif
