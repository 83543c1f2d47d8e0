/* The GGUF fuzzers' structure-aware field walk (tests/fuzz/gguf_mutate.h)
 * on hostile files: lengths near 2^64 once made `at += 8 + l` wrap, so the
 * walk stood still while looping for a count read from the file (20+
 * minutes inside the mutator, which libFuzzer's -timeout does not cover).
 * Each test has a wall-clock timeout: a walk that loops fails it. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/gguf_mutate.h"

typedef struct buf {
    uint8_t d[512];
    size_t n;
} buf;

static void put(buf *b, uint64_t v, size_t w)
{
    cr_assert_leq(b->n + w, sizeof b->d);
    wr(b->d + b->n, w, v);
    b->n += w;
}

static void header(buf *b, uint64_t n_tensors, uint64_t n_kv)
{
    b->n = 0;
    memcpy(b->d, "GGUF", 4);
    b->n = 4;
    put(b, 3, 4);
    put(b, n_tensors, 8);
    put(b, n_kv, 8);
}

static void key(buf *b, const char *k, uint32_t type)
{
    put(b, strlen(k), 8);
    memcpy(b->d + b->n, k, strlen(k));
    b->n += strlen(k);
    put(b, type, 4);
}

/* Every field found lies inside the file. */
static size_t walk(const buf *b)
{
    static field f[MAX_FIELDS];
    size_t k = gguf_fields(b->d, b->n, f);
    cr_assert_leq(k, MAX_FIELDS);
    for (size_t i = 0; i < k; i++)
        cr_assert(f[i].at <= b->n && f[i].width <= b->n - f[i].at, "field %zu at %zu+%zu outside %zu bytes", i,
                  f[i].at, f[i].width, b->n);
    return k;
}

/* The reported hang: an array of 2^64-1 strings whose element length
 * 2^64-8 made 8 + l wrap to 0. */
Test(fuzz_mutate, string_array_with_wrapping_lengths_ends, .timeout = 10)
{
    buf b;
    header(&b, 0, 1);
    key(&b, "tokenizer.ggml.tokens", 9);
    put(&b, 8, 4);          /* element type: string */
    put(&b, UINT64_MAX, 8); /* 2^64 - 1 elements */
    put(&b, UINT64_MAX - 7, 8);
    put(&b, UINT64_MAX - 7, 8);
    size_t k = walk(&b);
    cr_assert_geq(k, 3, "the header counts and the array length are fields");
}

/* Every other length the walk adds: key, string value and tensor name
 * lengths, each in [2^64 - 16, 2^64 - 1], and array counts near 2^64 with
 * scalar elements. */
Test(fuzz_mutate, every_length_near_two_to_the_64_ends, .timeout = 10)
{
    for (uint64_t l = UINT64_MAX - 16; l != 0; l++) {
        buf b;
        header(&b, 0, UINT64_MAX);
        put(&b, l, 8); /* key length */
        put(&b, 0, 8);
        walk(&b);

        header(&b, 0, UINT64_MAX);
        key(&b, "general.name", 8);
        put(&b, l, 8); /* string length */
        put(&b, 0, 8);
        walk(&b);

        header(&b, UINT64_MAX, 0);
        put(&b, l, 8); /* tensor name length */
        put(&b, 0, 8);
        walk(&b);

        for (uint32_t et = 0; et < 13; et++) {
            header(&b, 0, UINT64_MAX);
            key(&b, "a", 9);
            put(&b, et, 4);
            put(&b, l, 8); /* array count */
            put(&b, 0, 8);
            walk(&b);
        }
    }
}

/* Huge counts over well-formed entries stop at the end of the file. */
Test(fuzz_mutate, huge_counts_stop_at_the_end, .timeout = 10)
{
    buf b;
    header(&b, UINT64_MAX, UINT64_MAX);
    key(&b, "x", 4);
    put(&b, 7, 4);
    size_t k = walk(&b);
    cr_assert_eq(k, 4, "two header counts, one type, one value: got %zu", k);

    header(&b, UINT64_MAX, 0);
    put(&b, 1, 8);
    b.d[b.n++] = 't';
    put(&b, 2, 4); /* n_dims */
    put(&b, 4, 8);
    put(&b, 4, 8);
    put(&b, 0, 4); /* type */
    put(&b, 0, 8); /* offset */
    k = walk(&b);
    cr_assert_eq(k, 2 + 1 + 2 + 2, "header counts, n_dims, 2 dims, type, offset: got %zu", k);
}

/* Every prefix of a well-formed file walks inside its bytes. */
Test(fuzz_mutate, every_truncation_stays_inside, .timeout = 10)
{
    buf full;
    header(&full, 1, 3);
    key(&full, "general.name", 8);
    put(&full, 3, 8);
    memcpy(full.d + full.n, "abc", 3);
    full.n += 3;
    key(&full, "v", 9);
    put(&full, 8, 4);
    put(&full, 2, 8);
    put(&full, 1, 8);
    full.d[full.n++] = 'x';
    put(&full, 0, 8);
    key(&full, "n", 9);
    put(&full, 5, 4);
    put(&full, 3, 8);
    put(&full, 1, 4);
    put(&full, 2, 4);
    put(&full, 3, 4);
    put(&full, 1, 8);
    full.d[full.n++] = 'w';
    put(&full, 1, 4);
    put(&full, 32, 8);
    put(&full, 0, 4);
    put(&full, 0, 8);
    size_t all = walk(&full);
    /* header 2, string key 2, string array 2, int array 3, tensor 4 */
    cr_assert_eq(all, 2 + 2 + 2 + 3 + 4, "fields of the whole file: %zu", all);
    for (size_t n = 0; n < full.n; n++) {
        buf cut = full;
        cut.n = n;
        cr_assert_leq(walk(&cut), all);
    }
}
