/* Scoring (nexttok_session_score) against log-softmax computed here in
 * double, from the fixtures' float64 logits and from the logits rows a
 * plain feed returns; perplexity against the same computed window by
 * window as Hugging Face's stride method states it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nexttok.h"
#include "support/fixtures.h"
#include "support/sessions.h"
#include "support/harness.h"
#include "support/logits_file.h"
#include "support/tiny_model.h"
#include "types/types.h"

static void read_exact(const char *rel, nt_logits_file *f)
{
    char path[4096];
    if (!nt_test_fixture_path(rel, path, sizeof path)) cr_skip_test(NT_SKIP_MSG);
    cr_assert_eq(nt_logits_file_read(path, f), 0, "cannot read %s", path);
}

/* log softmax(row)[tok] as the textbook writes it: log(sum exp) taken
 * around the row's maximum, in long double. */
static double ref_logprob(const float *row, int32_t n, int32_t tok)
{
    long double max = row[0], sum = 0.0L;
    for (int32_t i = 1; i < n; i++) max = row[i] > max ? row[i] : max;
    for (int32_t i = 0; i < n; i++) sum += expl((long double)row[i] - max);
    return (double)((long double)row[tok] - max - logl(sum));
}

static int32_t ref_rank(const float *row, int32_t n, int32_t tok)
{
    int32_t r = 1;
    for (int32_t i = 0; i < n; i++) r += row[i] > row[tok];
    return r;
}

static double max_abs(const float *row, int32_t n)
{
    double m = 0.0;
    for (int32_t i = 0; i < n; i++) m = fmax(m, fabs((double)row[i]));
    return m;
}

/* Score tokens[1..n) after tokens[0] and check every token against the
 * float64 fixture: logprob within twice the README's logit bound (an error
 * of b in every logit moves a log-softmax by at most 2b), and the rank
 * within what logits that far off can give. Then check exactly against
 * log-softmax of the rows a plain feed of the same tokens returns. */
static void score_against_exact(const char *model_rel, const char *logits_rel)
{
    nexttok_model *m = nt_test_model_load(model_rel);
    nt_logits_file f;
    read_exact(logits_rel, &f);
    const int32_t V = f.n_vocab, n = f.n;
    cr_assert_eq(V, nexttok_model_n_vocab_get(m));
    nexttok_session *s = nt_test_session_new(m, 0, 0);
    cr_assert_eq(nexttok_session_feed(s, f.tokens, 1, NULL, 0), NEXTTOK_OK);
    nexttok_token_score *sc = calloc((size_t)n, sizeof *sc);
    nexttok_score_info info = {.struct_size = sizeof info};
    cr_assert_eq(nexttok_session_score(s, f.tokens + 1, (size_t)n - 1, sc, (size_t)n - 1, &info), NEXTTOK_OK, "%s",
                 nexttok_error_message());
    cr_assert_eq(nexttok_session_position_get(s), n);
    cr_assert_eq(info.n_tokens, n - 1);

    double want_sum = 0.0, sum = 0.0, tol_sum = 0.0;
    int32_t n_greedy = 0;
    for (int32_t i = 1; i < n; i++) {
        const float *row = f.logits + (size_t)(i - 1) * V;
        const int32_t t = f.tokens[i];
        const nexttok_token_score *g = &sc[i - 1];
        const double b = 1e-3 * fmax(1.0, max_abs(row, V));
        const double want = ref_logprob(row, V, t);
        cr_assert_eq(g->token, t);
        cr_assert(fabs(g->logprob - want) <= 2 * b, "%s token %d: logprob %.9g, float64 reference %.9g", model_rel, i,
                  g->logprob, want);
        int32_t surely_higher = 0, maybe_higher = 0;
        for (int32_t j = 0; j < V; j++) {
            if (j == t) continue;
            surely_higher += (double)row[j] - row[t] > 2 * b;
            maybe_higher += (double)row[j] - row[t] >= -2 * b;
        }
        cr_assert(g->rank >= 1 + surely_higher && g->rank <= 1 + maybe_higher, "%s token %d: rank %d outside [%d, %d]",
                  model_rel, i, g->rank, 1 + surely_higher, 1 + maybe_higher);
        cr_assert_eq(g->greedy, g->rank == 1);
        n_greedy += g->greedy;
        want_sum += want;
        sum += g->logprob;
        tol_sum += 2 * b;
    }
    cr_assert_eq(info.logprob_sum, sum, "the sum is the tokens' logprobs added in order");
    cr_assert(fabs(info.logprob_sum - want_sum) <= tol_sum);
    cr_assert_eq(info.n_greedy, n_greedy);
    cr_assert_eq(info.greedy, n_greedy == n - 1);

    /* The same tokens fed plainly: the rows the scores must come from. */
    float *rows = malloc((size_t)n * V * sizeof *rows);
    nexttok_session *plain = nt_test_session_new(m, 0, 0);
    cr_assert_eq(nexttok_session_feed(plain, f.tokens, (size_t)n, rows, (size_t)n * V), NEXTTOK_OK);
    for (int32_t i = 1; i < n; i++) {
        const float *row = rows + (size_t)(i - 1) * V;
        cr_assert_eq(sc[i - 1].rank, ref_rank(row, V, f.tokens[i]), "token %d", i);
        cr_assert(fabs(sc[i - 1].logprob - ref_logprob(row, V, f.tokens[i])) <= 1e-12, "token %d: %.17g vs %.17g", i,
                  sc[i - 1].logprob, ref_logprob(row, V, f.tokens[i]));
    }
    free(rows);
    free(sc);
    nexttok_session_free(plain);
    nexttok_session_free(s);
    nt_logits_file_free(&f);
    nexttok_model_free(m);
}

