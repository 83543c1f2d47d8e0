/* Forks (copy-on-write KV pages), snapshots (round trips and refusals)
 * and the context-shift policy. Where the library promises bit-identical
 * logits, the tests compare bytes. */
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nexttok.h"
#include "session/session.h"
#include "support/fixtures.h"
#include "support/harness.h"
#include "support/tiny_model.h"
#include "types/types.h"

static nexttok_model *load_fixture(const char *rel)
{
    char path[4096];
    if (!nt_test_fixture_path(rel, path, sizeof path)) cr_skip_test(NT_SKIP_MSG);
    nexttok_model *m = NULL;
    cr_assert_eq(nexttok_model_load(path, NULL, &m), NEXTTOK_OK, "%s", nexttok_error_message());
    return m;
}

/* A tiny random model written for the test (its file unlinked once loaded:
 * the mapping stays valid). */
static nexttok_model *load_tiny(nt_tiny_spec spec)
{
    char *path = nt_tiny_model_file(&spec);
    cr_assert_not_null(path, "cannot write a tiny model");
    nexttok_model *m = NULL;
    cr_assert_eq(nexttok_model_load(path, NULL, &m), NEXTTOK_OK, "%s", nexttok_error_message());
    unlink(path);
    free(path);
    return m;
}

static nexttok_session *make(const nexttok_model *m, int32_t n_ctx, int32_t kv_type, int32_t n_batch)
{
    nexttok_session_params p;
    nexttok_session_params_init(&p, sizeof p);
    p.n_ctx = n_ctx;
    p.kv_type = kv_type;
    p.n_batch = n_batch;
    p.n_threads = 2;
    nexttok_session *s = NULL;
    cr_assert_eq(nexttok_session_create(m, &p, &s), NEXTTOK_OK, "%s", nexttok_error_message());
    return s;
}

/* Deterministic token ids of a stream `seed`. */
static void tokens(int32_t *out, int32_t n, int32_t n_vocab, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 12345u;
    for (int32_t i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        out[i] = (int32_t)((x >> 8) % (uint32_t)n_vocab);
    }
}

static void feed(nexttok_session *s, const int32_t *t, size_t n)
{
    cr_assert_eq(nexttok_session_feed(s, t, n, NULL, 0), NEXTTOK_OK, "%s", nexttok_error_message());
}

static const float *logits(const nexttok_session *s)
{
    const float *l = NULL;
    cr_assert_eq(nexttok_session_logits_get(s, &l), NEXTTOK_OK, "%s", nexttok_error_message());
    return l;
}

static void assert_same_logits(const nexttok_session *a, const nexttok_session *b, int32_t n_vocab, const char *what)
{
    cr_assert(memcmp(logits(a), logits(b), (size_t)n_vocab * sizeof(float)) == 0, "%s: logits differ", what);
}

/* Feed `n` tokens one at a time to a and b, the logits equal at each step. */
static void feed_both_equal(nexttok_session *a, nexttok_session *b, const int32_t *t, int32_t n, int32_t V,
                            const char *what)
{
    for (int32_t i = 0; i < n; i++) {
        feed(a, t + i, 1);
        feed(b, t + i, 1);
        assert_same_logits(a, b, V, what);
    }
}

static nexttok_session *fork_of(const nexttok_session *s)
{
    nexttok_session *f = NULL;
    cr_assert_eq(nexttok_session_fork(s, NULL, &f), NEXTTOK_OK, "%s", nexttok_error_message());
    return f;
}

/* Snapshot helpers (below): the bytes of s, and a session restored from them. */
static unsigned char *snapshot(const nexttok_session *s, size_t *size);
static nexttok_session *restore(const nexttok_model *m, const unsigned char *buf, size_t size);

/* ---- forks ------------------------------------------------------------------------ */

/* A fork fed what its parent is fed gives the parent's bytes, and those of a
 * fresh session fed the prefix and then the same tokens; the prefix (37
 * tokens) ends inside a page, so the first writes copy a shared page. */
static void fork_matches(const char *rel, int32_t kv_type, int32_t n_batch)
{
    nexttok_model *m = load_fixture(rel);
    const int32_t V = nexttok_model_n_vocab_get(m);
    int32_t t[96];
    tokens(t, 96, V, 1);
    nexttok_session *parent = make(m, 128, kv_type, n_batch), *fresh = make(m, 128, kv_type, n_batch);
    feed(parent, t, 37);
    feed(fresh, t, 37);
    nexttok_session *f = fork_of(parent);
    cr_assert_eq(nexttok_session_position_get(f), 37);
    assert_same_logits(f, parent, V, "fork before feeding");
    feed_both_equal(f, fresh, t + 37, 40, V, "fork vs fresh");
    feed(parent, t + 37, 40);
    assert_same_logits(f, parent, V, "fork vs parent");
    /* batched on the fork, stepwise on the fresh one */
    feed(f, t + 77, 19);
    for (int32_t i = 77; i < 96; i++) feed(fresh, t + i, 1);
    assert_same_logits(f, fresh, V, "batched fork vs fresh");
    nexttok_session_free(f);
    nexttok_session_free(parent);
    nexttok_session_free(fresh);
    nexttok_model_free(m);
}

