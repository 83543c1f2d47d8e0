/* Feeds under a time budget, a stop callback and cancel from another
 * thread: a feed stopped part-way and resumed gives the bytes of an
 * uninterrupted one, and a stopped session stands where it says. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexttok.h"
#include "support/fixtures.h"
#include "support/harness.h"
#include "support/tiny_model.h"
#include <unistd.h>

static nexttok_model *load_fixture(const char *rel)
{
    char path[4096];
    if (!nt_test_fixture_path(rel, path, sizeof path)) cr_skip_test(NT_SKIP_MSG);
    nexttok_model *m = NULL;
    cr_assert_eq(nexttok_model_load(path, NULL, &m), NEXTTOK_OK, "%s", nexttok_error_message());
    return m;
}

static nexttok_session *make_session(const nexttok_model *m, int32_t n_ctx, int32_t n_batch, int32_t precision)
{
    nexttok_session_params p;
    nexttok_session_params_init(&p, sizeof p);
    p.n_ctx = n_ctx;
    p.n_threads = 2;
    p.n_batch = n_batch;
    p.precision = precision;
    nexttok_session *s = NULL;
    cr_assert_eq(nexttok_session_create(m, &p, &s), NEXTTOK_OK, "%s", nexttok_error_message());
    return s;
}

#define N_TOK 40

static void make_tokens(const nexttok_model *m, int32_t *t, int n)
{
    for (int i = 0; i < n; i++) t[i] = (int32_t)((97 * i + 11) % nexttok_model_n_vocab_get(m));
}

/* A callback that stops the feed at every `every`-th poll. */
typedef struct every_n {
    int every, polls, stops;
} every_n;

static int stop_every(void *user)
{
    every_n *e = user;
    if (++e->polls % e->every) return 0;
    e->stops++;
    return 1;
}

/* A callback that stops the feed once it has been polled *user times. */
static int stop_at(void *user)
{
    int *left = user;
    return --*left <= 0;
}

/* Feed tokens in calls that each stop early (a budget of budget_ns, or
 * the callback), resuming each time with the rest; returns the calls made. */
static int feed_interrupted(nexttok_session *s, const int32_t *tokens, size_t n, float *rows, size_t V,
                            bool by_callback, int64_t budget_ns)
{
    nexttok_feed_params fp;
    nexttok_feed_params_init(&fp, sizeof fp);
    every_n e = {.every = 3};
    if (by_callback) {
        fp.check = stop_every;
        fp.user_data = &e;
    } else {
        fp.budget_ns = budget_ns;
    }
    int calls = 0;
    for (size_t done = 0; done < n;) {
        /* a negative budget: calls alternate between 1 ns and -budget_ns, so
         * parts are cut to other sizes than the stopped ones they resume */
        if (!by_callback && budget_ns < 0) fp.budget_ns = calls % 2 ? -budget_ns : 1;
        size_t used = 99999;
        const int32_t pos = nexttok_session_position_get(s);
        nexttok_status st = nexttok_session_feed_ex(s, tokens + done, n - done, rows ? rows + done * V : NULL,
                                                    rows ? (n - done) * V : 0, &fp, &used);
        calls++;
        cr_assert(calls < 1000000, "no progress");
        cr_assert_leq(used, n - done);
        cr_assert_eq(nexttok_session_position_get(s), pos + (int32_t)used, "position moved by other than consumed");
        done += used;
        if (st == NEXTTOK_OK) {
            cr_assert_eq(done, n);
            break;
        }
        cr_assert_eq(st, by_callback ? NEXTTOK_ERR_CANCELLED : NEXTTOK_ERR_DEADLINE, "%s", nexttok_error_message());
        cr_assert(strstr(nexttok_error_message(), by_callback ? "cancelled" : "time budget"), "%s",
                  nexttok_error_message());
    }
    return calls;
}

/* An uninterrupted feed of n_tok tokens (after 3) against one stopped
 * and resumed over and over, byte for byte. A budget_ns of -k alternates
 * calls of 1 ns with calls of 1/k of the time the uninterrupted feed took,
 * so the long calls stop part-way on a machine of any speed. */
