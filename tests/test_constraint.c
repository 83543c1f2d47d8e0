/*
 * Constrained choices (nexttok_constraint_*): the trie's allowed tokens
 * against the endings' token lists worked out here with the tokenizer,
 * walks driven by random logits that must always end in exactly one
 * ending, a model's greedy answer inside the set, and the errors.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexttok.h"
#include "support/fixtures.h"
#include "support/harness.h"

#define MAXT 64

typedef struct ending_tokens {
    int32_t ids[MAXT];
    size_t n;
} ending_tokens;

static nexttok_model *load_aidreams(nexttok_tokenizer **tok)
{
    char path[4096];
    if (!nt_test_fixture_path("models/aidreams260K.gguf", path, sizeof path)) cr_skip_test(NT_SKIP_MSG);
    nexttok_model *m = NULL;
    cr_assert_eq(nexttok_model_load(path, NULL, &m), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(nexttok_tokenizer_create(m, tok), NEXTTOK_OK, "%s", nexttok_error_message());
    return m;
}

static size_t encode(const nexttok_tokenizer *tok, const char *text, int32_t *ids)
{
    size_t n = 0;
    cr_assert_eq(nexttok_tokenizer_encode(tok, text, strlen(text), NEXTTOK_ENCODE_ADD_SPECIAL, ids, MAXT, &n),
                 NEXTTOK_OK, "%s", nexttok_error_message());
    return n;
}

/* The tokens of ending e by lm-eval's rule, worked out with the tokenizer:
 * tokenize(context without its trailing space + " " + ending) minus
 * tokenize(context without it). */
