/* Session behaviour on the fixture models: batching, rewind, limits,
 * probabilities, top-k, sampling, and sessions on several threads. */
#include <math.h>
#include <stddef.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "nexttok.h"
#include "support/harness.h"
#include "support/fixtures.h"
#include "support/sessions.h"

static const int32_t prompt[] = {1, 403, 261, 300, 265, 270, 289, 261, 301, 356, 290, 270,
                                 264, 418, 300, 295, 301, 266, 340, 262, 304, 313, 299, 282,
                                 271, 263, 281, 260, 264, 301, 333, 460, 350, 376, 275, 299,
                                 291, 278, 310, 262};
#define N_PROMPT ((int32_t)(sizeof prompt / sizeof prompt[0]))

static void assert_rows_close(const float *a, const float *b, int32_t n, const char *what)
{
    for (int32_t i = 0; i < n; i++)
        cr_assert(fabsf(a[i] - b[i]) <= 1e-5f * fmaxf(1.0f, fabsf(b[i])), "%s: logit %d: %.8g vs %.8g",
                  what, i, (double)a[i], (double)b[i]);
}

/* Feeding all tokens at once (several batches) equals feeding one by one. */
static void batched_equals_stepwise(const char *rel)
{
    nexttok_model *m = nt_test_model_load(rel);
    const int32_t V = nexttok_model_n_vocab_get(m);
    int32_t toks[N_PROMPT];
    for (int32_t i = 0; i < N_PROMPT; i++) toks[i] = prompt[i] % V;
    nexttok_session *a = nt_test_session_new(m, 64, 0), *b = nt_test_session_new(m, 64, 0);
    float *rows = malloc((size_t)N_PROMPT * V * sizeof *rows);
    cr_assert_eq(nexttok_session_feed(a, toks, N_PROMPT, rows, (size_t)N_PROMPT * V), NEXTTOK_OK, "%s", nexttok_error_message());
    for (int32_t i = 0; i < N_PROMPT; i++) {
        const float *lg;
        cr_assert_eq(nexttok_session_feed(b, &toks[i], 1, NULL, 0), NEXTTOK_OK);
        cr_assert_eq(nexttok_session_logits_get(b, &lg), NEXTTOK_OK);
        assert_rows_close(rows + (size_t)i * V, lg, V, rel);
    }
    const float *la;
    cr_assert_eq(nexttok_session_logits_get(a, &la), NEXTTOK_OK);
    assert_rows_close(la, rows + (size_t)(N_PROMPT - 1) * V, V, "last row");
    cr_assert_eq(nexttok_session_position_get(a), N_PROMPT);
    free(rows);
    nexttok_session_free(a);
    nexttok_session_free(b);
    nexttok_model_free(m);
}

Test(session, batched_equals_stepwise_llama) { batched_equals_stepwise("models/aidreams260K.gguf"); }
Test(session, batched_equals_stepwise_gpt2) { batched_equals_stepwise("models/gpt2-tiny-f32.gguf"); }

