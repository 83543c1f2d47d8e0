/* Session options: shared thread pools, KV cache types, precision, the
 * default context. Where we promise identical results (thread counts,
 * shared pools, batching) the tests compare bytes. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nexttok.h"
#include "support/harness.h"
#include "support/fixtures.h"
#include "support/sessions.h"
#include "support/logits_file.h"
#include "support/tiny_model.h"

static nexttok_session_params params(int32_t n_ctx, int32_t n_threads)
{
    nexttok_session_params p;
    nexttok_session_params_init(&p, sizeof p);
    p.n_ctx = n_ctx;
    p.n_threads = n_threads;
    return p;
}

/* All rows of feeding `tokens` whole (or one by one) with params p. */
static float *run_rows(const nexttok_model *m, const nexttok_session_params *p, const int32_t *tokens, int32_t n,
                       bool stepwise)
{
    const size_t V = (size_t)nexttok_model_n_vocab_get(m);
    float *rows = malloc((size_t)n * V * sizeof *rows);
    cr_assert(rows);
    nexttok_session *s = NULL;
    cr_assert_eq(nexttok_session_create(m, p, &s), NEXTTOK_OK, "%s", nexttok_error_message());
    if (stepwise) {
        for (int32_t i = 0; i < n; i++)
            cr_assert_eq(nexttok_session_feed(s, tokens + i, 1, rows + (size_t)i * V, V), NEXTTOK_OK, "%s",
                         nexttok_error_message());
    } else {
        cr_assert_eq(nexttok_session_feed(s, tokens, (size_t)n, rows, (size_t)n * V), NEXTTOK_OK, "%s", nexttok_error_message());
    }
    nexttok_session_free(s);
    return rows;
}

static const int32_t prompt[] = {1, 403, 261, 300, 265, 270, 289, 261, 301, 356, 290, 270, 264, 418,
                                 300, 295, 301, 266, 340, 262, 304, 313, 299, 282, 271, 263, 281, 260,
                                 264, 301, 333, 460, 350, 376, 275, 299, 291, 278, 310, 262};
#define N_PROMPT ((int32_t)(sizeof prompt / sizeof prompt[0]))

/* ---- shared pools ---------------------------------------------------------- */

Test(session_modes, pool_api_checks_its_arguments)
{
    nexttok_pool *pool = (nexttok_pool *)&pool;
    cr_assert_eq(nexttok_pool_create(-1, &pool), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_null(pool);
    cr_assert(strstr(nexttok_error_message(), "negative"), "%s", nexttok_error_message());
    cr_assert_eq(nexttok_pool_create(2, NULL), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nexttok_pool_create(2, &pool), NEXTTOK_OK);
    cr_assert_eq(nexttok_pool_n_threads_get(pool), 2);
    cr_assert_eq(nexttok_pool_n_threads_get(NULL), 0);
    nexttok_pool_free(pool);
    nexttok_pool_free(NULL);
}

typedef struct pool_job {
    const nexttok_model *m;
    nexttok_pool *pool;
    float *rows;
} pool_job;

static void *feed_on_pool(void *arg)
{
    pool_job *job = arg;
    nexttok_session_params p = params(64, 0);
    p.pool = job->pool;
    job->rows = run_rows(job->m, &p, prompt, N_PROMPT, false);
    return NULL;
}

/* Sessions fed from several threads at once on one shared pool give the
 * bytes a session with its own threads gives. */
Test(session_modes, sessions_on_one_pool_match_private_pools_bitwise)
{
    if (getenv("NT_TEST_NO_THREADS")) cr_skip_test("threads disabled");
    nexttok_model *m = nt_test_model_load("models/aidreams260K.gguf");
    const size_t V = (size_t)nexttok_model_n_vocab_get(m);
    nexttok_session_params own = params(64, 2);
    float *want = run_rows(m, &own, prompt, N_PROMPT, false);
    nexttok_pool *pool = NULL;
    cr_assert_eq(nexttok_pool_create(2, &pool), NEXTTOK_OK);
    enum { N = 4 };
    pthread_t th[N];
    pool_job jobs[N];
    for (int i = 0; i < N; i++) {
        jobs[i] = (pool_job){m, pool, NULL};
        cr_assert_eq(pthread_create(&th[i], NULL, feed_on_pool, &jobs[i]), 0);
    }
    for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < N; i++) {
        cr_assert(jobs[i].rows && memcmp(jobs[i].rows, want, (size_t)N_PROMPT * V * sizeof(float)) == 0,
                  "session %d on the shared pool differs", i);
        free(jobs[i].rows);
    }
    nexttok_pool_free(pool);
    free(want);
    nexttok_model_free(m);
}

