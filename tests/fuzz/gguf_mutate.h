/* Structure-aware mutation for the GGUF fuzzers (the mutator in libFuzzer
 * builds only: run.sh defines NT_FUZZ_LIBFUZZER). Half of the mutations walk the file's
 * key-value and tensor tables and overwrite one integer/float value, one
 * array length or one tensor dimension, type or offset with an interesting
 * number, so the file stays well-formed up to that field and the loaders'
 * checks of hyper-parameters and shapes get exercised; the other half are
 * libFuzzer's own byte mutations. The field walk (gguf_fields) is compiled
 * everywhere so the unit tests can feed it hostile files; the mutator
 * entry point only in libFuzzer builds. libFuzzer's per-input -timeout does
 * not cover custom mutators, so the walk must end on any bytes. */
#ifndef NT_FUZZ_GGUF_MUTATE_H
#define NT_FUZZ_GGUF_MUTATE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct field { size_t at, width; } field;

#define MAX_FIELDS 4096

static inline uint64_t rd(const uint8_t *p, size_t w)
{
    uint64_t v = 0;
    for (size_t i = 0; i < w; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static inline void wr(uint8_t *p, size_t w, uint64_t v)
{
    for (size_t i = 0; i < w; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static inline size_t scalar_width(uint32_t t)
{
    static const size_t w[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return t < 13 ? w[t] : 0;
}

/* Collect mutable fields; returns their count (stops at the first
 * inconsistency, which is fine: earlier fields are still valid). Every
 * length read from the file is compared with the bytes left (n - at, which
 * never underflows because at <= n always holds) before it is added to the
 * position: adding first wraps for lengths near 2^64, and then the position
 * stops advancing while a loop runs for a count read from the file. Each
 * loop iteration below advances at least 8 bytes or returns, so the walk
 * ends after at most n / 8 steps whatever the counts claim. */
static inline size_t gguf_fields(const uint8_t *d, size_t n, field *f)
{
    size_t k = 0, at = 24;
    if (n < 24 || memcmp(d, "GGUF", 4) != 0) return 0;
    uint64_t n_tensors = rd(d + 8, 8), n_kv = rd(d + 16, 8);
    f[k++] = (field){8, 8};
    f[k++] = (field){16, 8};
#define NEED(x) do { if ((uint64_t)(x) > (uint64_t)(n - at)) return k; } while (0)
#define SKIP(x) do { NEED(x); at += (size_t)(x); } while (0)
#define ADD(a, w) do { if (k < MAX_FIELDS) f[k++] = (field){(a), (w)}; } while (0)
    for (uint64_t i = 0; i < n_kv; i++) {
        NEED(8);
        uint64_t kl = rd(d + at, 8);
        at += 8;
        SKIP(kl);
        NEED(4);
        uint32_t t = (uint32_t)rd(d + at, 4);
        ADD(at, 4);
        at += 4;
        if (t == 8) { /* string */
            NEED(8);
            uint64_t l = rd(d + at, 8);
            ADD(at, 8);
            at += 8;
            SKIP(l);
        } else if (t == 9) { /* array */
            NEED(12);
            uint32_t et = (uint32_t)rd(d + at, 4);
            uint64_t len = rd(d + at + 4, 8);
            ADD(at + 4, 8);
            at += 12;
            if (et == 8) {
                for (uint64_t j = 0; j < len; j++) {
                    NEED(8);
                    uint64_t l = rd(d + at, 8);
                    at += 8;
                    SKIP(l);
                }
            } else {
                size_t w = scalar_width(et);
                if (!w || len > (n - at) / w) return k;
                if (len) ADD(at + w * (size_t)(len / 2), w); /* one element */
                at += w * (size_t)len;
            }
        } else {
            size_t w = scalar_width(t);
            if (!w) return k;
            NEED(w);
            ADD(at, w);
            at += w;
        }
    }
    for (uint64_t i = 0; i < n_tensors; i++) {
        NEED(8);
        uint64_t l = rd(d + at, 8);
        at += 8;
        SKIP(l);
        NEED(4);
        uint32_t nd = (uint32_t)rd(d + at, 4);
        ADD(at, 4);
        at += 4;
        if (nd > 8) return k;
        NEED(8 * (size_t)nd + 12);
        for (uint32_t j = 0; j < nd; j++) ADD(at + 8 * j, 8);
        at += 8 * (size_t)nd;
        ADD(at, 4);     /* type */
        ADD(at + 4, 8); /* offset */
        at += 12;
    }
#undef NEED
#undef SKIP
#undef ADD
    return k;
}

#ifdef NT_FUZZ_LIBFUZZER
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

static inline uint32_t next_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    uint32_t s = seed | 1;
    static field f[MAX_FIELDS];
    size_t nf = (next_rand(&s) & 1) ? gguf_fields(data, size, f) : 0;
    if (nf == 0) return LLVMFuzzerMutate(data, size, max_size);
    field x = f[next_rand(&s) % nf];
    uint64_t old = rd(data + x.at, x.width), v;
    switch (next_rand(&s) % 10) {
    case 0: v = 0; break;
    case 1: v = 1; break;
    case 2: v = old + 1; break;
    case 3: v = old - 1; break;
    case 4: v = old * 2; break;
    case 5: v = old / 2; break;
    case 6: v = ~(uint64_t)0 >> (64 - 8 * x.width); break;          /* all ones */
    case 7: v = (uint64_t)1 << (8 * x.width - 1); break;             /* sign bit */
    case 8: v = (uint64_t)1 << (next_rand(&s) % (8 * x.width)); break;
    default: v = next_rand(&s) % 64; break;
    }
    wr(data + x.at, x.width, v);
    return size;
}

#endif
#endif
