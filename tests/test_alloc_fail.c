/* Allocation-failure injection (a build configured with
 * -Dalloc_testing=true): every operation in `ops` below runs once for each
 * n = 1, 2, ... with the n-th allocation it makes failing, until it makes
 * fewer than n. Each failing run must return NEXTTOK_ERR_NO_MEMORY with a
 * message, leave its output handle NULL and free every block it made (the
 * library's live-block count is back where it was; ASan's leak checker at
 * exit sees anything else). Operations needing an object made first (a
 * model, a tokenizer) get it in `env`, made before the run.
 *
 * A plain program rather than a Criterion suite so the leak checker runs
 * in the process that did the work. Exit 77 (skipped) without fixtures.
 * To cover a new loader (snapshot restore, zip), append an entry to `ops`. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "nexttok.h"
#include "support/fixtures.h"

#ifndef NT_ALLOC_TESTING
#error "configure with -Dalloc_testing=true"
#endif

typedef struct env {
    char path[4096];           /* the model file */
    nexttok_model *model;      /* loaded from path */
    nexttok_tokenizer *tok;    /* made from model */
    nexttok_pool *pool;
} env;

typedef struct op {
    const char *name;
    /* Run once; a handle made goes to *out (NULL on failure). */
    nexttok_status (*run)(env *e, void **out);
    void (*release)(void *out);
    /* May recover from some failed allocations and return NEXTTOK_OK (a
     * tokenizer whose regexes fail to JIT-compile runs them interpreted). */
    bool absorbs;
} op;

static nexttok_status model_load(env *e, void **out)
{
    return nexttok_model_load(e->path, NULL, (nexttok_model **)out);
}

static nexttok_status model_load_metadata_only(env *e, void **out)
{
    nexttok_model_params p;
    nexttok_model_params_init(&p, sizeof p);
    p.metadata_only = 1;
    return nexttok_model_load(e->path, &p, (nexttok_model **)out);
}

static nexttok_status tokenizer_create(env *e, void **out)
{
    return nexttok_tokenizer_create(e->model, (nexttok_tokenizer **)out);
}

static nexttok_status tokenizer_load(env *e, void **out)
{
    return nexttok_tokenizer_load(e->path, (nexttok_tokenizer **)out);
}

static nexttok_status session_create_kv(env *e, void **out, int32_t kv_type, nexttok_pool *pool)
{
    nexttok_session_params p;
    nexttok_session_params_init(&p, sizeof p);
    p.n_ctx = 32;
    p.n_threads = 2;
    p.kv_type = kv_type;
    p.pool = pool;
    return nexttok_session_create(e->model, &p, (nexttok_session **)out);
}

static nexttok_status session_create(env *e, void **out) { return session_create_kv(e, out, NEXTTOK_KV_F32, NULL); }
static nexttok_status session_create_f16_pool(env *e, void **out)
{
    return session_create_kv(e, out, NEXTTOK_KV_F16, e->pool);
}

/* Tokenization allocates scratch only; no handle. */
static nexttok_status tokenize(env *e, void **out)
{
    static const char text[] = "Hello world! <s> 123 \xc3\xa9t\xc3\xa9 \xff  x\n\n  tabs\tand spaces";
    int32_t ids[256];
    size_t n = 0;
    *out = NULL;
    nexttok_status st = nexttok_tokenizer_encode(e->tok, text, sizeof text - 1,
                                                 NEXTTOK_ENCODE_ADD_SPECIAL | NEXTTOK_ENCODE_PARSE_SPECIAL, ids, 256, &n);
    if (st) return st;
    char back[1024];
    size_t len;
    return nexttok_tokenizer_decode(e->tok, ids, n, 0, back, sizeof back, &len);
}

static nexttok_status pool_create(env *e, void **out)
{
    (void)e;
    return nexttok_pool_create(2, (nexttok_pool **)out);
}

static void free_model(void *p) { nexttok_model_free(p); }
static void free_tokenizer(void *p) { nexttok_tokenizer_free(p); }
static void free_session(void *p) { nexttok_session_free(p); }
static void free_pool(void *p) { nexttok_pool_free(p); }
static void free_nothing(void *p) { (void)p; }