static void check_resumed_in(nexttok_model *m, const char *rel, int32_t n_ctx, int32_t n_tok, int32_t n_batch,
                             int32_t precision, bool rows_wanted, bool by_callback, int64_t budget_ns)
{
    const size_t V = (size_t)nexttok_model_n_vocab_get(m);
    int32_t *tokens = malloc((size_t)n_tok * sizeof *tokens);
    float *want = malloc((size_t)n_tok * V * sizeof *want), *got = malloc((size_t)n_tok * V * sizeof *got);
    cr_assert(tokens && want && got);
    make_tokens(m, tokens, n_tok);

    nexttok_session *a = make_session(m, n_ctx, n_batch, precision);
    /* a few tokens first, so the budgeted feed starts mid-context */
    cr_assert_eq(nexttok_session_feed(a, tokens, 3, NULL, 0), NEXTTOK_OK);
    const int64_t t0 = nexttok_clock_ns();
    cr_assert_eq(nexttok_session_feed(a, tokens + 3, (size_t)n_tok - 3, rows_wanted ? want : NULL,
                                      rows_wanted ? (size_t)(n_tok - 3) * V : 0), NEXTTOK_OK);
    if (budget_ns < 0) {
        budget_ns = -((nexttok_clock_ns() - t0) / -budget_ns);
        if (budget_ns > -2) budget_ns = -2;
    }
    const float *la = NULL, *lb = NULL;
    cr_assert_eq(nexttok_session_logits_get(a, &la), NEXTTOK_OK);

    nexttok_session *b = make_session(m, n_ctx, n_batch, precision);
    cr_assert_eq(nexttok_session_feed(b, tokens, 3, NULL, 0), NEXTTOK_OK);
    const int calls = feed_interrupted(b, tokens + 3, (size_t)n_tok - 3, rows_wanted ? got : NULL, V, by_callback,
                                       budget_ns);
    cr_assert_gt(calls, 2, "%s: the feed was never interrupted", rel);
    cr_assert_eq(nexttok_session_logits_get(b, &lb), NEXTTOK_OK);
    cr_assert(memcmp(la, lb, V * sizeof *la) == 0, "%s: last logits of the resumed feed differ", rel);
    if (rows_wanted)
        cr_assert(memcmp(want, got, (size_t)(n_tok - 3) * V * sizeof *want) == 0, "%s: rows of the resumed feed differ",
                  rel);

    /* and the session goes on as the uninterrupted one */
    const int32_t next = tokens[7];
    cr_assert_eq(nexttok_session_feed(a, &next, 1, NULL, 0), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_feed(b, &next, 1, NULL, 0), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_logits_get(a, &la), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_logits_get(b, &lb), NEXTTOK_OK);
    cr_assert(memcmp(la, lb, V * sizeof *la) == 0, "%s: the next token after a resumed feed differs", rel);
    nexttok_session_free(a);
    nexttok_session_free(b);
    free(want);
    free(got);
    free(tokens);
}

static void check_resumed(const char *rel, int32_t n_batch, int32_t precision, bool rows_wanted, bool by_callback)
{
    nexttok_model *m = load_fixture(rel);
    check_resumed_in(m, rel, 64, N_TOK, n_batch, precision, rows_wanted, by_callback, 1);
    nexttok_model_free(m);
}

/* A model wide enough that products split into many chunks of rows, and a
 * context long enough for several blocks of tokens per product: stops
 * land inside products and between their blocks. */
static void check_wide_arch(const char *arch, uint32_t type, int64_t budget_ns, bool rows_wanted, int32_t precision)
{
    nt_tiny_spec sp = nt_tiny_spec_default(arch);
    sp.weight_type = type;
    sp.round_to = type == 1 ? 1 : 0; /* F16 values, else F32 (then quantized) */
    sp.n_vocab = 2048;
    sp.n_embd = 256;
    sp.n_head = 4;
    sp.n_head_kv = strcmp(arch, "gpt2") ? 2 : 4;
    sp.n_ff = 1024;
    sp.n_ctx = 320;
    char *path = nt_tiny_model_file(&sp);
    cr_assert(path);
    nexttok_model *m = NULL;
    cr_assert_eq(nexttok_model_load(path, NULL, &m), NEXTTOK_OK, "%s", nexttok_error_message());
    check_resumed_in(m, arch, 320, 300, 0, precision, rows_wanted, false, budget_ns);
    nexttok_model_free(m);
    unlink(path);
    free(path);
}

static void check_wide(uint32_t type, int64_t budget_ns, bool rows_wanted, int32_t precision)
{
    check_wide_arch("llama", type, budget_ns, rows_wanted, precision);
}

/* A whole chunk (no deadline: one pass of 297 tokens) stopped by the
 * callback, then resumed under deadlines: the resumed pass keeps its size
 * and its products go in blocks of tokens, stops landing between and
 * inside them. */
