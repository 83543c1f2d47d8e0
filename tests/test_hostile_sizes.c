/* Hostile sizes in otherwise well-formed files: a context of 2^31 tokens, a
 * vocabulary of 2^32 entries, a tensor of 2^62 elements, a string of 2^63
 * bytes. Each is refused with a status and a message, leaves no output, and
 * is refused before anything of its size is allocated: in a build with the
 * allocation hooks (-Dalloc_testing=true, .ci/run's ASan build) the largest
 * single request made while refusing is checked to stay under 1 MiB. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "gguf/gguf.h"
#include "nexttok.h"
#include "support/gguf_writer.h"
#include "support/tiny_model.h"
#include "types/types.h"

#define SMALL_REQUEST (1u << 20)

static void largest_reset(void)
{
#ifdef NT_ALLOC_TESTING
    nt_alloc_test_largest_reset();
#endif
}

static void assert_no_large_request(const char *what)
{
#ifdef NT_ALLOC_TESTING
    cr_assert_lt(nt_alloc_test_largest(), SMALL_REQUEST, "%s: asked for %llu bytes while refusing", what,
                 (unsigned long long)nt_alloc_test_largest());
#else
    (void)what;
#endif
}

/* The bytes go through every entry point that reads a GGUF: the parser in
 * memory, a model load (full and metadata-only) and a tokenizer load from a
 * file. All must refuse; `needle` must be in the model load's message. */
static void assert_refused(const uint8_t *buf, size_t size, const char *needle, const char *what)
{
    largest_reset();
    nt_gguf *g = (nt_gguf *)&g;
    cr_assert_neq(nt_gguf_parse(buf, size, &g), NEXTTOK_OK, "%s: the parser accepted it", what);
    cr_assert_null(g);

    char path[] = "/tmp/nexttok-hostile-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, buf, size), (ssize_t)size);
    close(fd);
    for (int meta = 0; meta <= 1; meta++) {
        nexttok_model_params p;
        nexttok_model_params_init(&p, sizeof p);
        p.metadata_only = meta;
        nexttok_model *m = (nexttok_model *)&m;
        nexttok_status st = nexttok_model_load(path, &p, &m);
        cr_assert_neq(st, NEXTTOK_OK, "%s: loaded (metadata_only %d)", what, meta);
        cr_assert_neq(st, NEXTTOK_ERR_NO_MEMORY, "%s: tried to allocate it: %s", what, nexttok_error_message());
        cr_assert_null(m);
        if (meta == 0 || st == NEXTTOK_ERR_FORMAT)
            cr_assert(strstr(nexttok_error_message(), needle) != NULL, "%s: message \"%s\" does not name \"%s\"", what,
                      nexttok_error_message(), needle);
    }
    nexttok_tokenizer *t = (nexttok_tokenizer *)&t;
    cr_assert_neq(nexttok_tokenizer_load(path, &t), NEXTTOK_OK, "%s: tokenizer loaded", what);
    cr_assert_null(t);
    unlink(path);
    assert_no_large_request(what);
}

/* A valid tiny llama model, as bytes, with the writer open for additions. */
static uint8_t *tiny(nt_gw *w, size_t *size)
{
    uint8_t *buf = nt_gw_write(w, size, NULL);
    nt_gw_free(w);
    return buf;
}

/* The value bytes of the u32 key `key` in a written file. */
static uint8_t *u32_value(uint8_t *buf, size_t size, const char *key)
{
    size_t kl = strlen(key);
    for (size_t i = 8; i + kl + 8 <= size; i++)
        if (memcmp(buf + i, key, kl) == 0 && buf[i - 8] == kl) {
            cr_assert_eq(buf[i + kl], NT_GGUF_UINT32);
            return buf + i + kl + 4;
        }
    cr_assert_fail("key %s not in the file", key);
    return NULL;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static size_t put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
    return 8;
}

Test(hostile_sizes, the_tiny_model_itself_loads)
{
    nt_tiny_spec sp = nt_tiny_spec_default("llama");
    size_t size;
    uint8_t *buf = tiny(nt_tiny_model_writer(&sp), &size);
    nt_gguf *g = NULL;
    cr_assert_eq(nt_gguf_parse(buf, size, &g), NEXTTOK_OK, "%s", nexttok_error_message());
    nt_gguf_close(g);
    free(buf);
}

