/* The GGUF reader on hostile input: every malformed file gets a status and a
 * message naming the problem, never a crash or an out-of-bounds read. Every
 * buffer handed to the parser is malloc'd at its exact size, so an overread
 * shows up under valgrind or AddressSanitizer. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "support/fixtures.h"
#include "support/gguf_writer.h"
#include "types/types.h"

/* Parse a copy of buf[0..n) of exactly n bytes; returns the status and
 * leaves the message in nexttok_error_message(). */
static nexttok_status parse_exact(const uint8_t *buf, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1);
    cr_assert_not_null(copy);
    if (n) memcpy(copy, buf, n);
    nt_gguf *g = (nt_gguf *)1;
    nexttok_status st = nt_gguf_parse(copy, n, &g);
    if (st == NEXTTOK_OK) {
        cr_assert_not_null(g);
        /* touch every tensor byte: they must all be inside the copy */
        volatile uint8_t sink = 0;
        for (uint64_t i = 0; i < g->n_tensors; i++)
            for (uint64_t j = 0; j < g->tensors[i].nbytes; j++) sink ^= ((const uint8_t *)g->tensors[i].data)[j];
        (void)sink;
        nt_gguf_close(g);
    } else {
        cr_assert_null(g, "out must be NULL on failure");
        cr_assert_str_not_empty(nexttok_error_message(), "status %d without a message", st);
    }
    free(copy);
    return st;
}

/* Write w, free it, parse; expect `want` and a message containing `needle`. */
static void expect_fail(nt_gw *w, nexttok_status want, const char *needle)
{
    size_t size;
    uint8_t *buf = nt_gw_write(w, &size, NULL);
    nt_gw_free(w);
    nexttok_status st = parse_exact(buf, size);
    free(buf);
    cr_assert_eq(st, want, "status %d, want %d: %s", st, want, nexttok_error_message());
    cr_assert(strstr(nexttok_error_message(), needle), "message \"%s\" lacks \"%s\"", nexttok_error_message(),
              needle);
}

static void expect_ok(nt_gw *w)
{
    size_t size;
    uint8_t *buf = nt_gw_write(w, &size, NULL);
    nt_gw_free(w);
    nexttok_status st = parse_exact(buf, size);
    free(buf);
    cr_assert_eq(st, NEXTTOK_OK, "%s", nexttok_error_message());
}

/* A small file using every section: scalars, a string, arrays of numbers
 * and strings, and two tensors of different types. */
static nt_gw *small_file(void)
{
    nt_gw *w = nt_gw_new();
    nt_gw_add_str(w, "general.architecture", "llama");
    nt_gw_add_u32(w, "llama.context_length", 128);
    nt_gw_add_f32(w, "llama.rope.freq_base", 10000.0f);
    const char *toks[] = {"<unk>", "<s>", "</s>", "hello", ""};
    nt_gw_add_arr_str(w, "tokenizer.ggml.tokens", toks, 5);
    const float scores[] = {0.0f, -1.0f, -2.0f, -3.0f, -4.0f};
    nt_gw_add_arr(w, "tokenizer.ggml.scores", NT_GGUF_FLOAT32, scores, 5);
    nt_gw_add_bool(w, "b", true);
    float v[6] = {1, 2, 3, 4, 5, 6};
    nt_gw_add_tensor_f32(w, "token_embd.weight", NT_TYPE_F32, 2, (int64_t[]){3, 2}, v);
    nt_gw_add_tensor(w, "output.weight", NT_TYPE_Q8_0, 2, (int64_t[]){32, 2}, NULL, 68);
    return w;
}

Test(gguf_malformed, small_file_is_valid)
{
    expect_ok(small_file());
}

