/* FNV-1a over bytes: the one byte hash the library's look-up tables (GGUF
 * keys and tensor names, vocabulary texts) and the benchmarks' output
 * checks share. Not a checksum against tampering: that is BLAKE2b
 * (libsodium). */
#ifndef NT_CORE_HASH_H
#define NT_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t nt_fnv1a64(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

#endif