static const op ops[] = {
    {"model load", model_load, free_model},
    {"model load (metadata only)", model_load_metadata_only, free_model},
    {"tokenizer from a model", tokenizer_create, free_tokenizer, true},
    {"tokenizer load", tokenizer_load, free_tokenizer, true},
    {"tokenize and decode", tokenize, free_nothing},
    {"session create", session_create, free_session},
    {"session create (F16 KV, shared pool)", session_create_f16_pool, free_session},
    {"pool create", pool_create, free_pool},
};

static int failures;

#define CHECK(cond, ...)                                          \
    do {                                                          \
        if (!(cond)) {                                            \
            fprintf(stderr, "FAIL: %s: ", where);                 \
            fprintf(stderr, __VA_ARGS__);                         \
            fputc('\n', stderr);                                  \
            failures++;                                           \
            return;                                               \
        }                                                         \
    } while (0)

static void run_op(const char *model_rel, env *e, const op *o)
{
    char where[512];
    uint64_t live = nt_alloc_test_live(), absorbed = 0;
    for (uint64_t n = 1;; n++) {
        snprintf(where, sizeof where, "%s: %s: allocation %llu failing", model_rel, o->name, (unsigned long long)n);
        void *out = (void *)&live; /* must become NULL on failure */
        nt_alloc_test_fail_at(n);
        nexttok_status st = o->run(e, &out);
        bool hit = nt_alloc_test_failed();
        nt_alloc_test_fail_at(0);
        if (!hit) {
            CHECK(st == NEXTTOK_OK, "made %llu allocations without failing, yet returned %s: %s",
                  (unsigned long long)(n - 1), nexttok_status_describe(st), nexttok_error_message());
            o->release(out);
            CHECK(nt_alloc_test_live() == live, "%lld blocks left after release",
                  (long long)(nt_alloc_test_live() - live));
            printf("ok: %s: %s: each of %llu allocations failing returns NEXTTOK_ERR_NO_MEMORY", model_rel,
                   o->name, (unsigned long long)(n - 1 - absorbed));
            if (absorbed) printf(" (%llu more recovered from)", (unsigned long long)absorbed);
            printf(", leaving nothing behind\n");
            return;
        }
        if (st == NEXTTOK_OK && o->absorbs) {
            /* A failure the operation may recover from (PCRE2's JIT
             * compile: the interpreter gives the same matches): whole
             * result, nothing lost. */
            o->release(out);
            CHECK(nt_alloc_test_live() == live, "recovered, yet %lld blocks left after release",
                  (long long)(nt_alloc_test_live() - live));
            absorbed++;
            continue;
        }
        CHECK(st == NEXTTOK_ERR_NO_MEMORY, "returned %s (%s)", nexttok_status_describe(st), nexttok_error_message());
        CHECK(nexttok_error_message()[0] != '\0', "no message");
        CHECK(out == NULL || o->release == free_nothing, "output handle not NULL");
        CHECK(nt_alloc_test_live() == live, "%lld blocks leaked", (long long)(nt_alloc_test_live() - live));
    }
}

static const char *const models[] = {
    "models/aidreams260K.gguf",    /* SentencePiece vocabulary, llama */
    "models/gpt2-tiny-f32.gguf",   /* BPE vocabulary (50257 tokens), gpt2 */
    "models/llama-q-Q4_K_M.gguf",  /* quantized weights */
};

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!nt_test_fixtures_dir()) {
        printf("%s\n", NT_SKIP_MSG);
        return 77;
    }
    for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
        env e = {0};
        if (!nt_test_fixture_path(models[m], e.path, sizeof e.path)) {
            printf("%s\n", NT_SKIP_MSG);
            return 77;
        }
        if (nexttok_model_load(e.path, NULL, &e.model) != NEXTTOK_OK ||
            nexttok_tokenizer_create(e.model, &e.tok) != NEXTTOK_OK || nexttok_pool_create(2, &e.pool) != NEXTTOK_OK) {
            fprintf(stderr, "FAIL: %s: %s\n", models[m], nexttok_error_message());
            return 1;
        }
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) run_op(models[m], &e, &ops[i]);
        nexttok_pool_free(e.pool);
        nexttok_tokenizer_free(e.tok);
        nexttok_model_free(e.model);
    }
    if (failures) fprintf(stderr, "%d operation(s) mishandled an allocation failure\n", failures);
    return failures ? 1 : 0;
}