Test(fork, llama_f32) { fork_matches("models/llama-tiny-f32.gguf", NEXTTOK_KV_F32, 0); }
Test(fork, gpt2_f32) { fork_matches("models/gpt2-tiny-f32.gguf", NEXTTOK_KV_F32, 0); }
Test(fork, aidreams_f16) { fork_matches("models/aidreams260K.gguf", NEXTTOK_KV_F16, 0); }
/* a sliding-window model: its rings' pages are shared too (context 128,
 * window 8: the ring of 16 rows has wrapped by position 37) */
Test(fork, gemma3_ring) { fork_matches("arch/gemma3.gguf", NEXTTOK_KV_F32, 4); }
Test(fork, gemma2_ring_one_token) { fork_matches("arch/gemma2.gguf", NEXTTOK_KV_F32, 1); }

/* Rings are sized by the batch: a sliding-window model's fork keeps it. */
Test(fork, ring_batch_fixed)
{
    nexttok_model *m = load_fixture("arch/gemma3.gguf");
    nexttok_session *s = make(m, 64, 0, 4);
    const int32_t t[3] = {1, 2, 3};
    feed(s, t, 3);
    nexttok_session_params p;
    nexttok_session_params_init(&p, sizeof p);
    p.n_batch = 1;
    nexttok_session *f = NULL;
    cr_assert_eq(nexttok_session_fork(s, &p, &f), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(nexttok_error_message(), "rings") != NULL, "%s", nexttok_error_message());
    p.n_batch = 4;
    cr_assert_eq(nexttok_session_fork(s, &p, &f), NEXTTOK_OK, "%s", nexttok_error_message());
    nexttok_session_free(f);
    nexttok_session_free(s);
    nexttok_model_free(m);
}

/* Neither side sees the other's feeds, interleaved in any order; the
 * parent may be freed first. */
Test(fork, sides_independent)
{
    nexttok_model *m = load_fixture("models/llama-tiny-f32.gguf");
    const int32_t V = nexttok_model_n_vocab_get(m);
    int32_t pre[40], a[30], b[30];
    tokens(pre, 40, V, 2);
    tokens(a, 30, V, 3);
    tokens(b, 30, V, 4);
    nexttok_session *ref_a = make(m, 128, 0, 0), *ref_b = make(m, 128, 0, 0), *parent = make(m, 128, 0, 0);
    feed(ref_a, pre, 40);
    feed(ref_b, pre, 40);
    feed(parent, pre, 40);
    nexttok_session *f = fork_of(parent);
    for (int32_t i = 0; i < 30; i++) {
        feed(parent, a + i, 1);
        feed(ref_a, a + i, 1);
        feed(f, b + i, 1);
        feed(ref_b, b + i, 1);
        assert_same_logits(parent, ref_a, V, "parent");
        assert_same_logits(f, ref_b, V, "fork");
    }
    nexttok_session_free(parent);
    int32_t more[10];
    tokens(more, 10, V, 5);
    feed_both_equal(f, ref_b, more, 10, V, "fork after its parent was freed");
    nexttok_session_free(f);
    nexttok_session_free(ref_a);
    nexttok_session_free(ref_b);
    nexttok_model_free(m);
}

/* A fork rewound into the shared prefix and fed other tokens gives a fresh
 * session's bytes, and leaves the parent's rows alone. */
Test(fork, rewind_into_shared_prefix)
{
    nexttok_model *m = load_fixture("models/llama-tiny-f32.gguf");
    const int32_t V = nexttok_model_n_vocab_get(m);
    int32_t pre[70], other[25];
    tokens(pre, 70, V, 6);
    tokens(other, 25, V, 7);
    nexttok_session *parent = make(m, 128, 0, 0), *twin = make(m, 128, 0, 0), *fresh = make(m, 128, 0, 0);
    feed(parent, pre, 70);
    feed(twin, pre, 70);
    nexttok_session *f = fork_of(parent);
    cr_assert_eq(nexttok_session_rewind(f, 20), NEXTTOK_OK, "%s", nexttok_error_message());
    feed(fresh, pre, 20);
    assert_same_logits(f, fresh, V, "rewound fork");
    feed_both_equal(f, fresh, other, 25, V, "rewound fork fed on");
    /* the parent still holds its 70 positions: rewinding and feeding it
     * agrees with a session that never forked */
    cr_assert_eq(nexttok_session_rewind(parent, 50), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_rewind(twin, 50), NEXTTOK_OK);
    assert_same_logits(parent, twin, V, "parent rewound");
    feed_both_equal(parent, twin, other, 25, V, "parent fed after the fork's rewind");
    nexttok_session_free(f);
    nexttok_session_free(parent);
    nexttok_session_free(twin);
    nexttok_session_free(fresh);
    nexttok_model_free(m);
}

typedef struct fork_job {
    nexttok_session *fork;
    const nexttok_model *m;
    const int32_t *pre;
    int32_t n_pre;
    uint32_t seed;
    int ok;
} fork_job;

/* Feed the fork its own tokens and compare with a fresh session, on this
 * thread (Criterion asserts only on the main thread: report instead). */