Test(score, gpt2_t1) { score_against_exact("models/gpt2-tiny-f32.gguf", "logits/gpt2-tiny-f32.t1.exact.logits"); }
Test(score, gpt2_t2) { score_against_exact("models/gpt2-tiny-f32.gguf", "logits/gpt2-tiny-f32.t2.exact.logits"); }
Test(score, llama_t1) { score_against_exact("models/llama-tiny-f32.gguf", "logits/llama-tiny-f32.t1.exact.logits"); }
Test(score, aidreams_t1) { score_against_exact("models/aidreams260K.gguf", "logits/aidreams260K.t1.exact.logits"); }
Test(score, aidreams_t2) { score_against_exact("models/aidreams260K.gguf", "logits/aidreams260K.t2.exact.logits"); }

static void score_all(nexttok_session *s, const int32_t *toks, size_t n, nexttok_token_score *out)
{
    nexttok_score_info info = {.struct_size = sizeof info};
    cr_assert_eq(nexttok_session_score(s, toks, n, out, n, &info), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(info.n_tokens, (int32_t)n);
}

static void assert_scores_equal(const nexttok_token_score *a, const nexttok_token_score *b, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(a[i].token, b[i].token, "%s: token %zu", what, i);
        cr_assert_eq(a[i].rank, b[i].rank, "%s: rank of token %zu", what, i);
        cr_assert_eq(a[i].greedy, b[i].greedy, "%s: greedy of token %zu", what, i);
        cr_assert_eq(a[i].logprob, b[i].logprob, "%s: logprob of token %zu: %.17g vs %.17g", what, i, a[i].logprob,
                     b[i].logprob);
    }
}

/* A context already in the session counts, rewinding to it and scoring
 * again gives the same, and small batches (several feeds per call) change
 * nothing. */
Test(score, after_context_rewind_and_small_batches)
{
    nexttok_model *m = nt_test_model_load("models/aidreams260K.gguf");
    nt_logits_file f;
    read_exact("logits/aidreams260K.t2.exact.logits", &f);
    const size_t n = (size_t)f.n, k = 10;
    nexttok_token_score *whole = calloc(n, sizeof *whole), *tail = calloc(n, sizeof *tail),
                        *again = calloc(n, sizeof *again), *small = calloc(n, sizeof *small);
    nexttok_session *s = nt_test_session_new(m, 0, 0);
    cr_assert_eq(nexttok_session_feed(s, f.tokens, 1, NULL, 0), NEXTTOK_OK);
    score_all(s, f.tokens + 1, n - 1, whole);

    cr_assert_eq(nexttok_session_reset(s), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_feed(s, f.tokens, k, NULL, 0), NEXTTOK_OK);
    score_all(s, f.tokens + k, n - k, tail);
    assert_scores_equal(tail, whole + (k - 1), n - k, "after a context of 10");
    cr_assert_eq(nexttok_session_position_get(s), (int32_t)n);
    cr_assert_eq(nexttok_session_rewind(s, (int32_t)k), NEXTTOK_OK);
    score_all(s, f.tokens + k, n - k, again);
    assert_scores_equal(again, tail, n - k, "after a rewind");

    nexttok_session *b3 = nt_test_session_new(m, 0, 3);
    cr_assert_eq(nexttok_session_feed(b3, f.tokens, 1, NULL, 0), NEXTTOK_OK);
    score_all(b3, f.tokens + 1, n - 1, small);
    assert_scores_equal(small, whole, n - 1, "n_batch 3");

    /* The summary alone, without per-token room. */
    nexttok_score_info info = {.struct_size = sizeof info};
    cr_assert_eq(nexttok_session_rewind(b3, 1), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_score(b3, f.tokens + 1, n - 1, NULL, 0, &info), NEXTTOK_OK);
    double sum = 0.0;
    for (size_t i = 0; i + 1 < n; i++) sum += whole[i].logprob;
    cr_assert_eq(info.logprob_sum, sum);
    free(whole);
    free(tail);
    free(again);
    free(small);
    nexttok_session_free(b3);
    nexttok_session_free(s);
    nt_logits_file_free(&f);
    nexttok_model_free(m);
}

