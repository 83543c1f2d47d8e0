/* The weight stream's software prefetch, shared by the x86 kernels that
 * read rows once from memory (the distance: core/isa.h
 * nt_isa_prefetch_bytes). */
#ifndef NT_KERNELS_PREFETCH_X86_H
#define NT_KERNELS_PREFETCH_X86_H

#include <immintrin.h>
#include <stdint.h>

#include "core/isa.h"

/* Prefetch into L2 the len bytes `ahead` past p, one line per 64 bytes.
 * The address is formed as an integer: past the last row it points
 * outside the weights, which a prefetch may touch (it never faults) but C
 * pointer arithmetic may not. */
static inline __attribute__((always_inline)) void nt_prefetch_ahead_l2(const void *p, uintptr_t ahead, int len)
{
    const uintptr_t a = (uintptr_t)p + ahead;
    for (int l = 0; l < len; l += 64) _mm_prefetch((const char *)(a + (uintptr_t)l), _MM_HINT_T1);
}

/* The distance for rows of row_bytes: the CPU's (nt_isa_prefetch_bytes)
 * from rows of 1 KiB on, 2 KiB below. On Zen 4, 8 KiB made the 1.1B
 * Llama's Q4_0 and Q8_0 decode (rows of 1152..5984 bytes) 20-40% faster
 * than 2 KiB, and GPT-2's Q8_0 decode (rows of 816 bytes) a third slower. */
#define NT_QL_FAR_ROW_BYTES 1024
static inline uintptr_t nt_ql_ahead(int64_t row_bytes)
{
    return (uintptr_t)(row_bytes >= NT_QL_FAR_ROW_BYTES ? nt_isa_prefetch_bytes() : NT_PREFETCH_NEAR_BYTES);
}

#endif