static void ending_tokens_of(const nexttok_tokenizer *tok, const char *context_kept, const char *ending,
                             ending_tokens *out)
{
    int32_t ctx[MAXT], whole[MAXT];
    char text[256];
    const size_t nc = encode(tok, context_kept, ctx);
    snprintf(text, sizeof text, "%s %s", context_kept, ending);
    const size_t nw = encode(tok, text, whole);
    cr_assert_gt(nw, nc, "ending '%s' adds no tokens", ending);
    out->n = nw - nc;
    memcpy(out->ids, whole + nc, out->n * sizeof *whole);
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

Test(constraint, walks_under_random_logits_end_in_one_ending)
{
    nexttok_tokenizer *tok = NULL;
    nexttok_model *m = load_aidreams(&tok);
    const char *context = "The knight chose to ";
    const char *endings[] = {"attack", "flee", "trade", "flee north", "flee"};
    const size_t lens[] = {6, 4, 5, 10, 4};
    const size_t K = 5;
    ending_tokens want[5];
    for (size_t e = 0; e < K; e++) ending_tokens_of(tok, "The knight chose to", endings[e], &want[e]);
    nexttok_constraint *c = NULL;
    cr_assert_eq(nexttok_constraint_choices_create(tok, context, strlen(context), endings, lens, K, &c), NEXTTOK_OK,
                 "%s", nexttok_error_message());
    const int32_t *ctx = NULL;
    size_t n_ctx = 0;
    int32_t ctx_want[MAXT];
    cr_assert_eq(nexttok_constraint_context_get(c, &ctx, &n_ctx), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(n_ctx, encode(tok, "The knight chose to", ctx_want), "context tokens");
    cr_assert(memcmp(ctx, ctx_want, n_ctx * sizeof *ctx) == 0, "context tokens differ");

    const int32_t V = nexttok_model_n_vocab_get(m);
    float *logits = malloc((size_t)V * sizeof *logits);
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    int hits[5] = {0};
    for (int trial = 0; trial < 2000; trial++) {
        nexttok_constraint_reset(c);
        int32_t got[MAXT];
        size_t n = 0;
        for (;;) {
            int32_t allowed[16];
            size_t n_allowed = 0;
            cr_assert_eq(nexttok_constraint_allowed_get(c, allowed, 16, &n_allowed), NEXTTOK_OK, "%s",
                         nexttok_error_message());
            /* the allowed set is exactly the next tokens of the endings that
             * start with what was accepted, ascending, without repeats */
            int32_t expect[16];
            size_t n_expect = 0;
            for (size_t e = 0; e < K; e++) {
                if (want[e].n <= n || memcmp(want[e].ids, got, n * sizeof *got) != 0) continue;
                size_t at = 0;
                while (at < n_expect && expect[at] < want[e].ids[n]) at++;
                if (at < n_expect && expect[at] == want[e].ids[n]) continue;
                memmove(expect + at + 1, expect + at, (n_expect - at) * sizeof *expect);
                expect[at] = want[e].ids[n];
                n_expect++;
            }
            cr_assert_eq(n_allowed, n_expect, "trial %d step %zu: %zu allowed, want %zu", trial, n, n_allowed, n_expect);
            cr_assert(memcmp(allowed, expect, n_expect * sizeof *expect) == 0, "trial %d step %zu: allowed set", trial, n);
            int32_t more = 0;
            const int32_t matched = nexttok_constraint_matched_get(c, &more);
            /* stop at a complete ending when nothing continues, or at random */
            if (matched >= 0 && (!more || rng_next(&seed) % 3 == 0)) {
                int32_t lowest = -1;
                for (size_t e = 0; e < K && lowest < 0; e++)
                    if (want[e].n == n && memcmp(want[e].ids, got, n * sizeof *got) == 0) lowest = (int32_t)e;
                cr_assert_eq(matched, lowest, "trial %d: matched %d, want %d", trial, matched, lowest);
                hits[matched]++;
                break;
            }
            cr_assert_gt(n_allowed, 0, "trial %d: stuck with no ending complete", trial);
            /* random logits over the whole vocabulary, the best allowed one taken */
            for (int32_t i = 0; i < V; i++) logits[i] = (float)(rng_next(&seed) >> 40) / (float)(1 << 24);
            int32_t best = allowed[0];
            for (size_t a = 1; a < n_allowed; a++)
                if (logits[allowed[a]] > logits[best]) best = allowed[a];
            cr_assert_eq(nexttok_constraint_accept(c, best), NEXTTOK_OK, "%s", nexttok_error_message());
            got[n++] = best;
            cr_assert_lt(n, (size_t)MAXT, "walk too long");
        }
    }
    /* every distinct ending is reached; the duplicate "flee" never names itself */
    cr_assert(hits[0] && hits[1] && hits[2] && hits[3], "hits %d %d %d %d", hits[0], hits[1], hits[2], hits[3]);
    cr_assert_eq(hits[4], 0, "the duplicate ending was named");
    free(logits);
    nexttok_constraint_free(c);
    nexttok_tokenizer_free(tok);
    nexttok_model_free(m);
}

/* A model answering under the constraint, greedily: its answer is one of
 * the endings, decoded to the ending's text. */
Test(constraint, model_answers_inside_the_set)
{
    nexttok_tokenizer *tok = NULL;
    nexttok_model *m = load_aidreams(&tok);
    const char *context = "Once upon a time, there was a little ";
    const char *endings[] = {"dog", "girl named Lily", "tree"};
    const size_t lens[] = {3, 15, 4};
    nexttok_constraint *c = NULL;
    cr_assert_eq(nexttok_constraint_choices_create(tok, context, strlen(context), endings, lens, 3, &c), NEXTTOK_OK,
                 "%s", nexttok_error_message());
    const int32_t *ctx = NULL;
    size_t n_ctx = 0;
    cr_assert_eq(nexttok_constraint_context_get(c, &ctx, &n_ctx), NEXTTOK_OK, "%s", nexttok_error_message());
    nexttok_session *s = NULL;
    cr_assert_eq(nexttok_session_create(m, NULL, &s), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(nexttok_session_feed(s, ctx, n_ctx, NULL, 0), NEXTTOK_OK, "%s", nexttok_error_message());
    int32_t got[MAXT];
    size_t n = 0;
    int32_t more = 1, matched = -1;
    while ((matched = nexttok_constraint_matched_get(c, &more)) < 0 || more) {
        int32_t allowed[16];
        size_t n_allowed = 0;
        cr_assert_eq(nexttok_constraint_allowed_get(c, allowed, 16, &n_allowed), NEXTTOK_OK, "%s",
                     nexttok_error_message());
        const float *logits = NULL;
        cr_assert_eq(nexttok_session_logits_get(s, &logits), NEXTTOK_OK, "%s", nexttok_error_message());
        int32_t best = allowed[0];
        for (size_t a = 1; a < n_allowed; a++)
            if (logits[allowed[a]] > logits[best]) best = allowed[a];
        cr_assert_eq(nexttok_constraint_accept(c, best), NEXTTOK_OK, "%s", nexttok_error_message());
        cr_assert_eq(nexttok_session_feed(s, &best, 1, NULL, 0), NEXTTOK_OK, "%s", nexttok_error_message());
        got[n++] = best;
        cr_assert_lt(n, (size_t)MAXT, "answer too long");
    }
    ending_tokens want;
    ending_tokens_of(tok, "Once upon a time, there was a little", endings[matched], &want);
    cr_assert_eq(n, want.n, "answer of %zu tokens, ending %d has %zu", n, matched, want.n);
    cr_assert(memcmp(got, want.ids, n * sizeof *got) == 0, "the answer's tokens are not ending %d's", matched);
    nexttok_session_free(s);
    nexttok_constraint_free(c);
    nexttok_tokenizer_free(tok);
    nexttok_model_free(m);
}

Test(constraint, errors_name_the_problem)
{
    nexttok_tokenizer *tok = NULL;
    nexttok_model *m = load_aidreams(&tok);
    const char *endings[] = {"yes", "no"};
    const size_t lens[] = {3, 2};
    nexttok_constraint *c = NULL;
    cr_assert_eq(nexttok_constraint_choices_create(tok, "Answer:", 7, endings, lens, 2, &c), NEXTTOK_OK, "%s",
                 nexttok_error_message());
    int32_t one[1];
    size_t n = 0;
    cr_assert_eq(nexttok_constraint_allowed_get(c, one, 1, &n), NEXTTOK_ERR_BUFFER_TOO_SMALL, "capacity 1");
    cr_assert_eq(n, 2, "count %zu", n);
    int32_t all[4];
    cr_assert_eq(nexttok_constraint_allowed_get(c, all, 4, &n), NEXTTOK_OK, "%s", nexttok_error_message());
    int32_t bad = 0;
    while (bad == all[0] || bad == all[1]) bad++;
    cr_assert_eq(nexttok_constraint_accept(c, bad), NEXTTOK_ERR_INVALID_ARGUMENT, "a token outside the set");
    cr_assert(strstr(nexttok_error_message(), "does not continue any ending"), "%s", nexttok_error_message());
    size_t n2 = 0;
    cr_assert_eq(nexttok_constraint_allowed_get(c, all, 4, &n2), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(n2, n, "a refused token changed the state");
    nexttok_constraint_free(c);

    const char *empty[] = {"yes", ""};
    const size_t empty_lens[] = {3, 0};
    cr_assert_eq(nexttok_constraint_choices_create(tok, "Answer:", 7, empty, empty_lens, 2, &c),
                 NEXTTOK_ERR_INVALID_ARGUMENT, "an empty ending");
    cr_assert_null(c, "a constraint after a failed create");
    cr_assert(strstr(nexttok_error_message(), "ending 1 gives no tokens"), "%s", nexttok_error_message());
    cr_assert_eq(nexttok_constraint_choices_create(tok, "Answer:", 7, endings, lens, 0, &c),
                 NEXTTOK_ERR_INVALID_ARGUMENT, "no endings");
    cr_assert_eq(nexttok_constraint_choices_create(NULL, "Answer:", 7, endings, lens, 2, &c),
                 NEXTTOK_ERR_INVALID_ARGUMENT, "no tokenizer");
    cr_assert_eq(nexttok_constraint_matched_get(NULL, NULL), -1, "NULL constraint");
    nexttok_constraint_free(NULL);
    nexttok_tokenizer_free(tok);
    nexttok_model_free(m);
}

/* A sampler chain (temperature, mask, seeded draw) over random logits,
 * its mask set from the constraint before each draw: 500 generations,
 * each ends in one of the endings and never draws outside the set. */
Test(constraint, sampler_chain_draws_stay_inside_the_set)
{
    nexttok_tokenizer *tok = NULL;
    nexttok_model *m = load_aidreams(&tok);
    const char *context = "The knight chose to ";
    const char *endings[] = {"attack", "flee", "trade", "flee north"};
    const size_t lens[] = {6, 4, 5, 10};
    ending_tokens want[4];
    for (size_t e = 0; e < 4; e++) ending_tokens_of(tok, "The knight chose to", endings[e], &want[e]);
    nexttok_constraint *c = NULL;
    cr_assert_eq(nexttok_constraint_choices_create(tok, context, strlen(context), endings, lens, 4, &c), NEXTTOK_OK,
                 "%s", nexttok_error_message());
    const int32_t V = nexttok_model_n_vocab_get(m);
    nexttok_sampler_chain_params p;
    nexttok_sampler_chain_params_init(&p, sizeof p);
    p.seed = 42;
    nexttok_sampler_chain *chain = NULL;
    cr_assert_eq(nexttok_sampler_chain_create(V, &p, &chain), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(nexttok_sampler_chain_temperature_add(chain, 1.5f), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(nexttok_sampler_chain_mask_add(chain), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(nexttok_sampler_chain_dist_add(chain), NEXTTOK_OK, "%s", nexttok_error_message());
    float *logits = malloc((size_t)V * sizeof *logits);
    uint64_t seed = 7;
    int hits[4] = {0};
    for (int trial = 0; trial < 500; trial++) {
        nexttok_constraint_reset(c);
        int32_t got[MAXT];
        size_t n = 0;
        int32_t more = 1, matched;
        while ((matched = nexttok_constraint_matched_get(c, &more)) < 0 || (more && rng_next(&seed) % 2)) {
            for (int32_t i = 0; i < V; i++) logits[i] = (float)((int64_t)(rng_next(&seed) >> 40) - (1 << 23)) / 1e6f;
            cr_assert_eq(nexttok_constraint_mask_apply(c, chain, 1), NEXTTOK_OK, "%s", nexttok_error_message());
            int32_t t = -1;
            cr_assert_eq(nexttok_sampler_chain_logits_sample(chain, logits, (size_t)V, &t), NEXTTOK_OK, "%s",
                         nexttok_error_message());
            cr_assert_eq(nexttok_constraint_accept(c, t), NEXTTOK_OK, "trial %d: drew %d outside the set", trial, t);
            cr_assert_eq(nexttok_sampler_chain_accept(chain, t), NEXTTOK_OK, "%s", nexttok_error_message());
            got[n++] = t;
            cr_assert_lt(n, (size_t)MAXT, "walk too long");
        }
        cr_assert(want[matched].n == n && memcmp(want[matched].ids, got, n * sizeof *got) == 0,
                  "trial %d: the tokens drawn are not ending %d's", trial, matched);
        hits[matched]++;
    }
    cr_assert(hits[0] && hits[1] && hits[2] && hits[3], "hits %d %d %d %d", hits[0], hits[1], hits[2], hits[3]);
    free(logits);
    nexttok_sampler_chain_free(chain);
    nexttok_constraint_free(c);
    nexttok_tokenizer_free(tok);
    nexttok_model_free(m);
}
