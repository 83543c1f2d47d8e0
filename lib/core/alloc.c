#include "core/alloc.h"

#include <mimalloc.h>
#include <stdint.h>

void *nt_malloc(size_t size) { return mi_malloc(size ? size : 1); }
void *nt_calloc(size_t count, size_t size) { return mi_calloc(count ? count : 1, size ? size : 1); }

void *nt_malloc_array(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) return NULL;
    return nt_malloc(count * size);
}

void *nt_realloc(void *ptr, size_t size) { return mi_realloc(ptr, size ? size : 1); }

void *nt_realloc_array(void *ptr, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) return NULL;
    return nt_realloc(ptr, count * size);
}

void *nt_aligned_alloc(size_t alignment, size_t size)
{
    return mi_malloc_aligned(size ? size : 1, alignment);
}

char *nt_strdup(const char *s) { return mi_strdup(s); }
char *nt_strndup(const char *s, size_t n) { return mi_strndup(s, n); }
void nt_free(void *ptr) { mi_free(ptr); }