Test(gguf_malformed, truncation_at_every_offset_fails)
{
    size_t size;
    nt_gw_layout lay;
    nt_gw *w = small_file();
    uint8_t *buf = nt_gw_write(w, &size, &lay);
    nt_gw_free(w);
    cr_assert(lay.kv_start < lay.ti_start && lay.ti_start < lay.ti_end && lay.ti_end <= lay.data_start);
    cr_assert(lay.data_start < size);
    for (size_t n = 0; n < size; n++) {
        nexttok_status st = parse_exact(buf, n);
        cr_assert_eq(st, NEXTTOK_ERR_FORMAT, "prefix of %zu bytes: status %d (%s)", n, st, nexttok_error_message());
        const char *m = nexttok_error_message();
        cr_assert(strstr(m, "truncated") || strstr(m, "past end of file") || strstr(m, "cannot fit"),
                  "prefix of %zu bytes: %s", n, m);
    }
    cr_assert_eq(parse_exact(buf, size), NEXTTOK_OK);
    free(buf);
}

Test(gguf_malformed, header_truncation_message)
{
    nt_gguf *g;
    cr_assert_eq(nt_gguf_parse("GGUF\3\0\0\0\0\0", 10, &g), NEXTTOK_ERR_FORMAT);
    cr_assert_str_eq(nexttok_error_message(), "truncated: header needs 24 bytes, file has 10");
    cr_assert_eq(nt_gguf_parse(NULL, 0, &g), NEXTTOK_ERR_FORMAT);
    cr_assert_eq(nt_gguf_parse(NULL, 5, &g), NEXTTOK_ERR_INVALID_ARGUMENT);
}

Test(gguf_malformed, bad_magic)
{
    nt_gw *w = small_file();
    memcpy(nt_gw_knobs_get(w)->magic, "GGML", 4);
    expect_fail(w, NEXTTOK_ERR_FORMAT, "not a GGUF file");
}

Test(gguf_malformed, unsupported_versions)
{
    const struct { uint32_t v; const char *needle; } cases[] = {
        {1, "version 1"}, {4, "version 4"}, {0, "version 0"}, {0x03000000u, "big-endian"},
        {0x02000000u, "big-endian"}, {0xffffffffu, "version 4294967295"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nt_gw *w = small_file();
        nt_gw_knobs_get(w)->version = cases[i].v;
        expect_fail(w, NEXTTOK_ERR_UNSUPPORTED, cases[i].needle);
    }
}

Test(gguf_malformed, huge_counts_fail_fast)
{
    const uint64_t counts[] = {UINT64_MAX, 1ull << 63, 1ull << 62, 1ull << 40, 7};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        nt_gw *w = small_file();
        nt_gw_knobs_get(w)->n_kv_set = true;
        nt_gw_knobs_get(w)->n_kv = counts[i];
        /* 7 is just one more than the real 6: it reads into the tensor table */
        expect_fail(w, NEXTTOK_ERR_FORMAT, i < 4 ? "n_kv" : "");
        w = small_file();
        nt_gw_knobs_get(w)->n_tensors_set = true;
        nt_gw_knobs_get(w)->n_tensors = counts[i] == 7 ? 3 : counts[i];
        expect_fail(w, NEXTTOK_ERR_FORMAT, i < 4 ? "n_tensors" : "");
    }
}

Test(gguf_malformed, fewer_counts_than_entries_are_consistent_or_fail)
{
    /* Claiming fewer kvs makes the reader take the next kv for a tensor
     * info: it must fail cleanly rather than misread. */
    nt_gw *w = small_file();
    nt_gw_knobs_get(w)->n_kv_set = true;
    nt_gw_knobs_get(w)->n_kv = 5;
    size_t size;
    uint8_t *buf = nt_gw_write(w, &size, NULL);
    nt_gw_free(w);
    cr_assert_neq(parse_exact(buf, size), NEXTTOK_OK);
    free(buf);
}

