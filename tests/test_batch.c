/* Batched decode of many sessions: each session's logits must be the bytes
 * of feeding it alone, whichever sessions share the batch and wherever
 * they stand; and a batch that cannot run feeds no session. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexttok.h"
#include "support/fixtures.h"
#include "support/harness.h"
#include "support/tiny_model.h"
#include <unistd.h>

#define MAX_SESS 8
#define STEPS 3

static nexttok_model *load_fixture(const char *rel)
{
    char path[4096];
    if (!nt_test_fixture_path(rel, path, sizeof path)) cr_skip_test(NT_SKIP_MSG);
    nexttok_model *m = NULL;
    cr_assert_eq(nexttok_model_load(path, NULL, &m), NEXTTOK_OK, "%s", nexttok_error_message());
    return m;
}

typedef struct config {
    int32_t n_ctx;
    int32_t n_batch;
    int32_t precision;
    int32_t kv_type;
} config;

static nexttok_session *make_session(const nexttok_model *m, const config *c, int32_t n_ctx)
{
    nexttok_session_params p;
    nexttok_session_params_init(&p, sizeof p);
    p.n_ctx = n_ctx;
    p.n_threads = 2;
    p.n_batch = c->n_batch;
    p.precision = c->precision;
    p.kv_type = c->kv_type;
    nexttok_session *s = NULL;
    cr_assert_eq(nexttok_session_create(m, &p, &s), NEXTTOK_OK, "%s", nexttok_error_message());
    return s;
}

/* Session i's prompt length (mixed positions, several past a window of 8),
 * its n_ctx (every other one shorter), and its tokens. */
static int32_t prefix_len(int i) { return (int32_t)((7 * i + 3) % 19 + 1); }
static int32_t sess_ctx(const config *c, int i) { return i % 2 ? c->n_ctx - 8 : c->n_ctx; }
static int32_t tok(const nexttok_model *m, int i, int j) { return (int32_t)((131 * i + 17 * j + 5) % nexttok_model_n_vocab_get(m)); }

static void prefill(const nexttok_model *m, nexttok_session *s, int i)
{
    int32_t t[32];
    const int32_t n = prefix_len(i);
    for (int32_t j = 0; j < n; j++) t[j] = tok(m, i, j);
    cr_assert_eq(nexttok_session_feed(s, t, (size_t)n, NULL, 0), NEXTTOK_OK, "%s", nexttok_error_message());
}

/* The token session i decodes at step k. */
static int32_t step_tok(const nexttok_model *m, int i, int k) { return tok(m, i, 100 + k); }

static void check_loaded(nexttok_model *m, const char *rel, config c);

static void check_model(const char *rel, config c)
{
    nexttok_model *m = load_fixture(rel);
    check_loaded(m, rel, c);
    nexttok_model_free(m);
}

/* A model the tests write, with weights of `type` (ggml id: 1 F16,
 * 30 BF16) for the half-precision GEMM tiles. */
static void check_tiny(const char *arch, uint32_t type)
{
    nt_tiny_spec sp = nt_tiny_spec_default(arch);
    sp.weight_type = sp.round_to = type;
    sp.n_vocab = 256;
    sp.n_embd = 64;
    sp.n_ff = 128;
    sp.n_ctx = 64;
    char *path = nt_tiny_model_file(&sp);
    cr_assert(path);
    nexttok_model *m = NULL;
    cr_assert_eq(nexttok_model_load(path, NULL, &m), NEXTTOK_OK, "%s", nexttok_error_message());
    check_loaded(m, arch, (config){64, 0, 0, 0});
    nexttok_model_free(m);
    unlink(path);
    free(path);
}

