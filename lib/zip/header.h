/*
 * The zip file header, little-endian:
 *     0  magic "NTZIP\r\n\x1a" (8 bytes: \r\n and ^Z catch text-mode damage)
 *     8  u32 version (1)
 *    12  u32 flags: bit 0 stored (the payload is the original)
 *    16  u64 original length
 *    24  u64 payload length
 *    32  u32 window (n_ctx)
 *    36  u32 frequency total's bits (24)
 *    40  model digest (BLAKE2b-256 of the model file)
 *    72  checksum (BLAKE2b-256 of the original)
 *   104  BLAKE2b-128 of bytes 0..104
 */
#ifndef NT_ZIP_HEADER_H
#define NT_ZIP_HEADER_H

#include <stddef.h>
#include <stdint.h>

#include "nexttok.h"

#define NT_ZIP_VERSION 1
#define NT_ZIP_FLAG_STORED 1u

typedef struct nt_zip_header {
    uint32_t version, flags;
    uint64_t original_len, payload_len;
    uint32_t n_ctx, total_bits;
    uint8_t model_digest[NEXTTOK_DIGEST_BYTES];
    uint8_t checksum[NEXTTOK_DIGEST_BYTES];
} nt_zip_header;

void nt_zip_header_write(const nt_zip_header *h, unsigned char out[NEXTTOK_ZIP_HEADER_BYTES]);
/* Parse and check `len` bytes; the status and message name what is wrong. */
nexttok_status nt_zip_header_read(const unsigned char *in, size_t len, nt_zip_header *h);

/* BLAKE2b-256 of n bytes. */
void nt_zip_checksum(const void *data, size_t n, uint8_t out[NEXTTOK_DIGEST_BYTES]);

#endif