Test(gguf_malformed, dimension_product_overflows)
{
    nt_gw *w = nt_gw_new();
    uint64_t dims[4] = {1ull << 32, 1ull << 32, 1ull << 32, 1};
    nt_gw_add_tensor_dims(w, "big", NT_TYPE_F32, 4, dims, NULL, 16);
    expect_fail(w, NEXTTOK_ERR_FORMAT, "overflows");

    w = nt_gw_new();
    uint64_t dims2[2] = {1ull << 62, 4}; /* bytes overflow u64 already in row 0 * 4 */
    nt_gw_add_tensor_dims(w, "big", NT_TYPE_F32, 2, dims2, NULL, 16);
    expect_fail(w, NEXTTOK_ERR_FORMAT, "tensor big: size of a 4611686018427387904-element F32 row overflows");

    w = nt_gw_new();
    uint64_t dims3[1] = {1ull << 61}; /* fits in u64 but not in the file */
    nt_gw_add_tensor_dims(w, "long", NT_TYPE_F32, 1, dims3, NULL, 16);
    expect_fail(w, NEXTTOK_ERR_FORMAT, "runs past end of file");
}

Test(gguf_malformed, bad_dimensions)
{
    nt_gw *w = nt_gw_new();
    nt_gw_add_tensor_dims(w, "zero", NT_TYPE_F32, 2, (uint64_t[]){4, 0}, NULL, 16);
    expect_fail(w, NEXTTOK_ERR_FORMAT, "tensor zero: dimension 1 is 0");

    w = nt_gw_new();
    nt_gw_add_tensor_dims(w, "neg", NT_TYPE_F32, 1, (uint64_t[]){(uint64_t)-4}, NULL, 16);
    expect_fail(w, NEXTTOK_ERR_FORMAT, "tensor neg: dimension 0");

    w = nt_gw_new();
    nt_gw_add_tensor_dims(w, "five", NT_TYPE_F32, 5, (uint64_t[]){1, 1, 1, 1, 1}, NULL, 4);
    expect_fail(w, NEXTTOK_ERR_FORMAT, "tensor five: 5 dimensions");

    /* n_dims patched to 2^32-1 in place of 1 */
    w = nt_gw_new();
    nt_gw_add_tensor(w, "many", NT_TYPE_F32, 1, (int64_t[]){1}, NULL, 4);
    size_t size;
    nt_gw_layout lay;
    uint8_t *buf = nt_gw_write(w, &size, &lay);
    nt_gw_free(w);
    memset(buf + lay.ti_start + 8 + 4, 0xff, 4);
    cr_assert_eq(parse_exact(buf, size), NEXTTOK_ERR_FORMAT);
    cr_assert(strstr(nexttok_error_message(), "tensor many: 4294967295 dimensions"), "%s", nexttok_error_message());
    free(buf);

    w = nt_gw_new();
    nt_gw_add_tensor(w, "q", NT_TYPE_Q8_0, 1, (int64_t[]){33}, NULL, 68);
    expect_fail(w, NEXTTOK_ERR_FORMAT, "not a multiple of the Q8_0 block size 32");
}

Test(gguf_malformed, misaligned_tensor_offset)
{
    nt_gw *w = small_file();
    nt_gw_tensor_set_offset(w, 1, 40);
    expect_fail(w, NEXTTOK_ERR_FORMAT, "tensor output.weight: offset 40 is not a multiple of the alignment 32");
}

Test(gguf_malformed, tensor_data_past_end)
{
    nt_gw *w = small_file();
    nt_gw_tensor_set_offset(w, 1, 1ull << 63); /* aligned, absurdly far */
    expect_fail(w, NEXTTOK_ERR_FORMAT, "tensor output.weight: data at offset 9223372036854775808");

    w = small_file();
    nt_gw_tensor_set_offset(w, 1, UINT64_MAX - 31); /* aligned; offset + size wraps */
    expect_fail(w, NEXTTOK_ERR_FORMAT, "runs past end of file");

    w = small_file();
    nt_gw_tensor_set_offset(w, 0, 96); /* 24 bytes at 96 overrun the Q8_0 data ending at 32 + 68 */
    expect_fail(w, NEXTTOK_ERR_FORMAT, "tensor token_embd.weight: data at offset 96");
}

