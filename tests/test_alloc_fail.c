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
 * Operations with more to promise check it after every run (`check`):
 * a failed snapshot restore leaves the session it was made from as it was
 * (its logits, and the logits after one more token, byte for byte); a
 * failed zip leaves its output untouched or zeroed, a successful one writes
 * the bytes a run without failures wrote.
 *
 * Models: the fixtures' below, and any given as arguments (meson passes
 * the shipped models/austen-2.6m.gguf). To cover a new loader, append an
 * entry to `ops`. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    /* snapshot restore: a session fed a few tokens, its snapshot in memory
     * and in a file, its logits now and after one more token (`next`) */
    nexttok_session *sess;
    unsigned char *snap;
    size_t snap_len;
    char snap_path[64];
    int32_t n_vocab, next;
    float *logits0, *logits1;
    /* zip: a text, its zip file as made without failures, output buffers
     * of exactly the size needed (so a zeroed buffer is a whole one) */
    unsigned char *zipped, *zbuf, *ubuf;
    size_t zipped_len, zcap;
} env;

typedef struct op {
    const char *name;
    /* Run once; a handle made goes to *out (NULL on failure). */
    nexttok_status (*run)(env *e, void **out);
    void (*release)(void *out);
    /* May recover from some failed allocations and return NEXTTOK_OK (a
     * tokenizer whose regexes fail to JIT-compile runs them interpreted). */
    bool absorbs;
    /* After every run (failures disarmed), before the release: NULL when
     * all is as promised, else what is not. */
    const char *(*check)(env *e, nexttok_status st, void *out);
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

/* ---- snapshot restore ---------------------------------------------------- */

static nexttok_status snapshot_restore(env *e, void **out)
{
    return nexttok_session_restore(e->model, e->snap, e->snap_len, NULL, (nexttok_session **)out);
}

static nexttok_status snapshot_restore_file(env *e, void **out)
{
    return nexttok_session_restore_file(e->model, e->snap_path, NULL, (nexttok_session **)out);
}

/* s's logits are logits0 and, fed e->next, logits1 (bytes); `feed_fork`
 * feeds a fork rather than s, leaving s as it is. */
static const char *session_is_snapshot(env *e, nexttok_session *s, bool feed_fork)
{
    const size_t bytes = (size_t)e->n_vocab * sizeof(float);
    const float *l = NULL;
    if (nexttok_session_logits_get(s, &l) != NEXTTOK_OK) return "no logits";
    if (memcmp(l, e->logits0, bytes) != 0) return "its logits changed";
    nexttok_session *f = s;
    if (feed_fork && nexttok_session_fork(s, NULL, &f) != NEXTTOK_OK) return "cannot fork it";
    const char *why = NULL;
    if (nexttok_session_feed(f, &e->next, 1, NULL, 0) != NEXTTOK_OK || nexttok_session_logits_get(f, &l) != NEXTTOK_OK)
        why = "cannot feed it one more token";
    else if (memcmp(l, e->logits1, bytes) != 0)
        why = "its logits after one more token differ";
    if (f != s) nexttok_session_free(f);
    return why;
}

static const char *snapshot_check(env *e, nexttok_status st, void *out)
{
    const char *why = session_is_snapshot(e, e->sess, true);
    if (why) return why;
    if (st == NEXTTOK_OK && session_is_snapshot(e, out, false)) return "the restored session is not the snapshot's";
    return NULL;
}

/* ---- zip ------------------------------------------------------------------- */

static const char zip_text[] =
    "It is a truth universally acknowledged, that a single man in possession of a good fortune, "
    "must be in want of a wife. \xff\xfe However little known the feelings or views of such a man "
    "may be on his first entering a neighbourhood, this truth is so well fixed in the minds of the "
    "surrounding families, that he is considered the rightful property of some one or other of "
    "their daughters.\n";

static nexttok_zip_params zip_params(void)
{
    nexttok_zip_params p;
    nexttok_zip_params_init(&p, sizeof p);
    p.n_ctx = 16; /* the text outruns it: the window slides */
    p.n_threads = 1;
    return p;
}

static nexttok_status zip_compress_tok(env *e, void **out, const nexttok_tokenizer *tok)
{
    const nexttok_zip_params p = zip_params();
    size_t n = 0;
    *out = NULL;
    memset(e->zbuf, 0xa5, e->zcap);
    return nexttok_zip_compress(e->model, tok, &p, zip_text, sizeof zip_text - 1, e->zbuf, e->zcap, &n);
}

static nexttok_status zip_compress(env *e, void **out) { return zip_compress_tok(e, out, e->tok); }
static nexttok_status zip_compress_own(env *e, void **out) { return zip_compress_tok(e, out, NULL); }

static nexttok_status zip_decompress(env *e, void **out)
{
    const nexttok_zip_params p = zip_params();
    size_t n = 0;
    *out = NULL;
    memset(e->ubuf, 0xa5, sizeof zip_text - 1);
    return nexttok_zip_decompress(e->model, e->tok, &p, e->zipped, e->zipped_len, e->ubuf, sizeof zip_text - 1, &n);
}

/* Untouched (0xa5) or zeroed, every byte alike. */
static bool untouched_or_zeroed(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != p[0] || (p[0] != 0 && p[0] != 0xa5)) return false;
    return true;
}