static void check_loaded(nexttok_model *m, const char *rel, config c)
{
    const size_t V = (size_t)nexttok_model_n_vocab_get(m);
    /* solo: each session alone, one token per feed */
    float *want = malloc((size_t)MAX_SESS * STEPS * V * sizeof *want);
    float *got = malloc((size_t)MAX_SESS * V * sizeof *got);
    cr_assert(want && got);
    for (int i = 0; i < MAX_SESS; i++) {
        nexttok_session *s = make_session(m, &c, sess_ctx(&c, i));
        prefill(m, s, i);
        for (int k = 0; k < STEPS; k++) {
            const int32_t t = step_tok(m, i, k);
            cr_assert_eq(nexttok_session_feed(s, &t, 1, want + ((size_t)i * STEPS + k) * V, V), NEXTTOK_OK, "%s",
                         nexttok_error_message());
        }
        nexttok_session_free(s);
    }
    for (int n = 1; n <= MAX_SESS; n++) {
        /* sessions 0..n-1 in an order that changes with n, so a session
         * shares its batch with other neighbours at other places */
        nexttok_session *ss[MAX_SESS];
        int who[MAX_SESS];
        for (int j = 0; j < n; j++) who[j] = n % 2 ? n - 1 - j : (j + n / 2) % n;
        for (int j = 0; j < n; j++) {
            ss[j] = make_session(m, &c, sess_ctx(&c, who[j]));
            prefill(m, ss[j], who[j]);
        }
        for (int k = 0; k < STEPS; k++) {
            int32_t t[MAX_SESS];
            for (int j = 0; j < n; j++) t[j] = step_tok(m, who[j], k);
            /* with a caller's buffer on even steps, the sessions' own on odd */
            cr_assert_eq(nexttok_sessions_feed(ss, t, (size_t)n, k % 2 ? NULL : got, k % 2 ? 0 : (size_t)n * V), NEXTTOK_OK, "%s",
                         nexttok_error_message());
            for (int j = 0; j < n; j++) {
                const float *w = want + ((size_t)who[j] * STEPS + k) * V, *lg = NULL;
                cr_assert_eq(nexttok_session_logits_get(ss[j], &lg), NEXTTOK_OK);
                cr_assert(memcmp(lg, w, V * sizeof *w) == 0, "%s: N=%d, session %d, step %d: batched logits differ",
                          rel, n, who[j], k);
                if (k % 2 == 0)
                    cr_assert(memcmp(got + (size_t)j * V, w, V * sizeof *w) == 0,
                              "%s: N=%d, row %d: logits_out differs", rel, n, j);
                cr_assert_eq(nexttok_session_position_get(ss[j]), prefix_len(who[j]) + k + 1);
            }
        }
        for (int j = 0; j < n; j++) nexttok_session_free(ss[j]);
    }
    free(want);
    free(got);
}

Test(batch, llama_f16_weights_are_bitwise_solo) { check_tiny("llama", 1); }
Test(batch, llama_bf16_weights_are_bitwise_solo) { check_tiny("llama", 30); }
Test(batch, gpt2_f16_weights_are_bitwise_solo) { check_tiny("gpt2", 1); }
Test(batch, gpt2_f32_is_bitwise_solo) { check_model("models/gpt2-tiny-f32.gguf", (config){64, 0, 0, 0}); }
Test(batch, llama_f32_is_bitwise_solo) { check_model("models/llama-tiny-f32.gguf", (config){64, 0, 0, 0}); }
Test(batch, llama_q4_0_fast_is_bitwise_solo)
{
    check_model("models/llama-q-Q4_0.gguf", (config){64, 0, NEXTTOK_PRECISION_FAST, 0});
}
Test(batch, llama_q8_0_fast_is_bitwise_solo)
{
    check_model("models/llama-q-Q8_0.gguf", (config){64, 0, NEXTTOK_PRECISION_FAST, 0});
}
Test(batch, llama_q4_k_fast_is_bitwise_solo)
{
    check_model("models/llama-q-Q4_K_M.gguf", (config){64, 0, NEXTTOK_PRECISION_FAST, 0});
}
Test(batch, llama_q6_k_fast_is_bitwise_solo)
{
    check_model("models/llama-q-Q6_K.gguf", (config){64, 0, NEXTTOK_PRECISION_FAST, 0});
}
Test(batch, llama_q4_k_exact_is_bitwise_solo)
{
    check_model("models/llama-q-Q4_K_M.gguf", (config){64, 0, NEXTTOK_PRECISION_EXACT, 0});
}
Test(batch, llama_f16_kv_is_bitwise_solo)
{
    check_model("models/llama-tiny-f32.gguf", (config){64, 0, 0, NEXTTOK_KV_F16});
}
/* sliding windows of 8 (gemma2: even layers; gemma3: five of six layers)
 * with soft-caps and post-norms, past the window */
Test(batch, gemma2_window_is_bitwise_solo) { check_model("arch/gemma2.gguf", (config){40, 0, 0, 0}); }
Test(batch, gemma3_window_is_bitwise_solo) { check_model("arch/gemma3.gguf", (config){40, 0, 0, 0}); }
/* more sessions than the host's n_batch: several passes */
Test(batch, chunks_past_n_batch_are_bitwise_solo)
{
    check_model("models/llama-tiny-f32.gguf", (config){64, 3, 0, 0});
}

/* ---- refusals: nothing is fed ---------------------------------------------- */

static void expect_untouched(nexttok_session *const *ss, const int32_t *pos, int n)
{
    for (int j = 0; j < n; j++) cr_assert_eq(nexttok_session_position_get(ss[j]), pos[j], "session %d moved", j);
}