Test(session, rewind_then_refeed_equals_fresh_run)
{
    nexttok_model *m = nt_test_model_load("models/aidreams260K.gguf");
    const int32_t V = nexttok_model_n_vocab_get(m);
    nexttok_session *s = nt_test_session_new(m, 0, 0), *fresh = nt_test_session_new(m, 0, 0);
    cr_assert_eq(nexttok_session_n_ctx_get(s), nexttok_model_n_ctx_train_get(m));
    cr_assert_eq(nexttok_session_feed(s, prompt, N_PROMPT, NULL, 0), NEXTTOK_OK);

    /* Rewind to 10: the logits are those after token 9 again. */
    cr_assert_eq(nexttok_session_rewind(s, 10), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(nexttok_session_position_get(s), 10);
    cr_assert_eq(nexttok_session_feed(fresh, prompt, 10, NULL, 0), NEXTTOK_OK);
    const float *ls, *lf;
    cr_assert_eq(nexttok_session_logits_get(s, &ls), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_logits_get(fresh, &lf), NEXTTOK_OK);
    assert_rows_close(ls, lf, V, "after rewind");

    /* Different continuation after the rewind equals a fresh run of it. */
    const int32_t other[] = {5, 77, 300, 411, 12};
    cr_assert_eq(nexttok_session_feed(s, other, 5, NULL, 0), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_feed(fresh, other, 5, NULL, 0), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_logits_get(s, &ls), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_logits_get(fresh, &lf), NEXTTOK_OK);
    assert_rows_close(ls, lf, V, "refeed after rewind");

    cr_assert_eq(nexttok_session_rewind(s, 16), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nexttok_session_rewind(s, -1), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nexttok_session_reset(s), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_position_get(s), 0);
    cr_assert_eq(nexttok_session_logits_get(s, &ls), NEXTTOK_ERR_STATE);
    nexttok_session_free(s);
    nexttok_session_free(fresh);
    nexttok_model_free(m);
}

Test(session, context_full_leaves_session_usable)
{
    nexttok_model *m = nt_test_model_load("models/aidreams260K.gguf");
    const int32_t V = nexttok_model_n_vocab_get(m);
    nexttok_session *s = nt_test_session_new(m, 8, 0);
    cr_assert_eq(nexttok_session_feed(s, prompt, 6, NULL, 0), NEXTTOK_OK);
    const float *lg;
    cr_assert_eq(nexttok_session_logits_get(s, &lg), NEXTTOK_OK);
    float *before = malloc((size_t)V * sizeof *before);
    memcpy(before, lg, (size_t)V * sizeof *before);

    cr_assert_eq(nexttok_session_feed(s, prompt + 6, 3, NULL, 0), NEXTTOK_ERR_CONTEXT_FULL);
    cr_assert(strstr(nexttok_error_message(), "context full") != NULL, "%s", nexttok_error_message());
    cr_assert_eq(nexttok_session_position_get(s), 6);
    cr_assert_eq(nexttok_session_logits_get(s, &lg), NEXTTOK_OK);
    cr_assert_arr_eq(lg, before, (size_t)V * sizeof *before);

    cr_assert_eq(nexttok_session_feed(s, prompt + 6, 2, NULL, 0), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_position_get(s), 8);
    cr_assert_eq(nexttok_session_feed(s, prompt, 1, NULL, 0), NEXTTOK_ERR_CONTEXT_FULL);
    free(before);
    nexttok_session_free(s);
    nexttok_model_free(m);
}

/* A logits buffer one float short of the rows is refused before anything
 * is fed; one of exactly the rows' size is filled as a larger one is. */
Test(session, feed_checks_the_logits_capacity)
{
    nexttok_model *m = nt_test_model_load("models/aidreams260K.gguf");
    const size_t V = (size_t)nexttok_model_n_vocab_get(m);
    nexttok_session *s = nt_test_session_new(m, 16, 0);
    float *rows = malloc((3 * V + 1) * sizeof *rows), *wide = malloc((3 * V + 1) * sizeof *wide);
    cr_assert(rows && wide);
    cr_assert_eq(nexttok_session_feed(s, prompt, 3, rows, 3 * V - 1), NEXTTOK_ERR_BUFFER_TOO_SMALL);
    cr_assert(strstr(nexttok_error_message(), "logits_out") != NULL, "%s", nexttok_error_message());
    cr_assert_eq(nexttok_session_position_get(s), 0, "a refused feed feeds nothing");
    const float *last = NULL;
    cr_assert_eq(nexttok_session_logits_get(s, &last), NEXTTOK_ERR_STATE);
    cr_assert_eq(nexttok_session_feed(s, prompt, 3, NULL, 5), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nexttok_session_position_get(s), 0);

    cr_assert_eq(nexttok_session_feed(s, prompt, 3, rows, 3 * V), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(nexttok_session_reset(s), NEXTTOK_OK);
    wide[3 * V] = 12345.0f;
    cr_assert_eq(nexttok_session_feed(s, prompt, 3, wide, 3 * V + 1), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert(memcmp(rows, wide, 3 * V * sizeof *rows) == 0, "the same rows whatever the capacity");
    cr_assert_eq(wide[3 * V], 12345.0f, "nothing written past the rows");
    free(rows);
    free(wide);
    nexttok_session_free(s);
    nexttok_model_free(m);
}

Test(session, bad_tokens_and_arguments_are_rejected)
{
    nexttok_model *m = nt_test_model_load("models/aidreams260K.gguf");
    const int32_t V = nexttok_model_n_vocab_get(m);
    nexttok_session *s = nt_test_session_new(m, 16, 0);
    const int32_t bad[] = {1, 2, V};
    cr_assert_eq(nexttok_session_feed(s, bad, 3, NULL, 0), NEXTTOK_ERR_TOKEN_RANGE);
    cr_assert(strstr(nexttok_error_message(), "index 2") != NULL, "%s", nexttok_error_message());
    cr_assert_eq(nexttok_session_position_get(s), 0);
    const int32_t neg = -1;
    cr_assert_eq(nexttok_session_feed(s, &neg, 1, NULL, 0), NEXTTOK_ERR_TOKEN_RANGE);
    cr_assert_eq(nexttok_session_feed(NULL, prompt, 1, NULL, 0), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nexttok_session_feed(s, NULL, 1, NULL, 0), NEXTTOK_ERR_INVALID_ARGUMENT);

    nexttok_session_params p;
    nexttok_session_params_init(&p, sizeof p);
    p.n_ctx = nexttok_model_n_ctx_train_get(m) + 1;
    nexttok_session *t = (nexttok_session *)1;
    cr_assert_eq(nexttok_session_create(m, &p, &t), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_null(t);
    p.n_ctx = 0;
    p.struct_size = 0;
    cr_assert_eq(nexttok_session_create(m, &p, &t), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(nexttok_error_message(), "struct_size") != NULL, "%s", nexttok_error_message());

    /* A newer caller's longer struct: accepted while the fields this
     * library does not know are zero, refused once one is set. */
    struct {
        nexttok_session_params known;
        int64_t newer_field;
    } longer;
    nexttok_session_params_init(&longer.known, sizeof longer);
    cr_assert_eq(longer.known.struct_size, sizeof longer);
    cr_assert_eq(longer.newer_field, 0);
    longer.known.n_ctx = 10;
    cr_assert_eq(nexttok_session_create(m, &longer.known, &t), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(nexttok_session_n_ctx_get(t), 10);
    nexttok_session_free(t);
    longer.newer_field = 7;
    cr_assert_eq(nexttok_session_create(m, &longer.known, &t), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(nexttok_error_message(), "beyond") != NULL, "%s", nexttok_error_message());

    /* An older caller's shorter struct: the fields it lacks keep their
     * defaults, whatever lies beyond its size. */
    p.struct_size = offsetof(nexttok_session_params, n_threads);
    p.n_ctx = 12;
    p.n_threads = -5;
    cr_assert_eq(nexttok_session_create(m, &p, &t), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(nexttok_session_n_ctx_get(t), 12);
    nexttok_session_free(t);
    nexttok_session_free(s);
    nexttok_model_free(m);
}

Test(session, probabilities_and_top_k)
{
    nexttok_model *m = nt_test_model_load("models/aidreams260K.gguf");
    const int32_t V = nexttok_model_n_vocab_get(m);
    nexttok_session *s = nt_test_session_new(m, 32, 0);
    float *probs = malloc((size_t)V * sizeof *probs);
    cr_assert_eq(nexttok_session_probs_get(s, 1.0f, probs, (size_t)V), NEXTTOK_ERR_STATE);
    cr_assert_eq(nexttok_session_feed(s, prompt, 12, NULL, 0), NEXTTOK_OK);
    const float *lg;
    cr_assert_eq(nexttok_session_logits_get(s, &lg), NEXTTOK_OK);

    for (int ti = 0; ti < 3; ti++) {
        const float temp = (float[]){1.0f, 0.5f, 2.0f}[ti];
        cr_assert_eq(nexttok_session_probs_get(s, temp, probs, (size_t)V), NEXTTOK_OK);
        double sum = 0, max_logit = -INFINITY;
        for (int32_t i = 0; i < V; i++) {
            sum += probs[i];
            if (lg[i] > max_logit) max_logit = lg[i];
        }
        cr_assert(fabs(sum - 1.0) < 1e-5, "sum %g", sum);
        /* Independent check of the softmax on three tokens. */
        double z = 0;
        for (int32_t i = 0; i < V; i++) z += exp((lg[i] - max_logit) / temp);
        for (int32_t i = 0; i < 3; i++) {
            double want = exp((lg[i] - max_logit) / temp) / z;
            cr_assert(fabs(probs[i] - want) <= 1e-6 * fmax(want, 1e-30) + 1e-12, "p[%d]=%g want %g", i, (double)probs[i], want);
        }

        nexttok_token_prob top[10];
        size_t n_top = 0;
        cr_assert_eq(nexttok_session_topk_get(s, temp, 10, top, &n_top), NEXTTOK_OK);
        cr_assert_eq(n_top, 10);
        for (size_t i = 0; i < n_top; i++) {
            cr_assert_float_eq(top[i].prob, probs[top[i].id], 1e-9);
            if (i) cr_assert(top[i - 1].prob >= top[i].prob);
        }
        /* Nothing outside the top 10 beats the 10th. */
        int beaten = 0;
        for (int32_t i = 0; i < V; i++) beaten += probs[i] > top[9].prob;
        cr_assert_leq(beaten, 9);
    }
    /* Temperature 0: one-hot on the arg-max. */
    cr_assert_eq(nexttok_session_probs_get(s, 0.0f, probs, (size_t)V), NEXTTOK_OK);
    int32_t best = 0;
    for (int32_t i = 1; i < V; i++) if (lg[i] > lg[best]) best = i;
    cr_assert_eq(probs[best], 1.0f);
    cr_assert_eq(nexttok_session_probs_get(s, -1.0f, probs, (size_t)V), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nexttok_session_probs_get(s, NAN, probs, (size_t)V), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nexttok_session_probs_get(s, 1.0f, probs, (size_t)V - 1), NEXTTOK_ERR_BUFFER_TOO_SMALL);
    nexttok_token_prob all[600];
    size_t n_all;
    cr_assert_eq(nexttok_session_topk_get(s, 1.0f, 600, all, &n_all), NEXTTOK_OK);
    cr_assert_eq(n_all, (size_t)V);
    free(probs);
    nexttok_session_free(s);
    nexttok_model_free(m);
}

Test(session, sampler_is_reproducible_and_greedy_at_zero)
{
    nexttok_model *m = nt_test_model_load("models/aidreams260K.gguf");
    const int32_t V = nexttok_model_n_vocab_get(m);
    nexttok_session *s = nt_test_session_new(m, 32, 0);
    cr_assert_eq(nexttok_session_feed(s, prompt, 8, NULL, 0), NEXTTOK_OK);
    const float *lg;
    cr_assert_eq(nexttok_session_logits_get(s, &lg), NEXTTOK_OK);
    int32_t best = 0;
    for (int32_t i = 1; i < V; i++) if (lg[i] > lg[best]) best = i;

    nexttok_sampler_params p;
    nexttok_sampler_params_init(&p, sizeof p);
    p.temperature = 0.0f;
    nexttok_sampler *greedy, *a, *b, *k1;
    cr_assert_eq(nexttok_sampler_create(&p, &greedy), NEXTTOK_OK);
    p.temperature = 1.0f;
    p.seed = 42;
    cr_assert_eq(nexttok_sampler_create(&p, &a), NEXTTOK_OK);
    cr_assert_eq(nexttok_sampler_create(&p, &b), NEXTTOK_OK);
    p.top_k = 1;
    cr_assert_eq(nexttok_sampler_create(&p, &k1), NEXTTOK_OK);
    int differs_from_greedy = 0;
    for (int i = 0; i < 50; i++) {
        int32_t tg, ta, tb, tk;
        cr_assert_eq(nexttok_sampler_sample(greedy, s, &tg), NEXTTOK_OK);
        cr_assert_eq(nexttok_sampler_sample(a, s, &ta), NEXTTOK_OK);
        cr_assert_eq(nexttok_sampler_sample(b, s, &tb), NEXTTOK_OK);
        cr_assert_eq(nexttok_sampler_sample(k1, s, &tk), NEXTTOK_OK);
        cr_assert_eq(tg, best);
        cr_assert_eq(tk, best);
        cr_assert_eq(ta, tb);
        cr_assert(ta >= 0 && ta < V);
        differs_from_greedy += ta != best;
    }
    cr_assert_gt(differs_from_greedy, 0, "temperature 1 never left the arg-max in 50 draws");
    p.top_p = 0.0f;
    nexttok_sampler *bad = (nexttok_sampler *)1;
    cr_assert_eq(nexttok_sampler_create(&p, &bad), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_null(bad);
    nexttok_sampler_free(greedy);
    nexttok_sampler_free(a);
    nexttok_sampler_free(b);
    nexttok_sampler_free(k1);
    nexttok_session_free(s);
    nexttok_model_free(m);
}

typedef struct {
    const nexttok_model *m;
    float *out;
} thread_job;

static void *run_session(void *arg)
{
    thread_job *job = arg;
    nexttok_session_params p;
    nexttok_session_params_init(&p, sizeof p);
    p.n_ctx = 64;
    p.n_threads = 1;
    nexttok_session *s = NULL;
    if (nexttok_session_create(job->m, &p, &s) != NEXTTOK_OK) return NULL;
    const float *lg;
    if (nexttok_session_feed(s, prompt, N_PROMPT, NULL, 0) == NEXTTOK_OK &&
        nexttok_session_logits_get(s, &lg) == NEXTTOK_OK)
        memcpy(job->out, lg, (size_t)nexttok_model_n_vocab_get(job->m) * sizeof(float));
    nexttok_session_free(s);
    return NULL;
}

Test(session, one_model_shared_by_threads)
{
    nexttok_model *m = nt_test_model_load("models/aidreams260K.gguf");
    const int32_t V = nexttok_model_n_vocab_get(m);
    enum { N = 4 };
    pthread_t th[N];
    thread_job jobs[N];
    for (int i = 0; i < N; i++) {
        jobs[i] = (thread_job){m, calloc((size_t)V, sizeof(float))};
        pthread_create(&th[i], NULL, run_session, &jobs[i]);
    }
    for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
    nexttok_session *s = nt_test_session_new(m, 64, 0);
    const float *lg;
    cr_assert_eq(nexttok_session_feed(s, prompt, N_PROMPT, NULL, 0), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_logits_get(s, &lg), NEXTTOK_OK);
    for (int i = 0; i < N; i++) {
        assert_rows_close(jobs[i].out, lg, V, "thread");
        free(jobs[i].out);
    }
    nexttok_session_free(s);
    nexttok_model_free(m);
}
