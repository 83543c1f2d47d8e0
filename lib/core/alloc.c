#include "core/alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mimalloc.h>

/* Sanitizer builds route allocations to the system allocator: ASan and
 * valgrind watch malloc, not mimalloc's own arenas, so only then do they
 * see an overrun of one of our buffers. */
#ifdef NT_ALLOC_SYSTEM
#  define NT_MALLOC(n) malloc(n)
#  define NT_CALLOC(c, n) calloc(c, n)
#  define NT_REALLOC(p, n) realloc(p, n)
#  define NT_ALIGNED(a, n) aligned_alloc(a, ((n) + (a) - 1) / (a) * (a))
#  define NT_FREE(p) free(p)
#else
#  define NT_MALLOC(n) mi_malloc(n)
#  define NT_CALLOC(c, n) mi_calloc(c, n)
#  define NT_REALLOC(p, n) mi_realloc(p, n)
#  define NT_ALIGNED(a, n) mi_malloc_aligned(n, a)
#  define NT_FREE(p) mi_free(p)
#endif

static _Atomic uint64_t nt_allocs;

uint64_t nt_alloc_count(void) { return atomic_load_explicit(&nt_allocs, memory_order_relaxed); }

static inline void counted(void) { atomic_fetch_add_explicit(&nt_allocs, 1, memory_order_relaxed); }

void *nt_malloc(size_t size)
{
    counted();
    return NT_MALLOC(size ? size : 1);
}

void *nt_calloc(size_t count, size_t size)
{
    counted();
    return NT_CALLOC(count ? count : 1, size ? size : 1);
}

void *nt_malloc_array(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) return NULL;
    return nt_malloc(count * size);
}

void *nt_realloc(void *ptr, size_t size)
{
    counted();
    return NT_REALLOC(ptr, size ? size : 1);
}

void *nt_realloc_array(void *ptr, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) return NULL;
    return nt_realloc(ptr, count * size);
}

void *nt_aligned_alloc(size_t alignment, size_t size)
{
    if (size > SIZE_MAX - alignment) return NULL;
    counted();
    return NT_ALIGNED(alignment, size ? size : 1);
}

char *nt_strdup(const char *s) { return nt_strndup(s, strlen(s)); }

char *nt_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = nt_malloc(len + 1);
    if (!d) return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

void nt_free(void *ptr) { NT_FREE(ptr); }