Test(score, errors_leave_the_session_as_it_was)
{
    nexttok_model *m = nt_test_model_load("models/aidreams260K.gguf");
    nexttok_session *s = nt_test_session_new(m, 16, 0);
    const int32_t toks[] = {1, 403, 261, 300};
    nexttok_token_score sc[20];
    nexttok_score_info info = {.struct_size = sizeof info};

    cr_assert_eq(nexttok_session_score(s, toks, 4, sc, 4, &info), NEXTTOK_ERR_STATE);
    cr_assert(strstr(nexttok_error_message(), "BOS"), "%s", nexttok_error_message());
    cr_assert_eq(nexttok_session_position_get(s), 0);
    cr_assert_eq(nexttok_session_feed(s, toks, 1, NULL, 0), NEXTTOK_OK);

    cr_assert_eq(nexttok_session_score(s, toks + 1, 3, sc, 2, &info), NEXTTOK_ERR_BUFFER_TOO_SMALL);
    cr_assert(strstr(nexttok_error_message(), "need 3"), "%s", nexttok_error_message());
    cr_assert_eq(nexttok_session_score(s, toks + 1, 3, NULL, 3, &info), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nexttok_session_score(NULL, toks, 1, NULL, 0, NULL), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nexttok_session_score(s, NULL, 1, NULL, 0, NULL), NEXTTOK_ERR_INVALID_ARGUMENT);
    const int32_t bad[] = {5, 512};
    cr_assert_eq(nexttok_session_score(s, bad, 2, sc, 2, &info), NEXTTOK_ERR_TOKEN_RANGE);
    int32_t many[16] = {0};
    cr_assert_eq(nexttok_session_score(s, many, 16, sc, 16, &info), NEXTTOK_ERR_CONTEXT_FULL);
    nexttok_score_info tiny = {.struct_size = 1};
    cr_assert_eq(nexttok_session_score(s, toks + 1, 3, sc, 3, &tiny), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nexttok_session_position_get(s), 1, "a failed call fed nothing");

    /* 15 tokens fill the 16 positions exactly. */
    cr_assert_eq(nexttok_session_score(s, many, 15, sc, 20, &info), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(nexttok_session_position_get(s), 16);

    /* Nothing to score: an empty summary, no feed. */
    info = (nexttok_score_info){.struct_size = sizeof info, .logprob_sum = 5.0, .n_tokens = 3};
    cr_assert_eq(nexttok_session_score(s, NULL, 0, NULL, 0, &info), NEXTTOK_OK);
    cr_assert_eq(info.n_tokens, 0);
    cr_assert_eq(info.logprob_sum, 0.0);
    cr_assert_eq(info.greedy, 1);
    nexttok_session_free(s);
    nexttok_model_free(m);
}

/* A model whose output rows come in identical pairs (rows 2k and 2k+1), so
 * every logit is tied with its partner's, bit for bit: tied tokens share
 * the best rank among them, and both of the top pair are greedy although
 * arg-max takes the lower id. */
Test(score, ties_share_the_best_rank)
{
    nt_tiny_spec sp = nt_tiny_spec_default("llama");
    sp.omit_tensor = "output.weight";
    nt_gw *w = nt_tiny_model_writer(&sp);
    const int64_t ne[2] = {sp.n_embd, sp.n_vocab};
    float *out = malloc((size_t)(ne[0] * ne[1]) * sizeof *out);
    uint64_t x = 12345;
    for (int64_t v = 0; v < ne[1]; v += 2)
        for (int64_t e = 0; e < ne[0]; e++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            out[v * ne[0] + e] = out[(v + 1) * ne[0] + e] = (float)((double)(x >> 11) * 0x1.0p-53 - 0.5);
        }
    nt_gw_add_tensor_f32(w, "output.weight", NT_TYPE_F32, 2, ne, out);
    free(out);
    char *path = nt_tiny_write_temp(w);
    nt_gw_free(w);
    cr_assert(path);
    nexttok_model *m = NULL;
    cr_assert_eq(nexttok_model_load(path, NULL, &m), NEXTTOK_OK, "%s", nexttok_error_message());
    const int32_t V = sp.n_vocab;
    nexttok_session *s = nt_test_session_new(m, 0, 0);
    const int32_t ctx[] = {3, 17, 40};
    cr_assert_eq(nexttok_session_feed(s, ctx, 3, NULL, 0), NEXTTOK_OK);
    const float *lg = NULL;
    cr_assert_eq(nexttok_session_logits_get(s, &lg), NEXTTOK_OK);
    float *row = malloc((size_t)V * sizeof *row);
    memcpy(row, lg, (size_t)V * sizeof *row);
    int32_t best = 0;
    for (int32_t i = 1; i < V; i++) best = row[i] > row[best] ? i : best;
    cr_assert_eq(best % 2, 0, "the lowest id of the top pair is even");
    cr_assert_eq(row[best], row[best + 1]);
    for (int32_t t = 0; t < V; t++) {
        nexttok_token_score sc;
        cr_assert_eq(nexttok_session_rewind(s, 3), NEXTTOK_OK);
        cr_assert_eq(nexttok_session_score(s, &t, 1, &sc, 1, NULL), NEXTTOK_OK);
        int32_t higher = 0;
        for (int32_t j = 0; j < V; j++) higher += row[j] > row[t];
        cr_assert_eq(sc.rank, 1 + higher, "token %d", t);
        cr_assert_eq(sc.rank % 2, 1, "token %d: a pair shares the better of its two ranks", t);
        cr_assert_eq(sc.greedy, t == best || t == best + 1, "token %d", t);
        nexttok_token_score partner;
        const int32_t u = t ^ 1;
        cr_assert_eq(nexttok_session_rewind(s, 3), NEXTTOK_OK);
        cr_assert_eq(nexttok_session_score(s, &u, 1, &partner, 1, NULL), NEXTTOK_OK);
        cr_assert_eq(sc.rank, partner.rank);
        cr_assert_eq(sc.logprob, partner.logprob);
    }
    free(row);
    nexttok_session_free(s);
    nexttok_model_free(m);
    unlink(path);
    free(path);
}

/* ---------------------------------------------------------------------- */
/* Perplexity                                                             */
/* ---------------------------------------------------------------------- */

typedef struct ref_ppl {
    double sum, mean, se;
    int64_t n_scored;
    int32_t n_windows;
} ref_ppl;

/* Hugging Face's loop as its guide writes it: windows begin every S
 * tokens, a window [begin, end) of up to N tokens takes as targets its last
 * end - prev_end tokens, and the model's shift by one leaves the window's
 * first token without a prediction. Each window's logits come from a plain
 * feed into an empty session. */
static ref_ppl reference_perplexity(const nexttok_model *m, const int32_t *toks, int32_t n, int32_t N, int32_t S)
{
    const int32_t V = nexttok_model_n_vocab_get(m);
    nexttok_session *s = nt_test_session_new(m, N, 0);
    float *rows = malloc((size_t)N * V * sizeof *rows);
    double *nll = malloc((size_t)n * sizeof *nll);
    ref_ppl r = {0};
    int32_t prev_end = 0;
    for (int32_t begin = 0; begin < n; begin += S) {
        const int32_t end = begin + N < n ? begin + N : n;
        const int32_t trg_len = end - prev_end;
        cr_assert_eq(nexttok_session_reset(s), NEXTTOK_OK);
        cr_assert_eq(nexttok_session_feed(s, toks + begin, (size_t)(end - begin), rows, (size_t)N * V), NEXTTOK_OK);
        for (int32_t j = end - trg_len; j < end; j++) {
            if (j == begin) continue; /* the label the shift drops */
            nll[r.n_scored++] = -ref_logprob(rows + (size_t)(j - begin - 1) * V, V, toks[j]);
        }
        r.n_windows++;
        prev_end = end;
        if (end == n) break;
    }
    for (int64_t i = 0; i < r.n_scored; i++) r.sum += nll[i];
    r.mean = r.sum / (double)r.n_scored;
    double ss = 0.0;
    for (int64_t i = 0; i < r.n_scored; i++) ss += (nll[i] - r.mean) * (nll[i] - r.mean);
    r.se = r.n_scored > 1 ? sqrt(ss / (double)(r.n_scored - 1) / (double)r.n_scored) : 0.0;
    free(rows);
    free(nll);
    nexttok_session_free(s);
    return r;
}

static void close_to(double got, double want, double rel, const char *what)
{
    cr_assert(fabs(got - want) <= rel * fmax(1.0, fabs(want)), "%s: %.17g, expected %.17g", what, got, want);
}

static void check_windows(const char *model_rel, const char *logits_rel, int32_t n_ctx, int32_t N, int32_t S)
{
    nexttok_model *m = nt_test_model_load(model_rel);
    nt_logits_file f;
    read_exact(logits_rel, &f);
    const ref_ppl want = reference_perplexity(m, f.tokens, f.n, N, S);
    nexttok_session *s = nt_test_session_new(m, n_ctx, 0);
    nexttok_perplexity_params p;
    nexttok_perplexity_params_init(&p, sizeof p);
    p.n_window = N;
    p.stride = S;
    nexttok_perplexity_info info = {.struct_size = sizeof info};
    cr_assert_eq(nexttok_session_perplexity_compute(s, f.tokens, (size_t)f.n, &p, &info), NEXTTOK_OK, "%s",
                 nexttok_error_message());
    cr_assert_eq(info.n_tokens, f.n);
    cr_assert_eq(info.n_scored, want.n_scored, "N %d S %d: %lld scored, expected %lld", N, S, (long long)info.n_scored,
                 (long long)want.n_scored);
    cr_assert_eq(info.n_windows, want.n_windows);
    cr_assert_eq(info.n_window, N);
    cr_assert_eq(info.stride, S);
    close_to(info.nll_sum, want.sum, 1e-12, "nll_sum");
    close_to(info.nll_mean, want.mean, 1e-12, "nll_mean");
    close_to(info.nll_se, want.se, 1e-9, "nll_se");
    close_to(info.perplexity, exp(want.mean), 1e-12, "perplexity");
    close_to(info.perplexity_se, exp(want.mean) * want.se, 1e-9, "perplexity_se");
    cr_assert_eq(info.n_bytes, 0);
    cr_assert_eq(info.bits_per_byte, 0.0);
    nexttok_session_free(s);
    nt_logits_file_free(&f);
    nexttok_model_free(m);
}

/* aidreams260K t2 is 72 tokens. */
#define T2 "logits/aidreams260K.t2.exact.logits"
#define AID "models/aidreams260K.gguf"
Test(perplexity, overlapping_windows) { check_windows(AID, T2, 0, 16, 8); }
Test(perplexity, uneven_stride) { check_windows(AID, T2, 32, 20, 7); }
Test(perplexity, stride_equals_window) { check_windows(AID, T2, 0, 16, 16); }
Test(perplexity, stride_one) { check_windows(AID, T2, 16, 16, 1); }
Test(perplexity, text_shorter_than_window) { check_windows(AID, T2, 0, 128, 64); }
Test(perplexity, window_of_exactly_the_text) { check_windows(AID, T2, 0, 72, 5); }
Test(perplexity, window_one_short_of_the_text) { check_windows(AID, T2, 0, 71, 71); }
Test(perplexity, gpt2_windows) { check_windows("models/gpt2-tiny-f32.gguf", "logits/gpt2-tiny-f32.t2.exact.logits", 0, 24, 10); }

/* With S = N every window's first token goes unscored, by definition. */
Test(perplexity, stride_equals_window_counts)
{
    nexttok_model *m = nt_test_model_load(AID);
    nt_logits_file f;
    read_exact(T2, &f);
    cr_assert_eq(f.n, 72);
    nexttok_session *s = nt_test_session_new(m, 0, 0);
    nexttok_perplexity_params p;
    nexttok_perplexity_params_init(&p, sizeof p);
    p.n_window = 16;
    p.stride = 16;
    nexttok_perplexity_info info = {.struct_size = sizeof info};
    cr_assert_eq(nexttok_session_perplexity_compute(s, f.tokens, 72, &p, &info), NEXTTOK_OK);
    cr_assert_eq(info.n_windows, 5);    /* 0, 16, 32, 48, 64 */
    cr_assert_eq(info.n_scored, 72 - 5);
    p.stride = 1; /* windows 0..56; token j >= 16 scored in window j - 15 */
    cr_assert_eq(nexttok_session_perplexity_compute(s, f.tokens, 72, &p, &info), NEXTTOK_OK);
    cr_assert_eq(info.n_windows, 57);
    cr_assert_eq(info.n_scored, 71);
    nexttok_session_free(s);
    nt_logits_file_free(&f);
    nexttok_model_free(m);
}

/* One window over the fixture's text: the float64 logits give the answer
 * directly (t1.txt tokenizes to the fixture's tokens, BOS included for
 * aidreams260K; GPT-2 adds none, so its first text token goes unscored). */
static void text_against_exact(const char *model_rel, const char *logits_rel)
{
    nexttok_model *m = nt_test_model_load(model_rel);
    nt_logits_file f;
    read_exact(logits_rel, &f);
    char path[4096];
    cr_assert(nt_test_fixture_path("texts/t1.txt", path, sizeof path));
    size_t len = 0;
    char *text = nt_test_read_file(path, &len);
    nexttok_tokenizer *tok = NULL;
    cr_assert_eq(nexttok_tokenizer_create(m, &tok), NEXTTOK_OK);
    nexttok_session *s = nt_test_session_new(m, 0, 0);
    nexttok_perplexity_info info = {.struct_size = sizeof info};
    cr_assert_eq(nexttok_session_text_perplexity_compute(s, tok, text, len, NULL, &info), NEXTTOK_OK, "%s",
                 nexttok_error_message());
    const int32_t V = f.n_vocab;
    double sum = 0.0, tol = 0.0;
    for (int32_t j = 1; j < f.n; j++) {
        const float *row = f.logits + (size_t)(j - 1) * V;
        sum -= ref_logprob(row, V, f.tokens[j]);
        tol += 2e-3 * fmax(1.0, max_abs(row, V));
    }
    cr_assert_eq(info.n_tokens, f.n);
    cr_assert_eq(info.n_scored, f.n - 1);
    cr_assert_eq(info.n_windows, 1);
    cr_assert_eq(info.n_window, nexttok_session_n_ctx_get(s));
    cr_assert_eq(info.stride, nexttok_session_n_ctx_get(s) / 2);
    cr_assert_eq(info.n_bytes, (int64_t)len);
    cr_assert(fabs(info.nll_sum - sum) <= tol, "nll_sum %.9g, float64 %.9g", info.nll_sum, sum);
    const double mean = sum / (f.n - 1);
    cr_assert(fabs(info.nll_mean - mean) <= tol / (f.n - 1));
    cr_assert(fabs(log(info.perplexity) - mean) <= tol / (f.n - 1));
    close_to(info.bits_per_byte, info.nll_sum / log(2.0) / (double)len, 1e-14, "bits_per_byte");
    cr_assert(fabs(info.bits_per_byte - sum / log(2.0) / (double)len) <= tol / log(2.0) / (double)len);
    free(text);
    nexttok_session_free(s);
    nexttok_tokenizer_free(tok);
    nt_logits_file_free(&f);
    nexttok_model_free(m);
}

Test(perplexity, text_aidreams_t1) { text_against_exact(AID, "logits/aidreams260K.t1.exact.logits"); }
Test(perplexity, text_gpt2_t1) { text_against_exact("models/gpt2-tiny-f32.gguf", "logits/gpt2-tiny-f32.t1.exact.logits"); }

typedef struct progress_log {
    int calls;
    float last;
    int stop_after;
    int monotonic;
} progress_log;

static int on_progress(float fraction, void *user)
{
    progress_log *l = user;
    if (fraction < l->last) l->monotonic = 0;
    l->last = fraction;
    l->calls++;
    return l->stop_after && l->calls >= l->stop_after;
}

Test(perplexity, progress_cancel_and_errors)
{
    nexttok_model *m = nt_test_model_load(AID);
    nt_logits_file f;
    read_exact(T2, &f);
    nexttok_session *s = nt_test_session_new(m, 32, 0);
    nexttok_perplexity_params p;
    nexttok_perplexity_params_init(&p, sizeof p);
    progress_log log = {.monotonic = 1};
    p.progress = on_progress;
    p.progress_user_data = &log;
    nexttok_perplexity_info info = {.struct_size = sizeof info};
    /* Defaults: N = n_ctx 32, S = 16: windows at 0, 16, 32, 48 (the last reaches 72). */
    cr_assert_eq(nexttok_session_perplexity_compute(s, f.tokens, 72, &p, &info), NEXTTOK_OK);
    cr_assert_eq(info.n_window, 32);
    cr_assert_eq(info.stride, 16);
    cr_assert_eq(info.n_windows, 4);
    cr_assert_eq(log.calls, 4);
    cr_assert_eq(log.last, 1.0f);
    cr_assert(log.monotonic);

    log = (progress_log){.monotonic = 1, .stop_after = 2};
    cr_assert_eq(nexttok_session_perplexity_compute(s, f.tokens, 72, &p, &info), NEXTTOK_ERR_CANCELLED);
    cr_assert_eq(log.calls, 2);

    p.progress = NULL;
    p.n_window = 33;
    cr_assert_eq(nexttok_session_perplexity_compute(s, f.tokens, 72, &p, &info), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(nexttok_error_message(), "window of 33"), "%s", nexttok_error_message());
    p.n_window = 1;
    cr_assert_eq(nexttok_session_perplexity_compute(s, f.tokens, 72, &p, &info), NEXTTOK_ERR_INVALID_ARGUMENT);
    p.n_window = 8;
    p.stride = 9;
    cr_assert_eq(nexttok_session_perplexity_compute(s, f.tokens, 72, &p, &info), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(nexttok_error_message(), "stride 9"), "%s", nexttok_error_message());
    p.stride = -1;
    cr_assert_eq(nexttok_session_perplexity_compute(s, f.tokens, 72, &p, &info), NEXTTOK_ERR_INVALID_ARGUMENT);
    p.stride = 0;
    cr_assert_eq(nexttok_session_perplexity_compute(s, f.tokens, 1, &p, &info), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(nexttok_error_message(), "nothing to score"), "%s", nexttok_error_message());
    cr_assert_eq(nexttok_session_perplexity_compute(s, f.tokens, 72, &p, NULL), NEXTTOK_ERR_INVALID_ARGUMENT);
    const int32_t bad[] = {1, 600};
    cr_assert_eq(nexttok_session_perplexity_compute(s, bad, 2, &p, &info), NEXTTOK_ERR_TOKEN_RANGE);

    /* Two tokens: one scored, a standard error of 0. */
    cr_assert_eq(nexttok_session_perplexity_compute(s, f.tokens, 2, &p, &info), NEXTTOK_OK);
    cr_assert_eq(info.n_scored, 1);
    cr_assert_eq(info.nll_se, 0.0);
    cr_assert_eq(info.perplexity_se, 0.0);

    /* Text: an empty one is only a BOS. */
    nexttok_tokenizer *tok = NULL;
    cr_assert_eq(nexttok_tokenizer_create(m, &tok), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_text_perplexity_compute(s, tok, "", 0, &p, &info), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nexttok_session_text_perplexity_compute(s, NULL, "a", 1, &p, &info), NEXTTOK_ERR_INVALID_ARGUMENT);
    nexttok_tokenizer_free(tok);
    nexttok_session_free(s);
    nt_logits_file_free(&f);
    nexttok_model_free(m);
}

/* --- multiple choice ------------------------------------------------------ */

static size_t encode(const nexttok_tokenizer *tok, const char *text, int32_t *ids, size_t cap)
{
    size_t n = 0;
    cr_assert_eq(nexttok_tokenizer_encode(tok, text, strlen(text), NEXTTOK_ENCODE_ADD_SPECIAL, ids, cap, &n),
                 NEXTTOK_OK, "%s", nexttok_error_message());
    return n;
}

/* An ending's log-likelihood the long way: tokenize context (its trailing
 * spaces moved) and context + ending, feed all of it in one call, sum the
 * log-softmax of each ending token from the row before it. */
static double ending_ll_by_hand(const nexttok_model *m, const nexttok_tokenizer *tok, const char *context_kept,
                                const char *moved_and_ending, int32_t *n_tokens)
{
    int32_t ctx[256], whole[256];
    char text[512];
    const size_t n_ctx = encode(tok, context_kept, ctx, 256);
    snprintf(text, sizeof text, "%s%s", context_kept, moved_and_ending);
    const size_t n_whole = encode(tok, text, whole, 256);
    cr_assert_gt(n_whole, n_ctx, "the ending adds no tokens");
    for (size_t i = 0; i < n_ctx; i++) cr_assert_eq(whole[i], ctx[i], "context tokens are not a prefix here");
    const int32_t V = nexttok_model_n_vocab_get(m);
    nexttok_session *s = nt_test_session_new(m, 0, 0);
    float *rows = malloc(n_whole * (size_t)V * sizeof *rows);
    cr_assert_not_null(rows, "out of memory");
    cr_assert_eq(nexttok_session_feed(s, whole, n_whole, rows, n_whole * (size_t)V), NEXTTOK_OK, "%s", nexttok_error_message());
    double ll = 0.0;
    for (size_t j = n_ctx; j < n_whole; j++) ll += ref_logprob(rows + (j - 1) * (size_t)V, V, whole[j]);
    *n_tokens = (int32_t)(n_whole - n_ctx);
    free(rows);
    nexttok_session_free(s);
    return ll;
}

Test(choices, lm_eval_scores_and_picks)
{
    nexttok_model *m = nt_test_model_load(AID);
    nexttok_tokenizer *tok = NULL;
    cr_assert_eq(nexttok_tokenizer_create(m, &tok), NEXTTOK_OK, "%s", nexttok_error_message());
    const char *context = "Once upon a time, there was a little ";
    const char *endings[] = {"dog.", "girl named Lily.", "x", "cat who liked to play."};
    const size_t lens[] = {4, 16, 1, 22};
    nexttok_choice_score sc[4];
    nexttok_choices_info info = {.struct_size = sizeof info};
    nexttok_session *s = nt_test_session_new(m, 0, 0);
    cr_assert_eq(nexttok_session_choices_score(s, tok, context, strlen(context), endings, lens, 4, sc, 4, &info),
                 NEXTTOK_OK, "%s", nexttok_error_message());
    size_t best = 0, best_norm = 0;
    for (size_t e = 0; e < 4; e++) {
        char moved[64];
        snprintf(moved, sizeof moved, " %s", endings[e]); /* the context's trailing space moves */
        int32_t n = 0;
        const double want = ending_ll_by_hand(m, tok, "Once upon a time, there was a little", moved, &n);
        cr_assert(fabs(sc[e].logprob_sum - want) <= 1e-9 * fmax(1.0, fabs(want)), "ending %zu: %.12g vs %.12g", e,
                  sc[e].logprob_sum, want);
        cr_assert_eq(sc[e].n_tokens, n, "ending %zu: %d tokens, want %d", e, sc[e].n_tokens, n);
        cr_assert_eq(sc[e].n_chars, (int64_t)lens[e], "ending %zu: %lld chars", e, (long long)sc[e].n_chars);
        cr_assert(sc[e].logprob_norm == sc[e].logprob_sum / (double)lens[e], "ending %zu: norm", e);
        if (want > sc[best].logprob_sum) best = e;
        if (want / (double)lens[e] > sc[best_norm].logprob_norm) best_norm = e;
    }
    cr_assert_eq(info.best, best, "acc pick %zu, want %zu", info.best, best);
    cr_assert_eq(info.best_norm, best_norm, "acc_norm pick %zu, want %zu", info.best_norm, best_norm);
    /* the session is left holding the context */
    int32_t ctx[256];
    const size_t n_ctx = encode(tok, "Once upon a time, there was a little", ctx, 256);
    cr_assert_eq(info.n_context_tokens, (int32_t)n_ctx, "context tokens %d", info.n_context_tokens);
    cr_assert_eq(nexttok_session_position_get(s), (int32_t)n_ctx, "session at %d", nexttok_session_position_get(s));

    /* errors name the problem and score nothing */
    const char *empty[] = {"dog.", ""};
    const size_t empty_lens[] = {4, 0};
    cr_assert_eq(nexttok_session_choices_score(s, tok, context, strlen(context), empty, empty_lens, 2, sc, 4, &info),
                 NEXTTOK_ERR_INVALID_ARGUMENT, "an empty ending");
    cr_assert(strstr(nexttok_error_message(), "ending 1 is empty"), "%s", nexttok_error_message());
    cr_assert_eq(nexttok_session_choices_score(s, tok, context, strlen(context), endings, lens, 4, sc, 3, &info),
                 NEXTTOK_ERR_BUFFER_TOO_SMALL, "capacity 3 for 4");
    cr_assert_eq(nexttok_session_choices_score(s, tok, context, strlen(context), endings, lens, 0, sc, 4, &info),
                 NEXTTOK_ERR_INVALID_ARGUMENT, "no endings");
    cr_assert_eq(nexttok_session_choices_score(NULL, tok, context, strlen(context), endings, lens, 4, sc, 4, &info),
                 NEXTTOK_ERR_INVALID_ARGUMENT, "NULL session");
    nexttok_session_free(s);
    nexttok_tokenizer_free(tok);
    nexttok_model_free(m);
}