static void *fork_job_run(void *arg)
{
    fork_job *j = arg;
    const int32_t V = nexttok_model_n_vocab_get(j->m);
    int32_t t[24];
    tokens(t, 24, V, j->seed);
    nexttok_session_params p;
    nexttok_session_params_init(&p, sizeof p);
    p.n_ctx = 128;
    p.n_threads = 1;
    nexttok_session *fresh = NULL;
    j->ok = nexttok_session_create(j->m, &p, &fresh) == NEXTTOK_OK &&
            nexttok_session_feed(fresh, j->pre, (size_t)j->n_pre, NULL, 0) == NEXTTOK_OK;
    for (int32_t i = 0; j->ok && i < 24; i++) {
        const float *a, *b;
        j->ok = nexttok_session_feed(j->fork, t + i, 1, NULL, 0) == NEXTTOK_OK &&
                nexttok_session_feed(fresh, t + i, 1, NULL, 0) == NEXTTOK_OK &&
                nexttok_session_logits_get(j->fork, &a) == NEXTTOK_OK &&
                nexttok_session_logits_get(fresh, &b) == NEXTTOK_OK && memcmp(a, b, (size_t)V * sizeof *a) == 0;
    }
    nexttok_session_free(fresh);
    return NULL;
}

/* Eight forks of one prefix fed on four threads at once, the parent freed
 * before they start: each matches a fresh session fed its tokens. */
Test(fork, many_forks_on_threads)
{
    nexttok_model *m = load_fixture("models/llama-tiny-f32.gguf");
    const int32_t V = nexttok_model_n_vocab_get(m);
    int32_t pre[45];
    tokens(pre, 45, V, 8);
    nexttok_session *parent = make(m, 128, 0, 0);
    feed(parent, pre, 45);
    fork_job jobs[8];
    nexttok_session_params p;
    nexttok_session_params_init(&p, sizeof p);
    p.n_threads = 1;
    for (int i = 0; i < 8; i++) {
        jobs[i] = (fork_job){.m = m, .pre = pre, .n_pre = 45, .seed = 100u + (uint32_t)i};
        cr_assert_eq(nexttok_session_fork(parent, &p, &jobs[i].fork), NEXTTOK_OK, "%s", nexttok_error_message());
    }
    nexttok_session_info info = {.struct_size = sizeof info};
    cr_assert_eq(nexttok_session_info_get(parent, &info), NEXTTOK_OK);
    cr_assert_gt(info.kv_bytes_shared, 0, "the parent's written pages are shared with its forks");
    cr_assert_eq(info.kv_bytes_shared, info.kv_bytes_held, "every written page is shared");
    nexttok_session_free(parent);
    for (int round = 0; round < 2; round++) {
        pthread_t th[4];
        for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, fork_job_run, &jobs[round * 4 + i]);
        for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    }
    for (int i = 0; i < 8; i++) {
        cr_assert(jobs[i].ok, "fork %d differs from a fresh session fed its tokens", i);
        nexttok_session_free(jobs[i].fork);
    }
    nexttok_model_free(m);
}

/* What a fork shares: its source's written pages, none copied at fork
 * time; a write copies one page per layer (the one the prefix ends in). */
Test(fork, pages_shared_then_copied)
{
    nexttok_model *m = load_fixture("models/llama-tiny-f32.gguf");
    const int32_t V = nexttok_model_n_vocab_get(m);
    int32_t t[80];
    tokens(t, 80, V, 9);
    nexttok_session *parent = make(m, 128, 0, 0);
    feed(parent, t, 70);
    nexttok_session *f = fork_of(parent);
    nexttok_session_info a = {.struct_size = sizeof a}, b = {.struct_size = sizeof b};
    cr_assert_eq(nexttok_session_info_get(f, &a), NEXTTOK_OK);
    /* 2 layers x 3 pages (positions 0..69) of 32 rows of 2 heads x 8 F32,
     * keys and values */
    const uint64_t page = 2ull * 32 * 2 * 8 * 4;
    cr_assert_eq(a.kv_bytes_held, 2 * 3 * page, "held %llu", (unsigned long long)a.kv_bytes_held);
    cr_assert_eq(a.kv_bytes_shared, a.kv_bytes_held);
    feed(f, t + 70, 1);
    cr_assert_eq(nexttok_session_info_get(f, &b), NEXTTOK_OK);
    cr_assert_eq(b.kv_bytes_shared, 2 * 2 * page, "after a write: %llu shared", (unsigned long long)b.kv_bytes_shared);
    cr_assert_eq(nexttok_session_info_get(parent, &b), NEXTTOK_OK);
    cr_assert_eq(b.kv_bytes_shared, 2 * 2 * page, "the parent's view of the same");
    nexttok_session_free(f);
    nexttok_session_free(parent);
    nexttok_model_free(m);
}