static void check_wide_resumed_by_budget(uint32_t type, int32_t precision)
{
    nt_tiny_spec sp = nt_tiny_spec_default("llama");
    sp.weight_type = type;
    sp.round_to = 0;
    sp.n_vocab = 2048;
    sp.n_embd = 256;
    sp.n_head = 4;
    sp.n_head_kv = 2;
    sp.n_ff = 1024;
    sp.n_ctx = 320;
    char *path = nt_tiny_model_file(&sp);
    cr_assert(path);
    nexttok_model *m = NULL;
    cr_assert_eq(nexttok_model_load(path, NULL, &m), NEXTTOK_OK, "%s", nexttok_error_message());
    const size_t V = (size_t)nexttok_model_n_vocab_get(m);
    const int32_t n = 300;
    int32_t *tokens = malloc((size_t)n * sizeof *tokens);
    float *want = malloc((size_t)n * V * sizeof *want), *got = malloc((size_t)n * V * sizeof *got);
    cr_assert(tokens && want && got);
    make_tokens(m, tokens, n);
    nexttok_session *a = make_session(m, 320, 0, precision), *b = make_session(m, 320, 0, precision);
    cr_assert_eq(nexttok_session_feed(a, tokens, (size_t)n, want, (size_t)n * V), NEXTTOK_OK);
    nexttok_feed_params fp;
    nexttok_feed_params_init(&fp, sizeof fp);
    int left = 30;
    fp.check = stop_at;
    fp.user_data = &left;
    size_t used = 1;
    cr_assert_eq(nexttok_session_feed_ex(b, tokens, (size_t)n, got, (size_t)n * V, &fp, &used), NEXTTOK_ERR_CANCELLED);
    cr_assert_eq(used, 0);
    nexttok_feed_params_init(&fp, sizeof fp);
    fp.budget_ns = 1;
    int calls = 0;
    nexttok_status st;
    while ((st = nexttok_session_feed_ex(b, tokens, (size_t)n, got, (size_t)n * V, &fp, &used)) == NEXTTOK_ERR_DEADLINE) {
        cr_assert_eq(used, 0, "the resumed pass changed its size");
        cr_assert(++calls < 1000000, "no progress");
    }
    cr_assert_eq(st, NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(used, (size_t)n);
    cr_assert_gt(calls, 10);
    cr_assert(memcmp(want, got, (size_t)n * V * sizeof *want) == 0, "the resumed whole chunk differs");
    nexttok_session_free(a);
    nexttok_session_free(b);
    free(tokens);
    free(want);
    free(got);
    nexttok_model_free(m);
    unlink(path);
    free(path);
}

Test(budget, whole_chunk_resumed_under_deadlines_f32) { check_wide_resumed_by_budget(0, 0); }
Test(budget, whole_chunk_resumed_under_deadlines_q4_0_fast)
{
    check_wide_resumed_by_budget(2, NEXTTOK_PRECISION_FAST);
}

/* ggml type ids: F32 0, F16 1, Q4_0 2, Q8_0 8 */
Test(budget, resumed_wide_prefill_is_bitwise_f32) { check_wide(0, 1, false, 0); }
Test(budget, resumed_wide_prefill_is_bitwise_f16_rows) { check_wide(1, 1, true, 0); }
Test(budget, resumed_wide_prefill_is_bitwise_q4_0_fast) { check_wide(2, 1, true, NEXTTOK_PRECISION_FAST); }
Test(budget, resumed_wide_prefill_is_bitwise_q8_0_fast) { check_wide(8, 1, false, NEXTTOK_PRECISION_FAST); }
Test(budget, resumed_wide_prefill_under_real_budgets) { check_wide(0, 200000, true, 0); }
/* The row steps (norms, RoPE, the gated units, residuals) go in parts of
 * tokens or of the pooled activations' chunks: 128 tokens x 1024 wide is
 * many parts, and a budget of 1 ns stops after each. GPT-2 adds its biases
 * and GELU by parts of elements, Gemma 2 its post-norms and soft-caps. */
Test(budget, resumed_wide_prefill_is_bitwise_gpt2_parts) { check_wide_arch("gpt2", 0, 1, true, 0); }
Test(budget, resumed_wide_prefill_is_bitwise_gemma2_parts) { check_wide_arch("gemma2", 0, 1, true, 0); }
/* Calls of other budgets than the one that stopped a product (1 ns, then
 * an eighth of the whole feed's time): parts are sized from each call's
 * budget and the rate products ran at, and a stopped block resumes in the
 * shape it was cut in. */
Test(budget, resumed_wide_prefill_with_changing_budgets_f32) { check_wide(0, -8, true, 0); }
Test(budget, resumed_wide_prefill_with_changing_budgets_q4_0_fast)
{
    check_wide(2, -8, false, NEXTTOK_PRECISION_FAST);
}

Test(budget, resumed_prefill_is_bitwise_gpt2) { check_resumed("models/gpt2-tiny-f32.gguf", 0, 0, true, false); }
Test(budget, resumed_prefill_is_bitwise_llama) { check_resumed("models/llama-tiny-f32.gguf", 0, 0, true, false); }
Test(budget, resumed_prefill_is_bitwise_llama_last_row)
{
    check_resumed("models/llama-tiny-f32.gguf", 0, 0, false, false);
}
Test(budget, resumed_prefill_is_bitwise_q4_0_fast)
{
    check_resumed("models/llama-q-Q4_0.gguf", 0, NEXTTOK_PRECISION_FAST, true, false);
}
Test(budget, resumed_prefill_is_bitwise_q4_k_fast_chunks)
{
    check_resumed("models/llama-q-Q4_K_M.gguf", 8, NEXTTOK_PRECISION_FAST, false, false);
}
Test(budget, resumed_prefill_is_bitwise_gemma2_window)
{
    check_resumed("arch/gemma2.gguf", 8, 0, true, false);
}
Test(budget, callback_stop_resumes_bitwise) { check_resumed("models/llama-tiny-f32.gguf", 16, 0, true, true); }

/* A half-done chunk that another call replaces is dropped: the results
 * stay those of an uninterrupted feed. */
Test(budget, other_calls_drop_a_stopped_chunk)
{
    nexttok_model *m = load_fixture("models/llama-tiny-f32.gguf");
    const size_t V = (size_t)nexttok_model_n_vocab_get(m);
    int32_t tokens[N_TOK];
    make_tokens(m, tokens, N_TOK);
    nexttok_session *a = make_session(m, 64, 0, 0), *b = make_session(m, 64, 0, 0);
    cr_assert_eq(nexttok_session_feed(a, tokens, N_TOK, NULL, 0), NEXTTOK_OK);
    nexttok_feed_params fp;
    nexttok_feed_params_init(&fp, sizeof fp);
    fp.budget_ns = 1;
    size_t used = 1;
    /* stopped part-way, then other tokens: the stopped chunk is dropped */
    cr_assert_eq(nexttok_session_feed_ex(b, tokens + 1, N_TOK - 1, NULL, 0, &fp, &used), NEXTTOK_ERR_DEADLINE);
    cr_assert_eq(used, 0);
    cr_assert_eq(nexttok_session_position_get(b), 0);
    cr_assert_eq(nexttok_session_feed(b, tokens, N_TOK, NULL, 0), NEXTTOK_OK);
    const float *la = NULL, *lb = NULL;
    cr_assert_eq(nexttok_session_logits_get(a, &la), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_logits_get(b, &lb), NEXTTOK_OK);
    cr_assert(memcmp(la, lb, V * sizeof *la) == 0, "a dropped chunk changed the results");
    /* stopped part-way, then a rewind: the logits are those after the rewind */
    cr_assert_eq(nexttok_session_feed_ex(b, tokens, 5, NULL, 0, &fp, &used), NEXTTOK_ERR_DEADLINE);
    cr_assert_eq(nexttok_session_rewind(b, 20), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_feed(b, tokens + 20, N_TOK - 20, NULL, 0), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_logits_get(b, &lb), NEXTTOK_OK);
    cr_assert(memcmp(la, lb, V * sizeof *la) == 0, "a rewind after a stopped chunk changed the results");
    nexttok_session_free(a);
    nexttok_session_free(b);
    nexttok_model_free(m);
}

/* A chunk stopped part-way has written some K/V rows past the position;
 * in a sliding window's ring they replace rows of earlier positions, which
 * a rewind must then not count on. */

Test(budget, rewind_after_a_stopped_chunk_in_a_ring)
{
    nexttok_model *m = load_fixture("arch/gemma2.gguf"); /* window 8 on even layers */
    const size_t V = (size_t)nexttok_model_n_vocab_get(m);
    int32_t tokens[N_TOK];
    make_tokens(m, tokens, N_TOK);
    nexttok_session *a = make_session(m, 64, 8, 0);
    cr_assert_eq(nexttok_session_feed(a, tokens, 30, NULL, 0), NEXTTOK_OK);
    const float *la = NULL, *lb = NULL;
    cr_assert_eq(nexttok_session_logits_get(a, &la), NEXTTOK_OK);
    for (int polls = 1; polls < 60; polls += 3) {
        nexttok_session *b = make_session(m, 64, 8, 0);
        cr_assert_eq(nexttok_session_feed(b, tokens, 30, NULL, 0), NEXTTOK_OK);
        nexttok_feed_params fp;
        nexttok_feed_params_init(&fp, sizeof fp);
        int left = polls;
        fp.check = stop_at;
        fp.user_data = &left;
        size_t used = 9;
        const nexttok_status st = nexttok_session_feed_ex(b, tokens + 30, 8, NULL, 0, &fp, &used);
        cr_assert(st == NEXTTOK_ERR_CANCELLED || st == NEXTTOK_OK, "%s", nexttok_error_message());
        /* another token drops the stopped chunk; then back to 25 and on to 30 */
        const int32_t other = tokens[3];
        cr_assert_eq(nexttok_session_feed(b, &other, 1, NULL, 0), NEXTTOK_OK);
        cr_assert_eq(nexttok_session_rewind(b, 25), NEXTTOK_OK);
        cr_assert_eq(nexttok_session_feed(b, tokens + 25, 5, NULL, 0), NEXTTOK_OK);
        cr_assert_eq(nexttok_session_logits_get(b, &lb), NEXTTOK_OK);
        cr_assert(memcmp(la, lb, V * sizeof *la) == 0, "stopped after %d polls: the rewound ring differs", polls);
        nexttok_session_free(b);
    }
    nexttok_session_free(a);
    nexttok_model_free(m);
}

Test(budget, checks_its_arguments)
{
    nexttok_model *m = load_fixture("models/llama-tiny-f32.gguf");
    nexttok_session *s = make_session(m, 16, 0, 0);
    const int32_t t[2] = {1, 2};
    nexttok_feed_params fp;
    nexttok_feed_params_init(&fp, sizeof fp);
    fp.budget_ns = -1;
    size_t used = 7;
    cr_assert_eq(nexttok_session_feed_ex(s, t, 2, NULL, 0, &fp, &used), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(nexttok_error_message(), "negative"), "%s", nexttok_error_message());
    cr_assert_eq(used, 0);
    fp.budget_ns = 0;
    fp.struct_size = 3;
    cr_assert_eq(nexttok_session_feed_ex(s, t, 2, NULL, 0, &fp, &used), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nexttok_session_feed_ex(NULL, t, 2, NULL, 0, NULL, &used), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nexttok_session_cancel(NULL), NEXTTOK_ERR_INVALID_ARGUMENT);
    /* no limits: a plain feed, consumed all */
    cr_assert_eq(nexttok_session_feed_ex(s, t, 2, NULL, 0, NULL, &used), NEXTTOK_OK);
    cr_assert_eq(used, 2);
    /* a deadline already past still makes progress, part by part */
    fp.struct_size = sizeof fp;
    fp.deadline_ns = nexttok_clock_ns() - 1000000;
    cr_assert_eq(nexttok_session_feed_ex(s, t, 1, NULL, 0, &fp, &used), NEXTTOK_ERR_DEADLINE);
    cr_assert_gt(nexttok_clock_ns(), 0);
    nexttok_session_free(s);
    nexttok_model_free(m);
}

/* ---- cancel from another thread ---------------------------------------------- */

typedef struct cancel_job {
    nexttok_session *s;
    atomic_int feed_running, cancelled;
} cancel_job;

static void *canceller(void *arg)
{
    cancel_job *j = arg;
    while (!atomic_load(&j->feed_running)) sched_yield();
    cr_assert_eq(nexttok_session_cancel(j->s), NEXTTOK_OK);
    atomic_store(&j->cancelled, 1);
    return NULL;
}

/* The first poll says the feed runs, then waits until the other thread
 * has cancelled: the stop is then certain, not a race. */
static int wait_for_cancel(void *user)
{
    cancel_job *j = user;
    atomic_store(&j->feed_running, 1);
    while (!atomic_load(&j->cancelled)) sched_yield();
    return 0;
}

Test(budget, cancel_from_another_thread_stops_and_resumes)
{
    nexttok_model *m = load_fixture("models/llama-tiny-f32.gguf");
    const size_t V = (size_t)nexttok_model_n_vocab_get(m);
    int32_t tokens[N_TOK];
    make_tokens(m, tokens, N_TOK);
    nexttok_session *a = make_session(m, 64, 8, 0), *b = make_session(m, 64, 8, 0);
    cr_assert_eq(nexttok_session_feed(a, tokens, N_TOK, NULL, 0), NEXTTOK_OK);

    cancel_job j = {.s = b};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, canceller, &j), 0);
    nexttok_feed_params fp;
    nexttok_feed_params_init(&fp, sizeof fp);
    fp.check = wait_for_cancel;
    fp.user_data = &j;
    size_t used = 99;
    nexttok_status st = nexttok_session_feed_ex(b, tokens, N_TOK, NULL, 0, &fp, &used);
    pthread_join(th, NULL);
    cr_assert_eq(st, NEXTTOK_ERR_CANCELLED, "%s", nexttok_error_message());
    cr_assert_lt(used, (size_t)N_TOK);
    cr_assert_eq(nexttok_session_position_get(b), (int32_t)used);
    /* the request is spent: the rest feeds to the end, as if never stopped */
    cr_assert_eq(nexttok_session_feed(b, tokens + used, N_TOK - used, NULL, 0), NEXTTOK_OK);
    const float *la = NULL, *lb = NULL;
    cr_assert_eq(nexttok_session_logits_get(a, &la), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_logits_get(b, &lb), NEXTTOK_OK);
    cr_assert(memcmp(la, lb, V * sizeof *la) == 0, "a cancelled and resumed feed differs");

    /* a cancel while no feed runs stops the next one at its start */
    cr_assert_eq(nexttok_session_rewind(b, 10), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_cancel(b), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_feed_ex(b, tokens + 10, 5, NULL, 0, NULL, &used), NEXTTOK_ERR_CANCELLED);
    cr_assert_eq(used, 0);
    cr_assert_eq(nexttok_session_position_get(b), 10);
    cr_assert_eq(nexttok_session_feed(b, tokens + 10, N_TOK - 10, NULL, 0), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_logits_get(b, &lb), NEXTTOK_OK);
    cr_assert(memcmp(la, lb, V * sizeof *la) == 0, "a feed after a spent cancel differs");
    nexttok_session_free(a);
    nexttok_session_free(b);
    nexttok_model_free(m);
}