Test(gguf_malformed, overlapping_tensors_are_allowed)
{
    nt_gw *w = small_file();
    nt_gw_tensor_set_offset(w, 1, 0);
    expect_ok(w);
}

Test(gguf_malformed, bad_alignment_values)
{
    const uint32_t bad[] = {0, 3, 48, 0x80000001u};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nt_gw *w = small_file();
        nt_gw_add_u32(w, "general.alignment", bad[i]);
        nt_gw_knobs_get(w)->pad_alignment = 32;
        expect_fail(w, NEXTTOK_ERR_FORMAT, "not a non-zero power of two");
    }
    nt_gw *w = small_file();
    nt_gw_add_str(w, "general.alignment", "32");
    expect_fail(w, NEXTTOK_ERR_FORMAT, "key 'general.alignment': expected uint32, got string");
    w = small_file();
    nt_gw_add_u64(w, "general.alignment", 32);
    expect_fail(w, NEXTTOK_ERR_FORMAT, "expected uint32, got uint64");
    /* a valid but different alignment without matching padding */
    w = small_file();
    nt_gw_add_u32(w, "general.alignment", 64);
    nt_gw_knobs_get(w)->pad_alignment = 32;
    nt_gw_tensor_set_offset(w, 1, 32);
    expect_fail(w, NEXTTOK_ERR_FORMAT, "not a multiple of the alignment 64");
}

Test(gguf_malformed, unknown_value_types)
{
    nt_gw *w = small_file();
    nt_gw_add_raw(w, "weird", 5, 13, "\0\0\0\0", 4);
    expect_fail(w, NEXTTOK_ERR_FORMAT, "key 'weird': unknown value type 13");

    w = small_file();
    nt_gw_add_raw(w, "weird", 5, 0xffffffffu, "\0\0\0\0", 4);
    expect_fail(w, NEXTTOK_ERR_FORMAT, "unknown value type 4294967295");

    uint8_t arr[12] = {99, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}; /* array of type 99, one element */
    w = small_file();
    nt_gw_add_raw(w, "weird.arr", 9, NT_GGUF_ARRAY, arr, sizeof arr);
    expect_fail(w, NEXTTOK_ERR_FORMAT, "key 'weird.arr': unknown array element type 99");
}

Test(gguf_malformed, unknown_tensor_types)
{
    const uint32_t types[] = {4, 5, 63, 64, 1000, 0xffffffffu};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        nt_gw *w = nt_gw_new();
        nt_gw_add_tensor(w, "t", types[i], 1, (int64_t[]){32}, NULL, 128);
        char needle[64];
        snprintf(needle, sizeof needle, "tensor t: unknown weight type id %u", types[i]);
        expect_fail(w, NEXTTOK_ERR_UNSUPPORTED, needle);
    }
}

Test(gguf_malformed, duplicates)
{
    nt_gw *w = small_file();
    nt_gw_add_tensor(w, "output.weight", NT_TYPE_F32, 1, (int64_t[]){1}, NULL, 4);
    expect_fail(w, NEXTTOK_ERR_FORMAT, "duplicate tensor name 'output.weight'");

    w = small_file();
    nt_gw_add_u32(w, "llama.context_length", 64);
    expect_fail(w, NEXTTOK_ERR_FORMAT, "duplicate key 'llama.context_length'");
}

Test(gguf_malformed, bad_keys_and_names)
{
    nt_gw *w = small_file();
    nt_gw_add_raw(w, "", 0, NT_GGUF_UINT8, "\1", 1);
    expect_fail(w, NEXTTOK_ERR_FORMAT, "is empty");

    w = small_file();
    nt_gw_add_raw(w, "ab\0cd", 5, NT_GGUF_UINT8, "\1", 1);
    expect_fail(w, NEXTTOK_ERR_FORMAT, "contains a NUL byte");

    w = small_file();
    nt_gw_add_tensor(w, "", NT_TYPE_F32, 1, (int64_t[]){1}, NULL, 4);
    expect_fail(w, NEXTTOK_ERR_FORMAT, "tensor 2 name at offset");

    /* bytes that are not UTF-8 are allowed in keys */
    w = small_file();
    nt_gw_add_raw(w, "k\xff\xfe", 3, NT_GGUF_UINT8, "\1", 1);
    expect_ok(w);
}