Test(hostile_sizes, context_of_2_to_the_31_tokens)
{
    nt_tiny_spec sp = nt_tiny_spec_default("llama");
    size_t size;
    uint8_t *buf = tiny(nt_tiny_model_writer(&sp), &size);
    put_u32(u32_value(buf, size, "llama.context_length"), UINT32_C(1) << 31);
    /* The GGUF is well-formed: only a load that binds the architecture
     * sees the context, so test that path alone. */
    char path[] = "/tmp/nexttok-hostile-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_eq(write(fd, buf, size), (ssize_t)size);
    close(fd);
    largest_reset();
    nexttok_model *m = (nexttok_model *)&m;
    cr_assert_eq(nexttok_model_load(path, NULL, &m), NEXTTOK_ERR_FORMAT);
    cr_assert_null(m);
    cr_assert(strstr(nexttok_error_message(), "context_length") != NULL, "%s", nexttok_error_message());
    assert_no_large_request("context 2^31");
    unlink(path);
    free(buf);
}

/* tokenizer.ggml.tokens claiming 2^32 strings (three present). */
Test(hostile_sizes, vocabulary_of_2_to_the_32_entries)
{
    nt_tiny_spec sp = nt_tiny_spec_default("llama");
    nt_gw *w = nt_tiny_model_writer(&sp);
    nt_gw_add_str(w, "tokenizer.ggml.model", "llama");
    uint8_t v[4 + 8 + 3 * 9];
    size_t n = 0;
    put_u32(v, NT_GGUF_STRING);
    n += 4;
    n += put_u64(v + n, UINT64_C(1) << 32);
    for (int i = 0; i < 3; i++) {
        n += put_u64(v + n, 1);
        v[n++] = (uint8_t)('a' + i);
    }
    nt_gw_add_raw(w, "tokenizer.ggml.tokens", strlen("tokenizer.ggml.tokens"), NT_GGUF_ARRAY, v, n);
    size_t size;
    uint8_t *buf = tiny(w, &size);
    assert_refused(buf, size, "tokenizer.ggml.tokens", "vocabulary 2^32");
    free(buf);
}

/* The embedding matrix claiming 2^32 rows: n_vocab from its shape. */
Test(hostile_sizes, embedding_of_2_to_the_32_rows)
{
    nt_gw *w = nt_gw_new();
    nt_gw_add_str(w, "general.architecture", "llama");
    uint64_t dims[2] = {32, UINT64_C(1) << 32};
    nt_gw_add_tensor_dims(w, "token_embd.weight", NT_TYPE_F32, 2, dims, NULL, 0);
    size_t size;
    uint8_t *buf = tiny(w, &size);
    assert_refused(buf, size, "token_embd.weight", "embedding 2^32 rows");
    free(buf);
}

/* Tensors of 2^62 elements: as one dimension, as 2^31 x 2^31 (whose F32
 * byte count wraps to 0 in 64 bits), and quantized (bytes fit u64). */
Test(hostile_sizes, tensor_of_2_to_the_62_elements)
{
    const struct {
        uint32_t type, n_dims;
        uint64_t dims[4];
    } cases[] = {
        {NT_TYPE_F32, 1, {UINT64_C(1) << 62}},
        {NT_TYPE_F32, 2, {UINT64_C(1) << 31, UINT64_C(1) << 31}},
        {NT_TYPE_F16, 4, {UINT64_C(1) << 16, UINT64_C(1) << 16, UINT64_C(1) << 16, UINT64_C(1) << 14}},
        {NT_TYPE_Q4_0, 1, {UINT64_C(1) << 62}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nt_tiny_spec sp = nt_tiny_spec_default("llama");
        nt_gw *w = nt_tiny_model_writer(&sp);
        nt_gw_add_tensor_dims(w, "huge.weight", cases[i].type, cases[i].n_dims, cases[i].dims, NULL, 0);
        size_t size;
        uint8_t *buf = tiny(w, &size);
        char what[64];
        snprintf(what, sizeof what, "tensor 2^62, case %zu", i);
        assert_refused(buf, size, "huge.weight", what);
        free(buf);
    }
}

/* general.name claiming 2^63 bytes, and a string array element that does. */
Test(hostile_sizes, string_of_2_to_the_63_bytes)
{
    for (int in_array = 0; in_array <= 1; in_array++) {
        nt_tiny_spec sp = nt_tiny_spec_default("llama");
        nt_gw *w = nt_tiny_model_writer(&sp);
        uint8_t v[4 + 8 + 8 + 3];
        size_t n = 0;
        if (in_array) {
            put_u32(v, NT_GGUF_STRING);
            n += 4;
            n += put_u64(v + n, 1);
        }
        n += put_u64(v + n, UINT64_C(1) << 63);
        memcpy(v + n, "abc", 3);
        n += 3;
        const char *key = in_array ? "tokenizer.ggml.tokens" : "general.name";
        nt_gw_add_raw(w, key, strlen(key), in_array ? NT_GGUF_ARRAY : NT_GGUF_STRING, v, n);
        size_t size;
        uint8_t *buf = tiny(w, &size);
        assert_refused(buf, size, key, in_array ? "string 2^63 in an array" : "string 2^63");
        free(buf);
    }
}