/* ---- thread counts --------------------------------------------------------- */

static void same_bytes_for_thread_counts(const char *rel, int32_t precision)
{
    nexttok_model *m = nt_test_model_load(rel);
    const int32_t V = nexttok_model_n_vocab_get(m);
    int32_t toks[N_PROMPT];
    for (int32_t i = 0; i < N_PROMPT; i++) toks[i] = prompt[i] % V;
    const int32_t n = N_PROMPT < 40 ? N_PROMPT : 40;
    nexttok_session_params p1 = params(64, 1), p2 = params(64, 2), p3 = params(64, 3);
    p1.precision = p2.precision = p3.precision = precision;
    p2.n_batch = 7; /* the prompt split into six forward calls */
    float *a = run_rows(m, &p1, toks, n, false), *b = run_rows(m, &p2, toks, n, false);
    float *c = run_rows(m, &p3, toks, n, true);
    const size_t bytes = (size_t)n * (size_t)V * sizeof(float);
    cr_assert(memcmp(a, b, bytes) == 0, "%s: 1 thread and 2 threads in batches of 7 differ", rel);
    cr_assert(memcmp(a, c, bytes) == 0, "%s: whole prompt on 1 thread and stepwise on 3 differ", rel);
    free(a);
    free(b);
    free(c);
    nexttok_model_free(m);
}

Test(session_modes, thread_counts_and_batching_give_the_same_bytes)
{
    if (getenv("NT_TEST_NO_THREADS")) cr_skip_test("threads disabled");
    same_bytes_for_thread_counts("models/aidreams260K.gguf", NEXTTOK_PRECISION_DEFAULT);
    same_bytes_for_thread_counts("models/gpt2-tiny-f32.gguf", NEXTTOK_PRECISION_DEFAULT);
    const char *quant[] = {"models/llama-q-Q8_0.gguf", "models/llama-q-Q4_0.gguf", "models/llama-q-Q4_K_M.gguf",
                           "models/llama-q-Q6_K.gguf"};
    for (size_t i = 0; i < sizeof quant / sizeof quant[0]; i++) {
        same_bytes_for_thread_counts(quant[i], NEXTTOK_PRECISION_FAST);
        same_bytes_for_thread_counts(quant[i], NEXTTOK_PRECISION_EXACT);
    }
}

/* ---- options ---------------------------------------------------------------- */

