/*
 * ggml's quantized block layouts (ggml-common.h), as byte offsets, and the
 * helpers that unpack their packed scales. Shared by the scalar decoders
 * and the SIMD dots so every kernel reads a block the same way.
 *
 * A block's values are defined by its dequantization (ggml-quants.c); the
 * decoders below and the SIMD kernels compute them with the same float
 * operations in the same order, so a value is bitwise the same everywhere.
 */
#ifndef NT_KERNELS_QUANT_BLOCKS_H
#define NT_KERNELS_QUANT_BLOCKS_H

#include <stdint.h>
#include <string.h>

#include "types/block_layouts.h"
#include "types/types.h"



/* An F16 field at byte offset `off` (blocks are byte-packed, so unaligned). */
static inline float nt_q_f16(const unsigned char *b, int off)
{
    uint16_t h;
    memcpy(&h, b + off, sizeof h);
    return nt_fp16_to_fp32(h);
}

/* Q4_K / Q5_K: scale and min j (0..7), six bits each, from the 12 bytes.
 * Pairs 0..3 sit in the low six bits of bytes 0..3 (scales) and 4..7
 * (mins); pairs 4..7 take their low four bits from the nibbles of bytes
 * 8..11 and their top two bits from the spare top bits of bytes 0..7. */
static inline void nt_q_scale_min_k4(int j, const unsigned char *s, int *sc, int *m)
{
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
        *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

/* Q3_K: scale i (0..15), six bits stored with a bias of 32, from the 12
 * bytes: low four bits are the low nibbles of bytes 0..7 (i < 8) or their
 * high nibbles (i >= 8); top two bits are bits 2*(i/4).. of byte 8 + i%4. */
static inline int nt_q3k_scale(int i, const unsigned char *s)
{
    int lo = i < 8 ? (s[i] & 0x0F) : (s[i - 8] >> 4);
    int hi = (s[8 + (i & 3)] >> (2 * (i >> 2))) & 3;
    return (lo | (hi << 4)) - 32;
}

/* One block of each type, dequantized into y (ggml's formulas). */
void nt_deq_block_q4_0(const unsigned char *b, float *y);
void nt_deq_block_q4_1(const unsigned char *b, float *y);
void nt_deq_block_q5_0(const unsigned char *b, float *y);
void nt_deq_block_q5_1(const unsigned char *b, float *y);
void nt_deq_block_q8_0(const unsigned char *b, float *y);
void nt_deq_block_q2_k(const unsigned char *b, float *y);
void nt_deq_block_q3_k(const unsigned char *b, float *y);
void nt_deq_block_q4_k(const unsigned char *b, float *y);
void nt_deq_block_q5_k(const unsigned char *b, float *y);
void nt_deq_block_q6_k(const unsigned char *b, float *y);

typedef void (*nt_deq_block_fn)(const unsigned char *b, float *y);

#endif
