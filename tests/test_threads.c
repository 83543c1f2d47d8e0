/* One model shared by 8 threads, each with its own sessions on one shared
 * pool, for a while: every feed, rewind and re-feed gives the bytes a
 * single-threaded session gave for the same tokens (memcmp). .ci/run also
 * runs this suite under ThreadSanitizer (built on support/mini_test.c). */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexttok.h"
#include "support/fixtures.h"
#include "support/harness.h"

enum { N_THREADS = 8, SESSIONS_PER_THREAD = 2, ROUNDS = 6, N_TOK = 24, N_PROMPTS = 4 };

typedef struct shared {
    const nexttok_model *m;
    nexttok_pool *pool;
    size_t V;
    int32_t prompts[N_PROMPTS][N_TOK];
    float *want[N_PROMPTS]; /* N_TOK rows of V logits each */
} shared;

typedef struct job {
    shared *sh;
    int id;
    int mismatches;
    int errors;
    char what[160];
} job;

static nexttok_session *session_on(const shared *sh)
{
    nexttok_session_params p;
    nexttok_session_params_init(&p, sizeof p);
    p.n_ctx = 32;
    p.pool = sh->pool;
    p.n_batch = 8; /* several forward calls per feed */
    nexttok_session *s = NULL;
    return nexttok_session_create(sh->m, &p, &s) == NEXTTOK_OK ? s : NULL;
}

static void note(job *j, const char *fmt, int a, int b)
{
    if (j->what[0] == '\0') snprintf(j->what, sizeof j->what, fmt, j->id, a, b);
}

static void *worker(void *arg)
{
    job *j = arg;
    shared *sh = j->sh;
    const size_t row = sh->V * sizeof(float);
    float *rows = malloc(N_TOK * row);
    nexttok_session *s[SESSIONS_PER_THREAD];
    for (int k = 0; k < SESSIONS_PER_THREAD; k++) s[k] = session_on(sh);
    for (int r = 0; r < ROUNDS && rows; r++) {
        for (int k = 0; k < SESSIONS_PER_THREAD; k++) {
            if (!s[k]) {
                j->errors++;
                note(j, "thread %d: session %d: %d: not created", k, 0);
                continue;
            }
            const int pi = (j->id + r + k) % N_PROMPTS;
            /* the whole prompt, every row */
            if (nexttok_session_reset(s[k]) != NEXTTOK_OK ||
                nexttok_session_feed(s[k], sh->prompts[pi], N_TOK, rows, (size_t)N_TOK * sh->V) != NEXTTOK_OK) {
                j->errors++;
                note(j, "thread %d: round %d, session %d: feed failed", r, k);
                continue;
            }
            if (memcmp(rows, sh->want[pi], N_TOK * row) != 0) {
                j->mismatches++;
                note(j, "thread %d: round %d, session %d: rows differ from the single-threaded run", r, k);
            }
            /* back to a point inside the prompt, then the rest again */
            const int32_t keep = 1 + (j->id + r) % (N_TOK - 1);
            const float *lg;
            if (nexttok_session_rewind(s[k], keep) != NEXTTOK_OK ||
                nexttok_session_feed(s[k], sh->prompts[pi] + keep, N_TOK - keep, NULL, 0) != NEXTTOK_OK ||
                nexttok_session_logits_get(s[k], &lg) != NEXTTOK_OK) {
                j->errors++;
                note(j, "thread %d: round %d, session %d: rewind and re-feed failed", r, k);
                continue;
            }
            if (memcmp(lg, sh->want[pi] + (size_t)(N_TOK - 1) * sh->V, row) != 0) {
                j->mismatches++;
                note(j, "thread %d: round %d, session %d: re-fed last row differs", r, k);
            }
        }
    }
    for (int k = 0; k < SESSIONS_PER_THREAD; k++) nexttok_session_free(s[k]);
    free(rows);
    return NULL;
}

static void shared_model_on_many_threads(const char *rel)
{
    if (getenv("NT_TEST_NO_THREADS")) cr_skip_test("threads disabled");
    char path[4096];
    if (!nt_test_fixture_path(rel, path, sizeof path)) cr_skip_test(NT_SKIP_MSG);
    shared sh = {0};
    nexttok_model *m = NULL;
    cr_assert_eq(nexttok_model_load(path, NULL, &m), NEXTTOK_OK, "%s", nexttok_error_message());
    sh.m = m;
    sh.V = (size_t)nexttok_model_n_vocab_get(m);
    cr_assert_eq(nexttok_pool_create(2, &sh.pool), NEXTTOK_OK);
    /* The references: one session, on the calling thread alone. */
    nexttok_session_params own;
    nexttok_session_params_init(&own, sizeof own);
    own.n_ctx = 32;
    own.n_threads = 1;
    own.n_batch = 8; /* as the threads' sessions: batch splits may change bits */
    nexttok_session *ref = NULL;
    cr_assert_eq(nexttok_session_create(m, &own, &ref), NEXTTOK_OK, "%s", nexttok_error_message());
    for (int p = 0; p < N_PROMPTS; p++) {
        for (int i = 0; i < N_TOK; i++) sh.prompts[p][i] = (int32_t)((7919u * (unsigned)(i + 1) + 104729u * (unsigned)p) % sh.V);
        sh.want[p] = malloc((size_t)N_TOK * sh.V * sizeof(float));
        cr_assert_not_null(sh.want[p]);
        cr_assert_eq(nexttok_session_reset(ref), NEXTTOK_OK);
        cr_assert_eq(nexttok_session_feed(ref, sh.prompts[p], N_TOK, sh.want[p], (size_t)N_TOK * sh.V), NEXTTOK_OK, "%s",
                     nexttok_error_message());
    }
    nexttok_session_free(ref);

    pthread_t th[N_THREADS];
    job jobs[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        jobs[i] = (job){.sh = &sh, .id = i};
        cr_assert_eq(pthread_create(&th[i], NULL, worker, &jobs[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < N_THREADS; i++)
        cr_expect(jobs[i].errors == 0 && jobs[i].mismatches == 0, "%s: %d errors, %d mismatches; first: %s", rel,
                  jobs[i].errors, jobs[i].mismatches, jobs[i].what);
    for (int p = 0; p < N_PROMPTS; p++) free(sh.want[p]);
    nexttok_pool_free(sh.pool);
    nexttok_model_free(m);
}

Test(threads, shared_model_float_weights) { shared_model_on_many_threads("models/aidreams260K.gguf"); }
Test(threads, shared_model_quantized_weights) { shared_model_on_many_threads("models/llama-q-Q4_K_M.gguf"); }
Test(threads, shared_model_gpt2) { shared_model_on_many_threads("models/gpt2-tiny-f32.gguf"); }
