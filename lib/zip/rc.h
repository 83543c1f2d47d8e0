/*
 * A range coder over 64-bit integers (arithmetic coding with byte-wise
 * output). The interval's width stays in [2^56, 2^64), so a symbol of
 * frequency f out of a total T costs log2(T/f) bits to within 2^-32 of
 * it, for totals up to 2^32. The encoder writes big-endian bytes into a
 * caller's buffer and propagates carries back into it; the decoder reads
 * zeros past the end of its input, so trailing zero bytes are left out.
 */
#ifndef NT_ZIP_RC_H
#define NT_ZIP_RC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct nt_rc_enc {
    uint64_t low, range;
    unsigned char *buf;
    size_t cap, pos;
    bool overflow; /* more than cap bytes were needed: the output is void */
} nt_rc_enc;

void nt_rc_enc_init(nt_rc_enc *e, unsigned char *buf, size_t cap);
/* Code the symbol [cum, cum + freq) of [0, total); 0 < freq, cum + freq <= total <= 2^32. */
void nt_rc_enc_put(nt_rc_enc *e, uint64_t cum, uint64_t freq, uint64_t total);
/* Code `bits` (1..32) of v as uniform symbols. */
void nt_rc_enc_bits(nt_rc_enc *e, uint32_t v, int bits);
/* Write the shortest tail that pins the interval; returns the bytes
 * written in all (0 after an overflow). */
size_t nt_rc_enc_finish(nt_rc_enc *e);

typedef struct nt_rc_dec {
    uint64_t code, range, r;
    const unsigned char *buf;
    size_t len, pos;
} nt_rc_dec;

void nt_rc_dec_init(nt_rc_dec *d, const unsigned char *buf, size_t len);
/* The target of the next symbol out of `total`, in [0, total), or
 * UINT64_MAX when the input cannot have come from the encoder. Follow
 * with nt_rc_dec_take for the symbol containing it. */
uint64_t nt_rc_dec_target(nt_rc_dec *d, uint64_t total);
void nt_rc_dec_take(nt_rc_dec *d, uint64_t cum, uint64_t freq);
/* `bits` (1..32) coded by nt_rc_enc_bits; false on corrupt input. */
bool nt_rc_dec_bits(nt_rc_dec *d, int bits, uint32_t *v);

#endif
