/* Test helpers for the kernel tests: buffers that end at an inaccessible
 * page, so a kernel reading one element past its input crashes the test,
 * and a small deterministic random generator. */
#ifndef NT_TEST_GUARDED_H
#define NT_TEST_GUARDED_H

#include <stddef.h>
#include <stdint.h>

typedef struct nt_guard {
    void *map;
    size_t map_len;
} nt_guard;

/* `bytes` writable bytes ending exactly where a PROT_NONE page begins. */
void *nt_guarded_alloc(size_t bytes, nt_guard *g);
void nt_guarded_free(nt_guard *g);

typedef struct nt_rng {
    uint64_t s;
} nt_rng;

static inline uint64_t nt_rng_next(nt_rng *r)
{
    /* splitmix64 */
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1). */
static inline float nt_rng_float(nt_rng *r)
{
    return (float)((double)(nt_rng_next(r) >> 11) * 0x1.0p-52 - 1.0);
}

#endif