Test(batch, refuses_bad_batches_and_feeds_nothing)
{
    nexttok_model *m = load_fixture("models/llama-tiny-f32.gguf");
    nexttok_model *m2 = load_fixture("models/llama-tiny-f32.gguf");
    const config c = {16, 0, 0, 0};
    nexttok_session *a = make_session(m, &c, 16), *b = make_session(m, &c, 16), *full = make_session(m, &c, 8);
    const int32_t three[3] = {1, 2, 3};
    cr_assert_eq(nexttok_session_feed(a, three, 3, NULL, 0), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_feed(b, three, 1, NULL, 0), NEXTTOK_OK);
    const int32_t eight[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    cr_assert_eq(nexttok_session_feed(full, eight, 8, NULL, 0), NEXTTOK_OK);
    const float *la = NULL;
    cr_assert_eq(nexttok_session_logits_get(a, &la), NEXTTOK_OK);
    const size_t V = (size_t)nexttok_model_n_vocab_get(m);
    float *before = malloc(V * sizeof *before);
    cr_assert(before);
    memcpy(before, la, V * sizeof *before);
    const int32_t t[3] = {4, 5, 6};

    nexttok_session *dup[3] = {a, b, a};
    const int32_t pos_ab[3] = {3, 1, 3};
    cr_assert_eq(nexttok_sessions_feed(dup, t, 3, NULL, 0), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(nexttok_error_message(), "sessions[0] and sessions[2] are the same"), "%s", nexttok_error_message());
    expect_untouched(dup, pos_ab, 3);

    nexttok_session *withfull[3] = {a, b, full};
    const int32_t pos_full[3] = {3, 1, 8};
    cr_assert_eq(nexttok_sessions_feed(withfull, t, 3, NULL, 0), NEXTTOK_ERR_CONTEXT_FULL);
    cr_assert(strstr(nexttok_error_message(), "sessions[2]"), "%s", nexttok_error_message());
    expect_untouched(withfull, pos_full, 3);
    cr_assert_eq(nexttok_session_logits_get(a, &la), NEXTTOK_OK);
    cr_assert(memcmp(la, before, V * sizeof *before) == 0, "a refused batch changed a session's logits");

    const int32_t bad[2] = {4, (int32_t)V};
    nexttok_session *ab[2] = {a, b};
    cr_assert_eq(nexttok_sessions_feed(ab, bad, 2, NULL, 0), NEXTTOK_ERR_TOKEN_RANGE);
    cr_assert(strstr(nexttok_error_message(), "sessions[1]"), "%s", nexttok_error_message());
    expect_untouched(ab, pos_ab, 2);

    nexttok_session *other = make_session(m2, &c, 16);
    nexttok_session *mixed_model[2] = {a, other};
    cr_assert_eq(nexttok_sessions_feed(mixed_model, t, 2, NULL, 0), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(nexttok_error_message(), "another model"), "%s", nexttok_error_message());

    const config f16 = {16, 0, 0, NEXTTOK_KV_F16};
    nexttok_session *h = make_session(m, &f16, 16);
    nexttok_session *mixed_kv[2] = {a, h};
    cr_assert_eq(nexttok_sessions_feed(mixed_kv, t, 2, NULL, 0), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(nexttok_error_message(), "kv_type"), "%s", nexttok_error_message());

    const config fast = {16, 0, NEXTTOK_PRECISION_FAST, 0};
    nexttok_session *q = make_session(m, &fast, 16);
    nexttok_session *mixed_prec[2] = {q, a};
    cr_assert_eq(nexttok_sessions_feed(mixed_prec, t, 2, NULL, 0), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(nexttok_error_message(), "precision"), "%s", nexttok_error_message());

    nexttok_session *with_null[2] = {a, NULL};
    cr_assert_eq(nexttok_sessions_feed(with_null, t, 2, NULL, 0), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(nexttok_error_message(), "sessions[1] is NULL"), "%s", nexttok_error_message());
    cr_assert_eq(nexttok_sessions_feed(NULL, t, 2, NULL, 0), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nexttok_sessions_feed(ab, NULL, 2, NULL, 0), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nexttok_sessions_feed(NULL, NULL, 0, NULL, 0), NEXTTOK_OK);
    expect_untouched(ab, pos_ab, 2);

    nexttok_session_free(a);
    nexttok_session_free(b);
    nexttok_session_free(full);
    nexttok_session_free(other);
    nexttok_session_free(h);
    nexttok_session_free(q);
    free(before);
    nexttok_model_free(m2);
    nexttok_model_free(m);
}

/* Forks of one prefix fed together: each one's pass writes into the page
 * it shares with the others first, so the batch must copy it before the
 * pass, and give each fork the bytes of a fresh session fed prefix+tokens. */
Test(batch, forks_of_one_prefix_are_bitwise_solo)
{
    nexttok_model *m = load_fixture("models/llama-tiny-f32.gguf");
    const config c = {64, 0, 0, 0};
    const size_t V = (size_t)nexttok_model_n_vocab_get(m);
    nexttok_session *src = make_session(m, &c, 64), *forks[4], *solo[4];
    prefill(m, src, 2);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(nexttok_session_fork(src, NULL, &forks[i]), NEXTTOK_OK, "%s", nexttok_error_message());
        solo[i] = make_session(m, &c, 64);
        prefill(m, solo[i], 2);
    }
    float *rows = malloc(4 * V * sizeof *rows);
    for (int k = 0; k < STEPS; k++) {
        int32_t t[4];
        for (int i = 0; i < 4; i++) t[i] = step_tok(m, i, k);
        cr_assert_eq(nexttok_sessions_feed(forks, t, 4, rows, 4 * V), NEXTTOK_OK, "%s", nexttok_error_message());
        for (int i = 0; i < 4; i++) {
            const float *want = NULL;
            cr_assert_eq(nexttok_session_feed(solo[i], &t[i], 1, NULL, 0), NEXTTOK_OK);
            cr_assert_eq(nexttok_session_logits_get(solo[i], &want), NEXTTOK_OK);
            cr_assert(memcmp(rows + (size_t)i * V, want, V * sizeof *rows) == 0, "fork %d, step %d", i, k);
        }
    }
    /* the source still continues as if no fork had been fed */
    const float *got = NULL, *want = NULL;
    nexttok_session *again = make_session(m, &c, 64);
    prefill(m, again, 2);
    int32_t t0 = step_tok(m, 7, 0);
    cr_assert_eq(nexttok_session_feed(src, &t0, 1, NULL, 0), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_feed(again, &t0, 1, NULL, 0), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_logits_get(src, &got), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_logits_get(again, &want), NEXTTOK_OK);
    cr_assert(memcmp(got, want, V * sizeof *got) == 0, "the source changed");
    free(rows);
    for (int i = 0; i < 4; i++) {
        nexttok_session_free(forks[i]);
        nexttok_session_free(solo[i]);
    }
    nexttok_session_free(again);
    nexttok_session_free(src);
    nexttok_model_free(m);
}