typedef struct racer {
    nexttok_session *s;
    atomic_int stop;
} racer;

static void *cancel_often(void *arg)
{
    racer *r = arg;
    while (!atomic_load(&r->stop)) {
        nexttok_session_cancel(r->s);
        for (int i = 0; i < 2000; i++) sched_yield();
    }
    return NULL;
}

/* Cancels at any moment, on a thread of their own: every feed ends OK or
 * cancelled at a consumed count, and the session ends where an
 * uninterrupted one does. */
Test(budget, cancels_at_random_moments_keep_results)
{
    nexttok_model *m = load_fixture("models/llama-tiny-f32.gguf");
    const size_t V = (size_t)nexttok_model_n_vocab_get(m);
    int32_t tokens[N_TOK];
    make_tokens(m, tokens, N_TOK);
    nexttok_session *a = make_session(m, 64, 4, 0), *b = make_session(m, 64, 4, 0);
    cr_assert_eq(nexttok_session_feed(a, tokens, N_TOK, NULL, 0), NEXTTOK_OK);
    racer r = {.s = b};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, cancel_often, &r), 0);
    size_t done = 0;
    for (int calls = 0; done < N_TOK; calls++) {
        cr_assert(calls < 1000000, "no progress under cancels");
        size_t used = 0;
        nexttok_status st = nexttok_session_feed_ex(b, tokens + done, N_TOK - done, NULL, 0, NULL, &used);
        cr_assert(st == NEXTTOK_OK || st == NEXTTOK_ERR_CANCELLED, "%s", nexttok_error_message());
        done += used;
        cr_assert_eq(nexttok_session_position_get(b), (int32_t)done);
        if (calls > 200) atomic_store(&r.stop, 1); /* let it finish */
    }
    atomic_store(&r.stop, 1);
    pthread_join(th, NULL);
    const float *la = NULL, *lb = NULL;
    cr_assert_eq(nexttok_session_logits_get(a, &la), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_logits_get(b, &lb), NEXTTOK_OK);
    cr_assert(memcmp(la, lb, V * sizeof *la) == 0, "feeds cancelled at random moments differ");
    nexttok_session_free(a);
    nexttok_session_free(b);
    nexttok_model_free(m);
}
