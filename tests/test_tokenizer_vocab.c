/* Tokenizer conformance on llama.cpp's vocabulary test vectors (produced
 * with Hugging Face tokenizers): every string of the .inp file must encode
 * to the ids on the matching line of the .out file, and decode back. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexttok.h"
#include "support/fixtures.h"

#define SEP "\n__ggml_vocab_test__\n"

typedef struct vocab_case {
    const char *text;
    size_t len;
    int32_t *ids;
    size_t n_ids;
} vocab_case;

typedef struct vocab_cases {
    char *inp, *out;
    vocab_case *v;
    size_t n;
} vocab_cases;

/* Split NAME.inp on the separator (the file ends with one) and read one
 * line of ids per piece from NAME.out. */
static bool cases_load(const char *name, vocab_cases *c)
{
    char rel[256], path[1024];
    memset(c, 0, sizeof *c);
    snprintf(rel, sizeof rel, "vocab/%s.inp", name);
    if (!nt_test_fixture_path(rel, path, sizeof path)) return false;
    size_t inp_size, out_size;
    c->inp = nt_test_read_file(path, &inp_size);
    snprintf(rel, sizeof rel, "vocab/%s.out", name);
    if (!nt_test_fixture_path(rel, path, sizeof path)) return false;
    c->out = nt_test_read_file(path, &out_size);
    cr_assert(c->inp && c->out, "cannot read the %s fixtures", name);

    size_t cap = 16;
    c->v = calloc(cap, sizeof *c->v);
    char *p = c->inp, *end = c->inp + inp_size;
    char *line = c->out;
    while (p < end) {
        char *sep = strstr(p, SEP);
        cr_assert(sep, "%s.inp: text after the last separator", name);
        if (c->n == cap) c->v = realloc(c->v, (cap *= 2) * sizeof *c->v);
        vocab_case *k = &c->v[c->n++];
        memset(k, 0, sizeof *k);
        k->text = p;
        k->len = (size_t)(sep - p);
        p = sep + strlen(SEP);

        cr_assert(line < c->out + out_size, "%s.out: fewer lines than tests", name);
        char *nl = strchr(line, '\n');
        cr_assert(nl, "%s.out: missing newline", name);
        *nl = '\0';
        size_t ids_cap = 8;
        k->ids = malloc(ids_cap * sizeof(int32_t));
        for (char *q = line; *q;) {
            char *e;
            long v = strtol(q, &e, 10);
            if (e == q) break;
            if (k->n_ids == ids_cap) k->ids = realloc(k->ids, (ids_cap *= 2) * sizeof(int32_t));
            k->ids[k->n_ids++] = (int32_t)v;
            q = e;
        }
        line = nl + 1;
    }
    cr_assert(c->n > 0, "%s: no tests", name);
    return true;
}

static void cases_free(vocab_cases *c)
{
    for (size_t i = 0; i < c->n; i++) free(c->v[i].ids);
    free(c->v);
    free(c->inp);
    free(c->out);
}

static void check_vocab(const char *name, bool strip_prefix_space)
{
    vocab_cases c;
    if (!cases_load(name, &c)) cr_skip(NT_SKIP_MSG);
    char rel[256], path[1024];
    snprintf(rel, sizeof rel, "vocab/%s", name);
    cr_assert(nt_test_fixture_path(rel, path, sizeof path));
    nexttok_tokenizer *tok = NULL;
    cr_assert_eq(nexttok_tokenizer_load(path, &tok), NEXTTOK_OK, "%s: %s", name, nexttok_error_message());

    for (size_t i = 0; i < c.n; i++) {
        const vocab_case *k = &c.v[i];
        size_t n = 0;
        int32_t ids[1024];
        nexttok_status st = nexttok_tokenizer_encode(tok, k->text, k->len, 0, ids, 1024, &n);
        cr_assert_eq(st, NEXTTOK_OK, "%s test %zu: %s", name, i, nexttok_error_message());
        cr_expect_eq(n, k->n_ids, "%s test %zu (\"%.*s\"): %zu ids, expected %zu", name, i,
                     (int)k->len, k->text, n, k->n_ids);
        for (size_t j = 0; j < n && j < k->n_ids; j++)
            cr_expect_eq(ids[j], k->ids[j], "%s test %zu (\"%.*s\"): id %zu is %d, expected %d", name, i,
                         (int)k->len, k->text, j, ids[j], k->ids[j]);

        /* Round trip. SentencePiece's decoder removes one leading space, the
         * dummy prefix; a text that starts with spaces keeps the rest. */
        char text[8192];
        size_t len = 0;
        st = nexttok_tokenizer_decode(tok, ids, n, 0, text, sizeof text, &len);
        cr_assert_eq(st, NEXTTOK_OK, "%s test %zu: decode: %s", name, i, nexttok_error_message());
        (void)strip_prefix_space;
        cr_expect(len == k->len && memcmp(text, k->text, len) == 0,
                  "%s test %zu: decode gives \"%.*s\", expected \"%.*s\"", name, i, (int)len, text,
                  (int)k->len, k->text);
    }
    nexttok_tokenizer_free(tok);
    cases_free(&c);
}

Test(tokenizer_vocab, gpt2) { check_vocab("ggml-vocab-gpt-2.gguf", false); }
Test(tokenizer_vocab, llama_spm) { check_vocab("ggml-vocab-llama-spm.gguf", true); }
Test(tokenizer_vocab, starcoder) { check_vocab("ggml-vocab-starcoder.gguf", false); }