static const char *zip_compress_check(env *e, nexttok_status st, void *out)
{
    (void)out;
    if (st == NEXTTOK_OK) return memcmp(e->zbuf, e->zipped, e->zipped_len) ? "wrote other bytes" : NULL;
    return untouched_or_zeroed(e->zbuf, e->zcap) ? NULL : "left a half-written output";
}

static const char *zip_decompress_check(env *e, nexttok_status st, void *out)
{
    (void)out;
    if (st == NEXTTOK_OK) return memcmp(e->ubuf, zip_text, sizeof zip_text - 1) ? "unzipped other bytes" : NULL;
    return untouched_or_zeroed(e->ubuf, sizeof zip_text - 1) ? NULL : "left a half-written output";
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
    {"snapshot restore", snapshot_restore, free_session, false, snapshot_check},
    {"snapshot restore from a file", snapshot_restore_file, free_session, false, snapshot_check},
    {"zip compress", zip_compress, free_nothing, false, zip_compress_check},
    {"zip compress (own tokenizer)", zip_compress_own, free_nothing, true, zip_compress_check},
    {"zip decompress", zip_decompress, free_nothing, false, zip_decompress_check},
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
        char msg[512]; /* the check's calls clear the message */
        snprintf(msg, sizeof msg, "%s", nexttok_error_message());
        const char *why = o->check ? o->check(e, st, out) : NULL;
        CHECK(!why, "returned %s, and %s", nexttok_status_describe(st), why);
        if (!hit) {
            CHECK(st == NEXTTOK_OK, "made %llu allocations without failing, yet returned %s: %s",
                  (unsigned long long)(n - 1), nexttok_status_describe(st), msg);
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
        CHECK(st == NEXTTOK_ERR_NO_MEMORY, "returned %s (%s)", nexttok_status_describe(st), msg);
        CHECK(msg[0] != '\0', "no message");
        CHECK(out == NULL || o->release == free_nothing, "output handle not NULL");
        CHECK(nt_alloc_test_live() == live, "%lld blocks leaked", (long long)(nt_alloc_test_live() - live));
    }
}

static const char *const models[] = {
    "models/aidreams260K.gguf",    /* SentencePiece vocabulary, llama */
    "models/gpt2-tiny-f32.gguf",   /* BPE vocabulary (50257 tokens), gpt2 */
    "models/llama-q-Q4_K_M.gguf",  /* quantized weights */
};

/* The session, snapshots and zip file the snapshot and zip operations
 * start from, made without failures. */