Test(session_modes, bad_precision_and_kv_type_are_refused)
{
    nexttok_model *m = nt_test_model_load("models/aidreams260K.gguf");
    nexttok_session *s = (nexttok_session *)&s;
    nexttok_session_params p = params(16, 1);
    p.precision = 7;
    cr_assert_eq(nexttok_session_create(m, &p, &s), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_null(s);
    cr_assert(strstr(nexttok_error_message(), "precision 7"), "%s", nexttok_error_message());
    p = params(16, 1);
    p.kv_type = -1;
    cr_assert_eq(nexttok_session_create(m, &p, &s), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(nexttok_error_message(), "kv_type -1"), "%s", nexttok_error_message());
    /* aidreams260K's heads are 16 wide: not whole Q8_0 blocks */
    p = params(16, 1);
    p.kv_type = NEXTTOK_KV_Q8_0;
    cr_assert_eq(nexttok_session_create(m, &p, &s), NEXTTOK_ERR_UNSUPPORTED);
    cr_assert(strstr(nexttok_error_message(), "divisible by 32"), "%s", nexttok_error_message());
    nexttok_model_free(m);
}

/* A context longer than the default batch: a long feed is split into
 * forward calls of 512 tokens, and must still give the bytes of feeding
 * one token at a time. */
Test(session_modes, long_feeds_split_into_batches_match_stepwise)
{
    nt_tiny_spec spec = nt_tiny_spec_default("llama");
    spec.n_ctx = 1200;
    char *path = nt_tiny_model_file(&spec);
    nexttok_model *m = NULL;
    cr_assert_eq(nexttok_model_load(path, NULL, &m), NEXTTOK_OK, "%s", nexttok_error_message());
    const int32_t n = 1100, V = nexttok_model_n_vocab_get(m);
    int32_t *toks = malloc((size_t)n * sizeof *toks);
    for (int32_t i = 0; i < n; i++) toks[i] = (int32_t)((i * 7919u + 13u) % (uint32_t)V);
    nexttok_session_params p = params(n, 1);
    float *whole = run_rows(m, &p, toks, n, false), *step = run_rows(m, &p, toks, n, true);
    cr_assert(memcmp(whole, step, (size_t)n * (size_t)V * sizeof(float)) == 0, "batched and stepwise differ");
    free(whole);
    free(step);
    free(toks);
    p.n_batch = 513;
    nexttok_session *s = NULL;
    cr_assert_eq(nexttok_session_create(m, &p, &s), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(nexttok_error_message(), "n_batch 513"), "%s", nexttok_error_message());
    nexttok_model_free(m);
    unlink(path);
    free(path);
}

Test(session_modes, default_context_is_capped)
{
    nt_tiny_spec spec = nt_tiny_spec_default("llama");
    spec.n_ctx = 1 << 20;
    char *path = nt_tiny_model_file(&spec);
    nexttok_model *m = NULL;
    cr_assert_eq(nexttok_model_load(path, NULL, &m), NEXTTOK_OK, "%s", nexttok_error_message());
    nexttok_session *s = NULL;
    cr_assert_eq(nexttok_session_create(m, NULL, &s), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(nexttok_session_n_ctx_get(s), NEXTTOK_DEFAULT_N_CTX);
    nexttok_session_free(s);
    nexttok_session_params p = params(NEXTTOK_DEFAULT_N_CTX * 2, 1);
    cr_assert_eq(nexttok_session_create(m, &p, &s), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(nexttok_session_n_ctx_get(s), NEXTTOK_DEFAULT_N_CTX * 2);
    nexttok_session_free(s);
    nexttok_model_free(m);
    unlink(path);
    free(path);
}

/* ---- KV cache types ---------------------------------------------------------- */

/* A KV type's logits on a fixture: batched equals stepwise bitwise, and
 * the mean KL from .exact stays within `bound`. */
static double kv_type_kl(const char *name, int32_t kv_type, int32_t precision, double bound)
{
    char model_rel[256], logits_rel[256], logits_path[4096];
    snprintf(model_rel, sizeof model_rel, "models/%s.gguf", name);
    snprintf(logits_rel, sizeof logits_rel, "logits/%s.t1.exact.logits", name);
    if (!nt_test_fixture_path(logits_rel, logits_path, sizeof logits_path)) cr_skip_test(NT_SKIP_MSG);
    nexttok_model *m = nt_test_model_load(model_rel);
    nt_logits_file ref;
    cr_assert_eq(nt_logits_file_read(logits_path, &ref), 0);
    nexttok_session_params p = params(ref.n, 1);
    p.kv_type = kv_type;
    p.precision = precision;
    float *whole = run_rows(m, &p, ref.tokens, ref.n, false), *step = run_rows(m, &p, ref.tokens, ref.n, true);
    cr_assert(memcmp(whole, step, (size_t)ref.n * (size_t)ref.n_vocab * sizeof(float)) == 0,
              "%s kv_type %d: batched and stepwise differ", name, kv_type);
    double kl = 0.0;
    for (int32_t i = 0; i < ref.n; i++)
        kl += nt_logits_kl(ref.logits + (size_t)i * ref.n_vocab, whole + (size_t)i * ref.n_vocab, ref.n_vocab);
    kl /= ref.n;
    fprintf(stderr, "kv %s kv_type %d precision %d: mean KL %.3e (bound %.3g)\n", name, kv_type, precision, kl, bound);
    cr_assert(kl <= bound, "%s kv_type %d: mean KL %.3e above %.3e", name, kv_type, kl, bound);
    free(whole);
    free(step);
    nt_logits_file_free(&ref);
    nexttok_model_free(m);
    return kl;
}

Test(session_modes, kv_types_stay_within_llamacpp_distance)
{
    /* Float model: F16 keys and values stay within llama.cpp's distance
     * (which includes its own F16 cache). */
    const double f16_kl = kv_type_kl("aidreams260K", NEXTTOK_KV_F16, NEXTTOK_PRECISION_EXACT, 2.5e-7);
    const double f32_kl = kv_type_kl("aidreams260K", NEXTTOK_KV_F32, NEXTTOK_PRECISION_EXACT, 2.5e-7);
    cr_assert(f16_kl > f32_kl, "an F16 cache should cost some accuracy: %.3e vs %.3e", f16_kl, f32_kl);
    /* Quantized models (64-wide heads). F32 and F16 caches stay within
     * llama.cpp's distance (measured with its F16 cache) in both modes; a
     * Q8_0 cache is lossier than llama.cpp's default, so it is held to that
     * distance in exact mode, and in fast mode to the sum of what fast mode
     * and the cache each cost (independent small errors add in KL), with
     * half again for slack. */
    const struct { const char *name; double llamacpp_kl; } q[] = {
        {"llama-q-Q8_0", 1.33e-4}, {"llama-q-Q4_0", 1.40e-4}, {"llama-q-Q4_K_M", 2.68e-4}, {"llama-q-Q6_K", 2.61e-4}};
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        const double b = q[i].llamacpp_kl;
        const double exact_f32 = kv_type_kl(q[i].name, NEXTTOK_KV_F32, NEXTTOK_PRECISION_EXACT, b);
        const double fast_f32 = kv_type_kl(q[i].name, NEXTTOK_KV_F32, NEXTTOK_PRECISION_FAST, b);
        kv_type_kl(q[i].name, NEXTTOK_KV_F16, NEXTTOK_PRECISION_EXACT, b);
        kv_type_kl(q[i].name, NEXTTOK_KV_F16, NEXTTOK_PRECISION_FAST, b);
        const double exact_q8 = kv_type_kl(q[i].name, NEXTTOK_KV_Q8_0, NEXTTOK_PRECISION_EXACT, b);
        kv_type_kl(q[i].name, NEXTTOK_KV_Q8_0, NEXTTOK_PRECISION_FAST, 1.5 * (fast_f32 + exact_q8 - exact_f32));
    }
}

/* ---- memory -------------------------------------------------------------------- */

#include "core/alloc.h"

/* After the first token, decoding allocates nothing, in every mode and KV
 * type (one model's sessions run alone here: the counter is process-wide). */
Test(session_modes, decode_steps_allocate_nothing)
{
    const char *models[] = {"models/aidreams260K.gguf", "models/gpt2-tiny-f32.gguf", "models/llama-q-Q4_K_M.gguf",
                            "models/llama-q-Q8_0.gguf"};
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        nexttok_model *m = nt_test_model_load(models[i]);
        const int32_t V = nexttok_model_n_vocab_get(m);
        for (int32_t kv = NEXTTOK_KV_F32; kv <= NEXTTOK_KV_Q8_0; kv++)
            for (int32_t prec = NEXTTOK_PRECISION_FAST; prec <= NEXTTOK_PRECISION_EXACT; prec++) {
                nexttok_session_params p = params(48, 2);
                p.kv_type = kv;
                p.precision = prec;
                nexttok_session *s = NULL;
                if (nexttok_session_create(m, &p, &s) != NEXTTOK_OK) continue; /* Q8_0 on narrow heads */
                int32_t tok = prompt[0] % V;
                cr_assert_eq(nexttok_session_feed(s, &tok, 1, NULL, 0), NEXTTOK_OK);
                const uint64_t before = nt_alloc_count();
                for (int32_t j = 1; j < 40; j++) {
                    tok = prompt[j] % V;
                    cr_assert_eq(nexttok_session_feed(s, &tok, 1, NULL, 0), NEXTTOK_OK);
                }
                cr_assert_eq(nt_alloc_count(), before, "%s kv %d precision %d: %llu allocations in 39 decode steps",
                             models[i], kv, prec, (unsigned long long)(nt_alloc_count() - before));
                nexttok_session_free(s);
            }
        nexttok_model_free(m);
    }
}