Test(gguf_malformed, string_lengths_past_end)
{
    const uint64_t lens[] = {UINT64_MAX, 1ull << 63, 1000};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        uint8_t v[8 + 4];
        memcpy(v, &lens[i], 8);
        memcpy(v + 8, "abcd", 4);
        nt_gw *w = nt_gw_new();
        nt_gw_add_raw(w, "s", 1, NT_GGUF_STRING, v, sizeof v);
        expect_fail(w, NEXTTOK_ERR_FORMAT, "key 's' string value: string length");
    }
    /* a key's own length */
    nt_gw *w = nt_gw_new();
    nt_gw_add_u8(w, "x", 1);
    size_t size;
    uint8_t *buf = nt_gw_write(w, &size, NULL);
    nt_gw_free(w);
    uint64_t huge = 1ull << 62;
    memcpy(buf + 24, &huge, 8);
    cr_assert_eq(parse_exact(buf, size), NEXTTOK_ERR_FORMAT);
    cr_assert(strstr(nexttok_error_message(), "kv 0 key: string length 4611686018427387904"), "%s",
              nexttok_error_message());
    free(buf);
}

static void put_arr_header(uint8_t *v, uint32_t type, uint64_t n)
{
    memcpy(v, &type, 4);
    memcpy(v + 4, &n, 8);
}

Test(gguf_malformed, huge_arrays_fail_fast)
{
    const uint32_t types[] = {NT_GGUF_UINT8, NT_GGUF_FLOAT64, NT_GGUF_STRING, NT_GGUF_ARRAY};
    const uint64_t lens[] = {1ull << 62, UINT64_MAX, 1ull << 40};
    for (size_t t = 0; t < 4; t++) {
        for (size_t l = 0; l < 3; l++) {
            uint8_t v[12 + 16] = {0};
            put_arr_header(v, types[t], lens[l]);
            nt_gw *w = small_file();
            nt_gw_add_raw(w, "big.arr", 7, NT_GGUF_ARRAY, v, sizeof v);
            expect_fail(w, NEXTTOK_ERR_FORMAT, "key 'big.arr': array of");
        }
    }
    /* a string array whose count fits the bytes but whose strings do not */
    uint8_t v[12 + 16];
    put_arr_header(v, NT_GGUF_STRING, 2);
    uint64_t l0 = 0, l1 = 100;
    memcpy(v + 12, &l0, 8);
    memcpy(v + 20, &l1, 8);
    nt_gw *w = nt_gw_new();
    nt_gw_add_raw(w, "strs", 4, NT_GGUF_ARRAY, v, sizeof v);
    expect_fail(w, NEXTTOK_ERR_FORMAT, "key 'strs': string 1 of 2: length 100");
}

