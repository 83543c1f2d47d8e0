/* The weight stream's software prefetch, shared by the x86 kernels that
 * read rows once from memory (the distance: core/isa.h
 * nt_isa_prefetch_bytes). */
#ifndef NT_KERNELS_PREFETCH_X86_H
#define NT_KERNELS_PREFETCH_X86_H

#include <immintrin.h>
#include <stdint.h>

/* Prefetch into L2 the len bytes `ahead` past p, one line per 64 bytes.
 * The address is formed as an integer: past the last row it points
 * outside the weights, which a prefetch may touch (it never faults) but C
 * pointer arithmetic may not. */
static inline __attribute__((always_inline)) void nt_prefetch_ahead_l2(const void *p, uintptr_t ahead, int len)
{
    const uintptr_t a = (uintptr_t)p + ahead;
    for (int l = 0; l < len; l += 64) _mm_prefetch((const char *)(a + (uintptr_t)l), _MM_HINT_T1);
}

#endif