static bool env_extras(env *e)
{
    static const char prompt[] = "Once upon a time there was a cat";
    int32_t ids[64];
    size_t n = 0;
    nexttok_session_params p;
    nexttok_session_params_init(&p, sizeof p);
    p.n_ctx = 32;
    p.n_threads = 2;
    e->n_vocab = nexttok_model_n_vocab_get(e->model);
    const size_t bytes = (size_t)e->n_vocab * sizeof(float);
    const float *l = NULL;
    nexttok_session *f = NULL;
    if (nexttok_tokenizer_encode(e->tok, prompt, sizeof prompt - 1, NEXTTOK_ENCODE_ADD_SPECIAL, ids, 64, &n) ||
        n < 2 || nexttok_session_create(e->model, &p, &e->sess) ||
        nexttok_session_feed(e->sess, ids, n - 1, NULL, 0) || nexttok_session_logits_get(e->sess, &l))
        return false;
    e->next = ids[n - 1];
    e->logits0 = malloc(bytes);
    e->logits1 = malloc(bytes);
    if (!e->logits0 || !e->logits1) return false;
    memcpy(e->logits0, l, bytes);
    if (nexttok_session_fork(e->sess, NULL, &f) || nexttok_session_feed(f, &e->next, 1, NULL, 0) ||
        nexttok_session_logits_get(f, &l)) {
        nexttok_session_free(f);
        return false;
    }
    memcpy(e->logits1, l, bytes);
    nexttok_session_free(f);
    if (nexttok_session_snapshot_write(e->sess, NULL, 0, &e->snap_len) || !(e->snap = malloc(e->snap_len)) ||
        nexttok_session_snapshot_write(e->sess, e->snap, e->snap_len, &e->snap_len))
        return false;
    snprintf(e->snap_path, sizeof e->snap_path, "/tmp/nt-alloc-fail-XXXXXX");
    const int fd = mkstemp(e->snap_path);
    if (fd < 0) return false;
    close(fd);
    if (nexttok_session_snapshot_save(e->sess, e->snap_path)) return false;

    const nexttok_zip_params zp = zip_params();
    e->zcap = nexttok_zip_bound(sizeof zip_text - 1);
    if (!(e->zbuf = malloc(e->zcap)) || !(e->zipped = malloc(e->zcap)) || !(e->ubuf = malloc(sizeof zip_text - 1)) ||
        nexttok_zip_compress(e->model, e->tok, &zp, zip_text, sizeof zip_text - 1, e->zipped, e->zcap, &e->zipped_len))
        return false;
    return true;
}

static void env_free(env *e)
{
    if (e->snap_path[0]) remove(e->snap_path);
    free(e->snap);
    free(e->logits0);
    free(e->logits1);
    free(e->zbuf);
    free(e->zipped);
    free(e->ubuf);
    nexttok_session_free(e->sess);
    nexttok_pool_free(e->pool);
    nexttok_tokenizer_free(e->tok);
    nexttok_model_free(e->model);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!nt_test_fixtures_dir()) {
        printf("%s\n", NT_SKIP_MSG);
        return 77;
    }
    const size_t n_fixture = sizeof models / sizeof models[0];
    for (size_t m = 0; m < n_fixture + (size_t)(argc - 1); m++) {
        env e = {0};
        const char *name = m < n_fixture ? models[m] : argv[1 + m - n_fixture];
        if (m >= n_fixture) snprintf(e.path, sizeof e.path, "%s", name);
        else if (!nt_test_fixture_path(name, e.path, sizeof e.path)) {
            printf("%s\n", NT_SKIP_MSG);
            return 77;
        }
        if (nexttok_model_load(e.path, NULL, &e.model) != NEXTTOK_OK ||
            nexttok_tokenizer_create(e.model, &e.tok) != NEXTTOK_OK || nexttok_pool_create(2, &e.pool) != NEXTTOK_OK ||
            !env_extras(&e)) {
            fprintf(stderr, "FAIL: %s: setting up: %s\n", name, nexttok_error_message());
            env_free(&e);
            return 1;
        }
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) run_op(name, &e, &ops[i]);
        env_free(&e);
    }
    if (failures) fprintf(stderr, "%d operation(s) mishandled an allocation failure\n", failures);
    return failures ? 1 : 0;
}
