/* Every internal heap allocation goes through mimalloc, via these wrappers,
 * so the allocator can change in one place and sizes are overflow-checked. */
#ifndef NT_CORE_ALLOC_H
#define NT_CORE_ALLOC_H

#include <stddef.h>
#include <stdint.h>

void *nt_malloc(size_t size);
void *nt_calloc(size_t count, size_t size);
/* count*size with overflow check; NULL on overflow or failure. */
void *nt_malloc_array(size_t count, size_t size);
void *nt_realloc(void *ptr, size_t size);
/* Reallocate to count*size with overflow check. */
void *nt_realloc_array(void *ptr, size_t count, size_t size);
void *nt_aligned_alloc(size_t alignment, size_t size);
char *nt_strdup(const char *s);
char *nt_strndup(const char *s, size_t n);
void nt_free(void *ptr);

/* Allocations made so far by the functions above, process-wide: tests pin
 * that a decode step allocates nothing. */
uint64_t nt_alloc_count(void);

#ifdef NT_ALLOC_TESTING
#include <stdbool.h>
/* Allocation-failure injection, in builds configured with
 * -Dalloc_testing=true only (tests/test_alloc_fail.c). Arm: the n-th
 * allocation from now (1-based) returns NULL, the others succeed; 0
 * disarms. nt_alloc_test_failed says whether the armed one was reached.
 * Live blocks (allocated, not yet freed) and the largest single request
 * since the last reset are tracked process-wide. */
void nt_alloc_test_fail_at(uint64_t n);
bool nt_alloc_test_failed(void);
uint64_t nt_alloc_test_live(void);
uint64_t nt_alloc_test_largest(void);
void nt_alloc_test_largest_reset(void);
#endif

#endif