/* A full session that shifts its context makes room inside a batch as it
 * does alone. */
Test(batch, a_full_shifting_session_shifts_as_alone)
{
    nexttok_model *m = load_fixture("models/llama-tiny-f32.gguf");
    const size_t V = (size_t)nexttok_model_n_vocab_get(m);
    nexttok_session_params p;
    nexttok_session_params_init(&p, sizeof p);
    p.n_ctx = 24;
    p.n_threads = 1;
    p.context_full = NEXTTOK_CONTEXT_SHIFT;
    p.n_keep = 4;
    nexttok_session *a = NULL, *b = NULL, *other = NULL;
    cr_assert_eq(nexttok_session_create(m, &p, &a), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(nexttok_session_create(m, &p, &b), NEXTTOK_OK);
    const config c = {64, 0, 0, 0};
    other = make_session(m, &c, 64);
    int32_t t[24];
    for (int j = 0; j < 24; j++) t[j] = tok(m, 3, j);
    cr_assert_eq(nexttok_session_feed(a, t, 24, NULL, 0), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_feed(b, t, 24, NULL, 0), NEXTTOK_OK);
    prefill(m, other, 1);
    nexttok_session *batch[2] = {a, other};
    for (int k = 0; k < 4; k++) {
        int32_t bt[2] = {step_tok(m, 3, k), step_tok(m, 1, k)};
        cr_assert_eq(nexttok_sessions_feed(batch, bt, 2, NULL, 0), NEXTTOK_OK, "%s", nexttok_error_message());
        cr_assert_eq(nexttok_session_feed(b, &bt[0], 1, NULL, 0), NEXTTOK_OK, "%s", nexttok_error_message());
        const float *ga = NULL, *gb = NULL;
        cr_assert_eq(nexttok_session_logits_get(a, &ga), NEXTTOK_OK);
        cr_assert_eq(nexttok_session_logits_get(b, &gb), NEXTTOK_OK);
        cr_assert(memcmp(ga, gb, V * sizeof *ga) == 0, "step %d", k);
        cr_assert_eq(nexttok_session_position_get(a), nexttok_session_position_get(b));
    }
    nexttok_session_info ia = {.struct_size = sizeof ia};
    cr_assert_eq(nexttok_session_info_get(a, &ia), NEXTTOK_OK);
    cr_assert(ia.n_shifted > 0, "the batch never shifted");
    nexttok_session_free(a);
    nexttok_session_free(b);
    nexttok_session_free(other);
    nexttok_model_free(m);
}
