/*
 * The model shipped in models/ (trained by tools/train/): the library's
 * logits equal PyTorch's float64 forward pass of the same F16 weights, and
 * its tokenizer gives the Python trainer's own ids. The references were
 * written by tools/train/export.py and tools/train/bpe.py into tests/data/
 * austen; they are part of the repository, so these tests always run.
 *
 * Bound, as the fixtures' README sets it for float models:
 * |ours - torch| <= 1e-3 * max(1, max |torch logit| of the row), and the
 * same arg-max wherever torch's top two differ by more than that bound.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexttok.h"
#include "support/fixtures.h"
#include "support/logits_file.h"

#define MODEL_REL "models/austen-2.6m.gguf"
#define DATA_REL "tests/data/austen/"

static void source_path(const char *rel, char *buf, size_t size)
{
    const char *root = getenv("NEXTTOK_SOURCE_ROOT");
    cr_assert(root && *root, "NEXTTOK_SOURCE_ROOT is not set (meson sets it)");
    snprintf(buf, size, "%s/%s", root, rel);
}

static nexttok_model *load_shipped(void)
{
    char path[4096];
    source_path(MODEL_REL, path, sizeof path);
    nexttok_model *m = NULL;
    cr_assert_eq(nexttok_model_load(path, NULL, &m), NEXTTOK_OK, "%s: %s", path, nexttok_error_message());
    return m;
}

static void check_logits(const char *isa_note)
{
    char path[4096];
    source_path(DATA_REL "reference.logits", path, sizeof path);
    nt_logits_file ref;
    cr_assert_eq(nt_logits_file_read(path, &ref), 0, "cannot read %s", path);
    nexttok_model *model = load_shipped();
    cr_assert_eq(nexttok_model_n_vocab_get(model), ref.n_vocab);
    nexttok_session *s = NULL;
    cr_assert_eq(nexttok_session_create(model, NULL, &s), NEXTTOK_OK, "%s", nexttok_error_message());
    float *ours = malloc((size_t)ref.n * (size_t)ref.n_vocab * sizeof *ours);
    cr_assert_not_null(ours);
    cr_assert_eq(nexttok_session_feed(s, ref.tokens, (size_t)ref.n, ours, (size_t)ref.n * (size_t)ref.n_vocab), NEXTTOK_OK, "%s",
                 nexttok_error_message());
    double max_err = 0.0, kl = 0.0;
    for (int32_t p = 0; p < ref.n; p++) {
        const float *want = ref.logits + (size_t)p * ref.n_vocab;
        const float *got = ours + (size_t)p * ref.n_vocab;
        double scale = 1.0;
        for (int32_t i = 0; i < ref.n_vocab; i++) scale = fmax(scale, fabs(want[i]));
        const double bound = 1e-3 * scale;
        for (int32_t i = 0; i < ref.n_vocab; i++) {
            double err = fabs((double)got[i] - (double)want[i]);
            max_err = fmax(max_err, err);
            cr_assert(err <= bound, "position %d token %d: got %.7g, torch %.7g (bound %.3g)", p, i,
                      (double)got[i], (double)want[i], bound);
        }
        kl += nt_logits_kl(want, got, ref.n_vocab);
        int32_t want_best, got_best;
        double gap, unused;
        nt_logits_top_two(want, ref.n_vocab, &want_best, &gap);
        nt_logits_top_two(got, ref.n_vocab, &got_best, &unused);
        if (gap > bound) cr_assert_eq(got_best, want_best, "position %d: arg-max %d, torch %d", p, got_best, want_best);
    }
    fprintf(stderr, "shipped model vs torch (%s): %d positions, max abs logit error %.3e, mean KL %.3e\n",
            isa_note, ref.n, max_err, kl / ref.n);
    free(ours);
    nexttok_session_free(s);
    nexttok_model_free(model);
    nt_logits_file_free(&ref);
}

Test(shipped_model, logits_match_torch)
{
    const char *isa = getenv("NEXTTOK_ISA");
    check_logits(isa && *isa ? isa : "best ISA");
}

/* The ids file holds the trainer's ids for the sample, BOS first, space
 * separated on one line. */
static int32_t *read_ids(const char *path, size_t *n_out)
{
    size_t size = 0;
    char *text = nt_test_read_file(path, &size);
    cr_assert_not_null(text, "cannot read %s", path);
    size_t cap = size / 2 + 1, n = 0;
    int32_t *ids = malloc(cap * sizeof *ids);
    cr_assert_not_null(ids);
    char *p = text, *end;
    for (;;) {
        long v = strtol(p, &end, 10);
        if (end == p) break;
        cr_assert(n < cap);
        ids[n++] = (int32_t)v;
        p = end;
    }
    while (*p == ' ' || *p == '\n') p++;
    cr_assert_eq(*p, '\0', "%s: not a list of ids at byte %zu", path, (size_t)(p - text));
    free(text);
    *n_out = n;
    return ids;
}

Test(shipped_model, tokenizer_matches_trainer)
{
    char path[4096];
    source_path(DATA_REL "sample.txt", path, sizeof path);
    size_t len = 0;
    char *text = nt_test_read_file(path, &len);
    cr_assert_not_null(text, "cannot read %s", path);
    source_path(DATA_REL "sample.ids", path, sizeof path);
    size_t n_want = 0;
    int32_t *want = read_ids(path, &n_want);
    cr_assert_gt(n_want, 100);

    nexttok_model *model = load_shipped();
    nexttok_tokenizer *tok = NULL;
    cr_assert_eq(nexttok_tokenizer_create(model, &tok), NEXTTOK_OK, "%s", nexttok_error_message());
    int32_t *got = malloc((n_want + len + 2) * sizeof *got);
    cr_assert_not_null(got);
    size_t n_got = 0;
    cr_assert_eq(nexttok_tokenizer_encode(tok, text, len, NEXTTOK_ENCODE_ADD_SPECIAL, got, n_want + len + 2, &n_got),
                 NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(n_got, n_want, "%zu tokens, the trainer has %zu", n_got, n_want);
    for (size_t i = 0; i < n_want; i++)
        cr_assert_eq(got[i], want[i], "token %zu: %d, the trainer has %d", i, got[i], want[i]);

    /* And back: decoding (without BOS) gives the sample's bytes. */
    char *back = malloc(len + 1);
    cr_assert_not_null(back);
    size_t n_back = 0;
    cr_assert_eq(nexttok_tokenizer_decode(tok, got, n_got, NEXTTOK_DECODE_SKIP_SPECIAL, back, len + 1, &n_back),
                 NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(n_back, len);
    cr_assert_eq(memcmp(back, text, len), 0, "decoded text differs from the sample");
    free(back);
    free(got);
    free(want);
    free(text);
    nexttok_tokenizer_free(tok);
    nexttok_model_free(model);
}