Test(gguf_malformed, nested_arrays)
{
    /* an inner array claiming 2^62 elements */
    uint8_t v[24 + 8] = {0};
    put_arr_header(v, NT_GGUF_ARRAY, 1);
    put_arr_header(v + 12, NT_GGUF_UINT32, 1ull << 62);
    nt_gw *w = small_file();
    nt_gw_add_raw(w, "nest", 4, NT_GGUF_ARRAY, v, sizeof v);
    expect_fail(w, NEXTTOK_ERR_FORMAT, "key 'nest': nested array of 4611686018427387904 uint32");

    /* nesting deeper than any real file: a chain of single-element arrays */
    enum { DEPTH = 1000 };
    uint8_t *deep = calloc(DEPTH + 1, 12);
    for (int i = 0; i < DEPTH; i++) put_arr_header(deep + 12 * i, NT_GGUF_ARRAY, 1);
    put_arr_header(deep + 12 * DEPTH, NT_GGUF_UINT8, 0);
    w = small_file();
    nt_gw_add_raw(w, "deep", 4, NT_GGUF_ARRAY, deep, 12 * (DEPTH + 1));
    expect_fail(w, NEXTTOK_ERR_FORMAT, "nested deeper");

    /* a few levels are fine */
    w = small_file();
    nt_gw_add_raw(w, "deep", 4, NT_GGUF_ARRAY, deep + 12 * (DEPTH - 5), 12 * 6);
    expect_ok(w);
    free(deep);

    /* an unknown type inside a nested array */
    uint8_t u[24] = {0};
    put_arr_header(u, NT_GGUF_ARRAY, 1);
    put_arr_header(u + 12, 77, 0);
    w = small_file();
    nt_gw_add_raw(w, "nest", 4, NT_GGUF_ARRAY, u, sizeof u);
    expect_fail(w, NEXTTOK_ERR_FORMAT, "unknown nested array element type 77");
}

Test(gguf_malformed, zero_tensor_file_without_padding_parses)
{
    /* Vocabulary-only files have no tensors; the padding after the table
     * may be absent. */
    nt_gw *w = nt_gw_new();
    nt_gw_add_str(w, "general.architecture", "gpt2");
    size_t size;
    nt_gw_layout lay;
    uint8_t *buf = nt_gw_write(w, &size, &lay);
    nt_gw_free(w);
    cr_assert_eq(parse_exact(buf, lay.ti_end), NEXTTOK_OK, "%s", nexttok_error_message());
    free(buf);
}

/* Deterministic byte mutations of a valid file: whatever the outcome, no
 * crash, and a failure always carries a message (checked in parse_exact). */
Test(gguf_malformed, random_mutations_never_crash, .timeout = 300)
{
    size_t size;
    nt_gw *w = small_file();
    uint8_t *buf = nt_gw_write(w, &size, NULL);
    nt_gw_free(w);
    uint8_t *m = malloc(size);
    uint64_t s = 0x9e3779b97f4a7c15ull;
    int failures = 0;
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(m, buf, size);
        int flips = 1 + iter % 4;
        for (int f = 0; f < flips; f++) {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            size_t at = (size_t)(s % size);
            uint8_t val = (uint8_t)(s >> 32);
            if ((s >> 40) & 1) val = (s >> 41) & 1 ? 0xff : 0; /* extremes find count bugs */
            m[at] = val;
        }
        if (parse_exact(m, size) != NEXTTOK_OK) failures++;
    }
    cr_assert_gt(failures, 0);
    free(m);
    free(buf);
}

/* A real vocabulary (tens of thousands of strings) cut short anywhere must
 * fail too: every prefix of the first 4 KiB, then 400 spread cuts. */
Test(gguf_malformed, truncated_real_vocabulary, .timeout = 300)
{
    char path[4096];
    if (!nt_test_fixture_path("vocab/ggml-vocab-llama-spm.gguf", path, sizeof path)) cr_skip(NT_SKIP_MSG);
    size_t size;
    uint8_t *buf = (uint8_t *)nt_test_read_file(path, &size);
    cr_assert_not_null(buf);
    cr_assert_gt(size, 8192);
    /* vocab-only: the file ends with the last kv, so every shorter prefix
     * leaves some value unfinished */
    for (size_t n = 0; n < size; n += (n < 4096 ? 1 : size / 400)) {
        nexttok_status st = parse_exact(buf, n);
        cr_assert_eq(st, NEXTTOK_ERR_FORMAT, "prefix of %zu bytes: %s", n, nexttok_error_message());
    }
    cr_assert_eq(parse_exact(buf, size), NEXTTOK_OK, "%s", nexttok_error_message());
    free(buf);
}
