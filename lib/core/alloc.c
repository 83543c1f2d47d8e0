#include "core/alloc.h"

#include <stdatomic.h>
#include <stdbool.h>
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

#ifdef NT_ALLOC_TESTING
/* Test builds only (meson -Dalloc_testing=true): the armed allocation
 * fails, live blocks and the largest request are tracked. Never compiled
 * into a release build: the option defaults to false. */
static _Atomic uint64_t fail_at, live, largest;

void nt_alloc_test_fail_at(uint64_t n)
{
    atomic_store(&fail_at, n ? nt_alloc_count() + n : 0);
}

bool nt_alloc_test_failed(void)
{
    uint64_t f = atomic_load(&fail_at);
    return f != 0 && nt_alloc_count() >= f;
}

uint64_t nt_alloc_test_live(void) { return atomic_load(&live); }

uint64_t nt_alloc_test_largest(void) { return atomic_load(&largest); }

void nt_alloc_test_largest_reset(void) { atomic_store(&largest, 0); }

/* Counts the call; false when this one is the allocation armed to fail. */
static bool counted_ok(size_t size)
{
    uint64_t k = atomic_fetch_add_explicit(&nt_allocs, 1, memory_order_relaxed) + 1;
    uint64_t m = atomic_load(&largest);
    while (size > m && !atomic_compare_exchange_weak(&largest, &m, size)) {}
    return k != atomic_load(&fail_at);
}

static void *born(void *p)
{
    if (p) atomic_fetch_add(&live, 1);
    return p;
}

#  define COUNTED(size) do { if (!counted_ok(size)) return NULL; } while (0)
#  define BORN(p) born(p)
#else
#  define COUNTED(size) atomic_fetch_add_explicit(&nt_allocs, 1, memory_order_relaxed)
#  define BORN(p) (p)
#endif

void *nt_malloc(size_t size)
{
    COUNTED(size);
    return BORN(NT_MALLOC(size ? size : 1));
}

void *nt_calloc(size_t count, size_t size)
{
    COUNTED(size && count > SIZE_MAX / size ? SIZE_MAX : count * size);
    return BORN(NT_CALLOC(count ? count : 1, size ? size : 1));
}

void *nt_malloc_array(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) return NULL;
    return nt_malloc(count * size);
}

void *nt_realloc(void *ptr, size_t size)
{
    COUNTED(size);
    void *p = NT_REALLOC(ptr, size ? size : 1);
    return ptr ? p : BORN(p); /* a reallocated block was already live */
}

void *nt_realloc_array(void *ptr, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) return NULL;
    return nt_realloc(ptr, count * size);
}

void *nt_aligned_alloc(size_t alignment, size_t size)
{
    if (size > SIZE_MAX - alignment) return NULL;
    COUNTED(size);
    return BORN(NT_ALIGNED(alignment, size ? size : 1));
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

void nt_free(void *ptr)
{
#ifdef NT_ALLOC_TESTING
    if (ptr) atomic_fetch_sub(&live, 1);
#endif
    NT_FREE(ptr);
}