Test(fork, params_checked)
{
    nexttok_model *m = load_fixture("models/aidreams260K.gguf");
    nexttok_session *s = make(m, 64, NEXTTOK_KV_F16, 0);
    int32_t t[5] = {1, 2, 3, 4, 5};
    feed(s, t, 5);
    nexttok_session_params p;
    nexttok_session_params_init(&p, sizeof p);
    nexttok_session *f = (nexttok_session *)1;
    p.n_ctx = 32;
    cr_assert_eq(nexttok_session_fork(s, &p, &f), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_null(f);
    cr_assert(strstr(nexttok_error_message(), "n_ctx") != NULL, "%s", nexttok_error_message());
    p.n_ctx = 0;
    p.kv_type = NEXTTOK_KV_Q8_0;
    cr_assert_eq(nexttok_session_fork(s, &p, &f), NEXTTOK_ERR_INVALID_ARGUMENT);
    p.kv_type = NEXTTOK_KV_F32; /* the default: the source's type */
    p.n_threads = 1;
    cr_assert_eq(nexttok_session_fork(s, &p, &f), NEXTTOK_OK, "%s", nexttok_error_message());
    nexttok_session_info info = {.struct_size = sizeof info};
    cr_assert_eq(nexttok_session_info_get(f, &info), NEXTTOK_OK);
    cr_assert_eq(info.kv_type, NEXTTOK_KV_F16);
    cr_assert_eq(info.n_threads, 1);
    nexttok_session_free(f);
    cr_assert_eq(nexttok_session_fork(NULL, NULL, &f), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_null(f);
    /* a decode-sized batch on a shared pool: no sliding layers here, so
     * the rows are the same; fed alike, fork and source agree bytewise,
     * and the fork's snapshot restores */
    nexttok_pool *pool = NULL;
    cr_assert_eq(nexttok_pool_create(2, &pool), NEXTTOK_OK);
    nexttok_session_params_init(&p, sizeof p);
    p.pool = pool;
    p.n_batch = 16;
    cr_assert_eq(nexttok_session_fork(s, &p, &f), NEXTTOK_OK, "%s", nexttok_error_message());
    const int32_t more[20] = {7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26};
    feed(f, more, 20);
    feed(s, more, 20);
    assert_same_logits(f, s, nexttok_model_n_vocab_get(m), "fork with n_batch 16");
    size_t size;
    unsigned char *buf = snapshot(f, &size);
    nexttok_session *r = restore(m, buf, size);
    assert_same_logits(r, s, nexttok_model_n_vocab_get(m), "restored fork with n_batch 16");
    free(buf);
    nexttok_session_free(r);
    nexttok_session_free(f);
    nexttok_pool_free(pool);
    /* a fork of an empty session has no logits, like its source */
    nexttok_session *e = make(m, 64, 0, 0), *fe = fork_of(e);
    const float *l;
    cr_assert_eq(nexttok_session_logits_get(fe, &l), NEXTTOK_ERR_STATE);
    feed(fe, t, 5);
    nexttok_session_free(e);
    nexttok_session_free(fe);
    nexttok_session_free(s);
    nexttok_model_free(m);
}

/* ---- snapshots ---------------------------------------------------------------------- */

static unsigned char *snapshot(const nexttok_session *s, size_t *size)
{
    cr_assert_eq(nexttok_session_snapshot_write(s, NULL, 0, size), NEXTTOK_OK, "%s", nexttok_error_message());
    unsigned char *buf = malloc(*size);
    cr_assert_not_null(buf);
    size_t got = 0;
    cr_assert_eq(nexttok_session_snapshot_write(s, buf, *size - 1, &got), NEXTTOK_ERR_BUFFER_TOO_SMALL);
    cr_assert_eq(got, *size);
    cr_assert_eq(nexttok_session_snapshot_write(s, buf, *size, &got), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(got, *size);
    return buf;
}

static nexttok_session *restore(const nexttok_model *m, const unsigned char *buf, size_t size)
{
    nexttok_session *r = NULL;
    cr_assert_eq(nexttok_session_restore(m, buf, size, NULL, &r), NEXTTOK_OK, "%s", nexttok_error_message());
    return r;
}

/* Restored, a session's logits and everything fed after are the
 * original's bytes; the snapshot's size is its header, tokens, logits and
 * the rows of the positions used (a ring's kept rows), whatever n_ctx. */
static void round_trip(const char *rel, int32_t kv_type, int32_t n_batch, int32_t n_pre)
{
    nexttok_model *m = load_fixture(rel);
    const int32_t V = nexttok_model_n_vocab_get(m);
    int32_t t[64];
    tokens(t, 64, V, 10);
    nexttok_session *s = make(m, 64, kv_type, n_batch);
    feed(s, t, (size_t)n_pre);
    size_t size;
    unsigned char *buf = snapshot(s, &size);
    nexttok_session *r = restore(m, buf, size);
    cr_assert_eq(nexttok_session_position_get(r), n_pre);
    if (n_pre > 0) {
        assert_same_logits(r, s, V, rel);
    } else {
        const float *l;
        cr_assert_eq(nexttok_session_logits_get(r, &l), NEXTTOK_ERR_STATE, "an empty session has no logits");
    }
    feed_both_equal(r, s, t + n_pre, 64 - n_pre, V, rel);

    nexttok_session_info info = {.struct_size = sizeof info};
    cr_assert_eq(nexttok_session_info_get(s, &info), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_info_get(r, &info), NEXTTOK_OK);
    cr_assert_eq(info.kv_type, kv_type);
    free(buf);
    nexttok_session_free(r);
    nexttok_session_free(s);
    nexttok_model_free(m);
}

Test(snapshot, llama_f32) { round_trip("models/llama-tiny-f32.gguf", NEXTTOK_KV_F32, 0, 37); }
Test(snapshot, gpt2_f32) { round_trip("models/gpt2-tiny-f32.gguf", NEXTTOK_KV_F32, 0, 20); }
Test(snapshot, aidreams_f16) { round_trip("models/aidreams260K.gguf", NEXTTOK_KV_F16, 0, 33); }
Test(snapshot, q8_0_kv) { round_trip("models/llama-q-Q8_0.gguf", NEXTTOK_KV_Q8_0, 0, 40); }
Test(snapshot, q8_0_kv_fast) { round_trip("models/llama-q-Q4_0.gguf", NEXTTOK_KV_Q8_0, 0, 25); }
Test(snapshot, gemma3_ring) { round_trip("arch/gemma3.gguf", NEXTTOK_KV_F32, 4, 37); }
Test(snapshot, gemma2_ring_f16) { round_trip("arch/gemma2.gguf", NEXTTOK_KV_F16, 1, 30); }
Test(snapshot, empty_session) { round_trip("models/llama-tiny-f32.gguf", NEXTTOK_KV_F32, 0, 0); }

Test(snapshot, size_grows_with_tokens_not_context)
{
    nexttok_model *m = load_fixture("models/llama-tiny-f32.gguf");
    const int32_t V = nexttok_model_n_vocab_get(m);
    int32_t t[50];
    tokens(t, 50, V, 11);
    size_t sizes[2];
    const int32_t ctx[2] = {64, 128};
    for (int i = 0; i < 2; i++) {
        nexttok_session *s = make(m, ctx[i], 0, 0);
        feed(s, t, 50);
        cr_assert_eq(nexttok_session_snapshot_write(s, NULL, 0, &sizes[i]), NEXTTOK_OK);
        nexttok_session_info info = {.struct_size = sizeof info};
        cr_assert_eq(nexttok_session_info_get(s, &info), NEXTTOK_OK);
        cr_assert_eq(sizes[i], 160 + 4 * 50 + 4 * (size_t)V + 50 * info.kv_bytes_per_pos, "size %zu", sizes[i]);
        nexttok_session_free(s);
    }
    cr_assert_eq(sizes[0], sizes[1]);
    nexttok_model_free(m);
}

Test(snapshot, file_round_trip)
{
    nexttok_model *m = load_fixture("models/aidreams260K.gguf");
    const int32_t V = nexttok_model_n_vocab_get(m);
    int32_t t[30];
    tokens(t, 30, V, 12);
    nexttok_session *s = make(m, 64, 0, 0);
    feed(s, t, 20);
    char path[] = "/tmp/nt_snapshot_XXXXXX";
    const int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(nexttok_session_snapshot_save(s, path), NEXTTOK_OK, "%s", nexttok_error_message());
    nexttok_session *r = NULL;
    cr_assert_eq(nexttok_session_restore_file(m, path, NULL, &r), NEXTTOK_OK, "%s", nexttok_error_message());
    unlink(path);
    feed_both_equal(r, s, t + 20, 10, V, "restored from a file");
    nexttok_session_free(r);
    cr_assert_eq(nexttok_session_restore_file(m, path, NULL, &r), NEXTTOK_ERR_IO);
    cr_assert_null(r);
    cr_assert(strstr(nexttok_error_message(), path) != NULL, "%s", nexttok_error_message());
    cr_assert_eq(nexttok_session_snapshot_save(s, "/nonexistent-dir/x.snap"), NEXTTOK_ERR_IO);
    nexttok_session_free(s);
    nexttok_model_free(m);
}

/* A small snapshot (tiny random llama, 5 tokens) for the refusals. */
static unsigned char *small_snapshot(nexttok_model **m, size_t *size)
{
    *m = load_tiny(nt_tiny_spec_default("llama"));
    nexttok_session *s = make(*m, 32, 0, 0);
    const int32_t t[5] = {3, 14, 15, 9, 26};
    feed(s, t, 5);
    unsigned char *buf = snapshot(s, size);
    nexttok_session_free(s);
    return buf;
}

static nexttok_status try_restore(const nexttok_model *m, const unsigned char *buf, size_t size)
{
    nexttok_session *r = (nexttok_session *)1;
    const nexttok_status st = nexttok_session_restore(m, buf, size, NULL, &r);
    if (st == NEXTTOK_OK) {
        cr_assert_not_null(r);
        nexttok_session_free(r);
        return st;
    }
    cr_assert_null(r, "a refused restore leaves no session");
    cr_assert_neq(nexttok_error_message()[0], '\0', "status %d without a message", st);
    return st;
}

Test(snapshot, every_truncation_refused)
{
    nexttok_model *m;
    size_t size;
    unsigned char *buf = small_snapshot(&m, &size);
    for (size_t n = 0; n < size; n++) {
        unsigned char *cut = malloc(n ? n : 1); /* exactly n bytes: ASan sees reads past them */
        memcpy(cut, buf, n);
        cr_assert_eq(try_restore(m, cut, n), NEXTTOK_ERR_TRUNCATED, "cut at %zu of %zu: %s", n, size,
                     nexttok_error_message());
        free(cut);
    }
    cr_assert(strstr(nexttok_error_message(), "truncated") != NULL, "%s", nexttok_error_message());
    free(buf);
    nexttok_model_free(m);
}

/* Each header byte flipped: the magic is FORMAT, the version UNSUPPORTED,
 * anything else breaks the header's checksum; each payload byte flipped
 * breaks the payload's. */
Test(snapshot, every_flipped_byte_refused)
{
    nexttok_model *m;
    size_t size;
    unsigned char *buf = small_snapshot(&m, &size);
    for (size_t i = 0; i < size; i++) {
        buf[i] ^= 0x10;
        const nexttok_status want = i < 8 ? NEXTTOK_ERR_FORMAT : i < 12 ? NEXTTOK_ERR_UNSUPPORTED : NEXTTOK_ERR_CHECKSUM;
        cr_assert_eq(try_restore(m, buf, size), want, "byte %zu of %zu flipped: %s", i, size, nexttok_error_message());
        if (want == NEXTTOK_ERR_CHECKSUM)
            cr_assert(strstr(nexttok_error_message(), i < 160 ? "header" : "payload") != NULL, "byte %zu: %s", i,
                      nexttok_error_message());
        buf[i] ^= 0x10;
    }
    cr_assert_eq(try_restore(m, buf, size), NEXTTOK_OK, "%s", nexttok_error_message());
    nexttok_session *r = restore(m, buf, size);
    nexttok_session_free(r);
    /* a trailing byte */
    unsigned char *more = malloc(size + 1);
    memcpy(more, buf, size);
    more[size] = 0;
    cr_assert_eq(try_restore(m, more, size + 1), NEXTTOK_ERR_FORMAT);
    free(more);
    free(buf);
    nexttok_model_free(m);
}

Test(snapshot, another_model_refused)
{
    nexttok_model *m;
    size_t size;
    unsigned char *buf = small_snapshot(&m, &size);
    nt_tiny_spec spec = nt_tiny_spec_default("llama");
    spec.seed = 99; /* same shape, other weights */
    nexttok_model *other = load_tiny(spec);
    cr_assert_eq(try_restore(other, buf, size), NEXTTOK_ERR_MODEL_MISMATCH, "%s", nexttok_error_message());
    cr_assert(strstr(nexttok_error_message(), "another model") != NULL, "%s", nexttok_error_message());
    nexttok_model *fixture = load_fixture("models/llama-tiny-f32.gguf");
    cr_assert_eq(try_restore(fixture, buf, size), NEXTTOK_ERR_MODEL_MISMATCH);
    nexttok_model_free(fixture);
    nexttok_model_free(other);
    free(buf);
    nexttok_model_free(m);
}

/* Re-seal a header after changing it, as a forger would. */
static void reseal(unsigned char *buf)
{
    cr_assert_geq(sodium_init(), 0);
    crypto_generichash(buf + 144, 16, buf, 144, NULL, 0);
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Headers with valid checksums but impossible fields are refused before
 * anything is allocated from them. */
Test(snapshot, forged_headers_refused)
{
    nexttok_model *m;
    size_t size;
    unsigned char *buf = small_snapshot(&m, &size);
    unsigned char *f = malloc(size);
    struct { size_t off; uint32_t value; const char *names; } cases[] = {
        {56, 33, "more than its context"},     /* pos > n_ctx 32 */
        {56, 0x7fffffff, "more than its context"},
        {52, 1u << 30, "context"},                    /* n_ctx past the model's */
        {48, 7, "KV type"},
        {60, 0, "precision"},
        {64, 0, "batch"},
        {88, 65, "tokens x"},                         /* n_vocab */
        {96, 2, "flags"},
        {104, 12345, "payload"},
        {12, 161, "header"},
        {68, 5, "context_full"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(f, buf, size);
        put32(f + cases[i].off, cases[i].value);
        reseal(f);
        const nexttok_status st = try_restore(m, f, size);
        cr_assert(st == NEXTTOK_ERR_FORMAT || st == NEXTTOK_ERR_INVALID_ARGUMENT, "case %zu: status %d", i, st);
        cr_assert(strstr(nexttok_error_message(), cases[i].names) != NULL, "case %zu: %s", i, nexttok_error_message());
    }
    /* a token outside the vocabulary, payload re-sealed too */
    memcpy(f, buf, size);
    put32(f + 160, 1000);
    crypto_generichash(f + 112, 32, f + 160, size - 160, NULL, 0);
    reseal(f);
    cr_assert_eq(try_restore(m, f, size), NEXTTOK_ERR_FORMAT, "%s", nexttok_error_message());
    free(f);
    free(buf);
    nexttok_model_free(m);
}

/* ---- context shift ------------------------------------------------------------------ */

static nexttok_session *make_shift(const nexttok_model *m, int32_t n_ctx, int32_t n_keep, int32_t n_discard,
                                   int32_t kv_type)
{
    nexttok_session_params p;
    nexttok_session_params_init(&p, sizeof p);
    p.n_ctx = n_ctx;
    p.n_threads = 1;
    p.kv_type = kv_type;
    p.context_full = NEXTTOK_CONTEXT_SHIFT;
    p.n_keep = n_keep;
    p.n_discard = n_discard;
    nexttok_session *s = NULL;
    cr_assert_eq(nexttok_session_create(m, &p, &s), NEXTTOK_OK, "%s", nexttok_error_message());
    return s;
}

Test(shift, refused_where_it_cannot_work)
{
    const char *rels[] = {"models/gpt2-tiny-f32.gguf", "arch/gemma3.gguf"};
    const char *why[] = {"learned absolute", "sliding-window"};
    for (int i = 0; i < 2; i++) {
        nexttok_model *m = load_fixture(rels[i]);
        nexttok_session_params p;
        nexttok_session_params_init(&p, sizeof p);
        p.n_ctx = 32;
        p.context_full = NEXTTOK_CONTEXT_SHIFT;
        nexttok_session *s = (nexttok_session *)1;
        cr_assert_eq(nexttok_session_create(m, &p, &s), NEXTTOK_ERR_UNSUPPORTED, "%s", rels[i]);
        cr_assert_null(s);
        cr_assert(strstr(nexttok_error_message(), why[i]) != NULL, "%s", nexttok_error_message());
        nexttok_model_free(m);
    }
    nexttok_model *m = load_fixture("models/llama-tiny-f32.gguf");
    nexttok_session_params p;
    nexttok_session_params_init(&p, sizeof p);
    p.n_ctx = 32;
    p.context_full = NEXTTOK_CONTEXT_SHIFT;
    p.n_keep = 32;
    nexttok_session *s = NULL;
    cr_assert_eq(nexttok_session_create(m, &p, &s), NEXTTOK_ERR_INVALID_ARGUMENT);
    p.n_keep = 4;
    p.n_discard = 29;
    cr_assert_eq(nexttok_session_create(m, &p, &s), NEXTTOK_ERR_INVALID_ARGUMENT);
    p.n_discard = 0;
    p.context_full = 2;
    cr_assert_eq(nexttok_session_create(m, &p, &s), NEXTTOK_ERR_INVALID_ARGUMENT);
    nexttok_model_free(m);
}

/* With room the policy changes nothing; the token that does not fit
 * drops half of what follows the kept ones, and the history is the kept
 * tokens in order. */
Test(shift, when_and_what)
{
    nexttok_model *m = load_fixture("models/llama-tiny-f32.gguf");
    const int32_t V = nexttok_model_n_vocab_get(m);
    int32_t t[40];
    tokens(t, 40, V, 13);
    nexttok_session *s = make_shift(m, 32, 4, 0, 0), *plain = make(m, 32, 0, 0);
    for (int32_t i = 0; i < 32; i++) {
        feed(s, t + i, 1);
        feed(plain, t + i, 1);
        assert_same_logits(s, plain, V, "before the context is full");
    }
    cr_assert_eq(nexttok_session_feed(plain, t + 32, 1, NULL, 0), NEXTTOK_ERR_CONTEXT_FULL);
    feed(s, t + 32, 1);
    /* 28 after the 4 kept: 14 dropped, 14 moved down, then the new one */
    cr_assert_eq(nexttok_session_position_get(s), 4 + 14 + 1);
    nexttok_session_info info = {.struct_size = sizeof info};
    cr_assert_eq(nexttok_session_info_get(s, &info), NEXTTOK_OK);
    cr_assert_eq(info.n_shifted, 14);
    int32_t want[25];
    memcpy(want, t, 4 * sizeof *t);
    memcpy(want + 4, t + 18, 15 * sizeof *t);
    cr_assert(memcmp(s->tokens, want, 19 * sizeof *t) == 0, "kept tokens");
    nexttok_session_free(s);
    nexttok_session_free(plain);

    /* a fixed n_discard of 10 */
    s = make_shift(m, 32, 2, 10, 0);
    feed(s, t, 32);
    feed(s, t + 32, 3);
    cr_assert_eq(nexttok_session_position_get(s), 32 - 10 + 3);
    memcpy(want, t, 2 * sizeof *t);
    memcpy(want + 2, t + 12, 23 * sizeof *t);
    cr_assert(memcmp(s->tokens, want, 25 * sizeof *t) == 0, "kept tokens, n_discard 10");
    nexttok_session_free(s);
    nexttok_model_free(m);
}

/* Shifts fall where the context fills whatever the feed's chunks, so one
 * long feed (three shifts) gives a token-by-token run's bytes. */
Test(shift, long_feed_equals_stepwise)
{
    nexttok_model *m = load_fixture("models/llama-tiny-f32.gguf");
    const int32_t V = nexttok_model_n_vocab_get(m);
    int32_t t[80];
    tokens(t, 80, V, 14);
    nexttok_session *a = make_shift(m, 32, 3, 0, 0), *b = make_shift(m, 32, 3, 0, 0);
    float *rows = malloc((size_t)80 * V * sizeof *rows);
    cr_assert_eq(nexttok_session_feed(a, t, 80, rows, (size_t)80 * V), NEXTTOK_OK, "%s", nexttok_error_message());
    for (int32_t i = 0; i < 80; i++) {
        feed(b, t + i, 1);
        cr_assert(memcmp(rows + (size_t)i * V, logits(b), (size_t)V * sizeof *rows) == 0, "row %d", i);
    }
    assert_same_logits(a, b, V, "after the long feed");
    cr_assert_eq(nexttok_session_position_get(a), nexttok_session_position_get(b));
    free(rows);
    nexttok_session_free(a);
    nexttok_session_free(b);
    nexttok_model_free(m);
}

/* In a one-layer model a position's key and value depend only on its token
 * and position, so after a shift the cache is a fresh run's over the kept
 * tokens but for rounding: the values move bytewise, and a key turned by
 * -d after +p differs from one turned by p - d by the rounding of the two
 * rotations to F32 (each pair's error within 2^-24 of its length per
 * rotation, so 4 x 2^-24 of the pair's length covers both with room).
 * The next logits then agree within float bounds too: scores move by
 * |q| |dk| ~ 1e-7 relative, so 1e-5 x max(1, |logit|) has a 100x margin. */
static void shift_close(const char *arch, int32_t kv_type, float key_bound, float logit_bound)
{
    nt_tiny_spec spec = nt_tiny_spec_default(arch);
    spec.n_layer = 1;
    spec.n_ctx = 64;
    spec.n_embd = 64;
    spec.n_head = 2;
    spec.n_head_kv = 1;
    nexttok_model *m = load_tiny(spec);
    const int32_t V = nexttok_model_n_vocab_get(m);
    int32_t t[60];
    tokens(t, 60, V, 15);
    nexttok_session *s = make_shift(m, 48, 5, 20, kv_type);
    feed(s, t, 48);
    feed(s, t + 48, 1); /* drops t[5..25): kept t[0..5) t[25..49) */
    cr_assert_eq(nexttok_session_position_get(s), 29);
    int32_t kept[29];
    memcpy(kept, t, 5 * sizeof *t);
    memcpy(kept + 5, t + 25, 24 * sizeof *t);
    nexttok_session *f = make(m, 48, kv_type, 0);
    feed(f, kept, 29);
    const nt_kv_view *vs = &s->view, *vf = &f->view;
    const int32_t kv_dim = s->kv.kv_dim;
    float a[64], b[64];
    const nt_type_kernels *kern = nt_type_kernels_get(s->kv.type);
    for (int32_t p = 0; p < 29; p++) {
        cr_assert(memcmp(nt_kv_v_row(vs, 0, p), nt_kv_v_row(vf, 0, p), s->kv.row_bytes) == 0, "value row %d", p);
        kern->to_float(nt_kv_k_row(vs, 0, p), a, kv_dim);
        kern->to_float(nt_kv_k_row(vf, 0, p), b, kv_dim);
        for (int32_t h0 = 0; h0 < kv_dim; h0 += s->kv.head_dim) {
            /* every pair of the head is at most sqrt(2) x its largest value long */
            float big = 0.0f;
            for (int32_t i = h0; i < h0 + s->kv.head_dim; i++) big = fmaxf(big, fabsf(b[i]));
            for (int32_t i = h0; i < h0 + s->kv.head_dim; i++)
                cr_assert(fabsf(a[i] - b[i]) <= key_bound * 1.4142136f * big, "%s: key %d[%d]: %.9g vs %.9g", arch, p,
                          i, a[i], b[i]);
        }
    }
    const float *ls = logits(s), *lf = logits(f);
    float mx = 1.0f;
    for (int32_t i = 0; i < V; i++) mx = fmaxf(mx, fabsf(lf[i]));
    for (int32_t i = 0; i < V; i++)
        cr_assert(fabsf(ls[i] - lf[i]) <= logit_bound * mx, "%s: logit %d: %.9g vs %.9g", arch, i, ls[i], lf[i]);
    /* and so on after another token */
    feed(s, t + 49, 1);
    feed(f, t + 49, 1);
    ls = logits(s);
    lf = logits(f);
    for (int32_t i = 0; i < V; i++)
        cr_assert(fabsf(ls[i] - lf[i]) <= logit_bound * mx, "%s: next logit %d: %.9g vs %.9g", arch, i, ls[i], lf[i]);
    nexttok_session_free(s);
    nexttok_session_free(f);
    nexttok_model_free(m);
}

Test(shift, one_layer_llama_close_to_fresh) { shift_close("llama", NEXTTOK_KV_F32, 4 * 0x1p-24f, 1e-5f); }
/* NeoX-style rotation (Qwen2's) */
Test(shift, one_layer_qwen2_close_to_fresh) { shift_close("qwen2", NEXTTOK_KV_F32, 4 * 0x1p-24f, 1e-5f); }
/* F16 rows: decoded, turned and rounded to F16 again, so within two F16
 * roundings (2 x 2^-11) of the pair's length */
Test(shift, one_layer_f16_close_to_fresh) { shift_close("llama", NEXTTOK_KV_F16, 2 * 0x1p-11f, 1e-2f); }

/* Later layers saw the dropped tokens: the shifted logits are not a fresh
 * run's (what the header documents), though the session runs on. */
Test(shift, deeper_layers_differ_from_fresh)
{
    nexttok_model *m = load_fixture("models/llama-tiny-f32.gguf");
    const int32_t V = nexttok_model_n_vocab_get(m);
    int32_t t[40];
    tokens(t, 40, V, 16);
    nexttok_session *s = make_shift(m, 32, 4, 0, 0);
    feed(s, t, 33);
    int32_t kept[19];
    memcpy(kept, t, 4 * sizeof *t);
    memcpy(kept + 4, t + 18, 15 * sizeof *t);
    nexttok_session *f = make(m, 32, 0, 0);
    feed(f, kept, 19);
    cr_assert(memcmp(logits(s), logits(f), (size_t)V * sizeof(float)) != 0, "two layers: shifted equals fresh");
    nexttok_session_free(s);
    nexttok_session_free(f);
    nexttok_model_free(m);
}

/* A shifted session snapshots and restores like any other. */
Test(shift, snapshot_after_shift)
{
    nexttok_model *m = load_fixture("models/llama-tiny-f32.gguf");
    const int32_t V = nexttok_model_n_vocab_get(m);
    int32_t t[60];
    tokens(t, 60, V, 17);
    nexttok_session *s = make_shift(m, 32, 4, 0, 0);
    feed(s, t, 40);
    size_t size;
    unsigned char *buf = snapshot(s, &size);
    nexttok_session *r = restore(m, buf, size);
    feed_both_equal(r, s, t + 40, 20, V, "restored shifting session");
    nexttok_session_info a = {.struct_size = sizeof a}, b = {.struct_size = sizeof b};
    cr_assert_eq(nexttok_session_info_get(s, &a), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_info_get(r, &b), NEXTTOK_OK);
    cr_assert_eq(a.n_shifted, b.n_shifted);
    cr_assert_gt(a.n_shifted, 0);
    free(buf);
    nexttok_session_free(r);
    nexttok_session_free(s);
    nexttok_model_free(m);
}
