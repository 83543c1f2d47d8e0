/* The binary min-heap of candidate merges that both BPE (bpe.c) and
 * SentencePiece (spm.c) pop from, written once and instantiated per element
 * type by a macro: the functions are static inline over a concrete type, so
 * the compiler sees through the ordering call exactly as in hand-written
 * code (tokenizer throughput depends on it).
 *
 *   NT_PAIR_HEAP(name, elem, before)
 *
 * defines the struct `name` {elem *v; size_t n, cap;} and
 *   bool name_push(name *h, elem p)   false when out of memory
 *   elem name_pop(name *h)            the first element; h->n must be > 0
 * where `before(const elem *a, const elem *b)` is true when a must come out
 * before b. Zero-initialise the struct; set n = 0 to empty it; nt_free(v)
 * when done. */
#ifndef NT_TOKENIZER_PAIR_HEAP_H
#define NT_TOKENIZER_PAIR_HEAP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/alloc.h"

#define NT_PAIR_HEAP(name, elem, before)                                                        \
    typedef struct name {                                                                       \
        elem *v;                                                                                \
        size_t n, cap;                                                                          \
    } name;                                                                                     \
                                                                                                \
    static inline bool name##_push(name *h, elem p)                                             \
    {                                                                                           \
        /* Grown on demand: stale pairs leave as merges happen, so the heap                     \
         * usually stays far below its bound of three entries per symbol. */                    \
        if (h->n == h->cap) {                                                                   \
            size_t cap = h->cap ? h->cap * 2 : 256;                                             \
            elem *v = nt_realloc_array(h->v, cap, sizeof *v);                                   \
            if (!v) return false;                                                               \
            h->v = v;                                                                           \
            h->cap = cap;                                                                       \
        }                                                                                       \
        size_t i = h->n++;                                                                      \
        while (i > 0) {                                                                         \
            size_t parent = (i - 1) / 2;                                                        \
            if (!before(&p, &h->v[parent])) break;                                              \
            h->v[i] = h->v[parent];                                                             \
            i = parent;                                                                         \
        }                                                                                       \
        h->v[i] = p;                                                                            \
        return true;                                                                            \
    }                                                                                           \
                                                                                                \
    static inline elem name##_pop(name *h)                                                      \
    {                                                                                           \
        elem top = h->v[0];                                                                     \
        elem last = h->v[--h->n];                                                               \
        size_t i = 0, n = h->n;                                                                 \
        for (;;) {                                                                              \
            size_t l = 2 * i + 1, r = l + 1, m = i;                                             \
            const elem *best = &last;                                                           \
            if (l < n && before(&h->v[l], best)) m = l, best = &h->v[l];                        \
            if (r < n && before(&h->v[r], best)) m = r;                                         \
            if (m == i) break;                                                                  \
            h->v[i] = h->v[m];                                                                  \
            i = m;                                                                              \
        }                                                                                       \
        if (n > 0) h->v[i] = last;                                                              \
        return top;                                                                             \
    }

#endif
