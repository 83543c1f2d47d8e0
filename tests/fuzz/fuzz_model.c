/* libFuzzer target: nexttok_model_load on arbitrary files (written to a
 * memfd and opened by its /proc path), full and metadata-only; every
 * inspection call on what loads; a tokenizer from its metadata; and, when
 * the model is runnable, a session with a small context fed a few tokens. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nexttok.h"
#include "fuzz/gguf_mutate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void failed_cleanly(nexttok_status st, const void *out)
{
    if (st == NEXTTOK_OK) return;
    if (out != NULL || nexttok_error_message()[0] == '\0') abort(); /* half-made or unexplained */
}

/* Any outcome will do for calls on fuzzed input, but a failure is explained. */
static void explained(nexttok_status st)
{
    if (st != NEXTTOK_OK && nexttok_error_message()[0] == '\0') abort();
}

static void inspect(const nexttok_model *m)
{
    nexttok_model_info info = {.struct_size = sizeof info};
    if (nexttok_model_info_get(m, &info) != NEXTTOK_OK) abort();
    size_t n = nexttok_model_tensor_count_get(m);
    for (size_t i = 0; i < n; i++) {
        nexttok_tensor_info ti = {.struct_size = sizeof ti};
        if (nexttok_model_tensor_info_get(m, i, &ti) != NEXTTOK_OK) abort();
        uint8_t d[NEXTTOK_DIGEST_BYTES];
        explained(nexttok_model_tensor_digest_get(m, i, d));
    }
    size_t n_meta = nexttok_model_meta_count_get(m);
    for (size_t i = 0; i < n_meta; i++) {
        char key[64], value[128], tiny[3];
        if (nexttok_model_meta_get(m, i, key, sizeof key, value, sizeof value) != NEXTTOK_OK) abort();
        if (nexttok_model_meta_get(m, i, tiny, sizeof tiny, tiny, sizeof tiny) != NEXTTOK_OK) abort();
    }
    uint8_t digest[NEXTTOK_DIGEST_BYTES];
    if (nexttok_model_digest_get(m, digest) != NEXTTOK_OK) abort();
    if (nexttok_model_verify(m, digest) != NEXTTOK_OK) abort();
}

static void tokenize(const nexttok_model *m, nexttok_session *s)
{
    nexttok_tokenizer *t = NULL;
    nexttok_status st = nexttok_tokenizer_create(m, &t);
    failed_cleanly(st, t);
    if (st) return;
    static const char text[] = "Hi there, <s>12\xe2\x82\xac\xff!";
    int32_t ids[64];
    size_t n = 0;
    if (nexttok_tokenizer_encode(t, text, sizeof text - 1, 3, ids, 64, &n) == NEXTTOK_OK) {
        char back[1024];
        size_t len;
        st = nexttok_tokenizer_decode(t, ids, n, 0, back, sizeof back, &len);
        if (st != NEXTTOK_OK && st != NEXTTOK_ERR_BUFFER_TOO_SMALL) abort();
    }
    if (s) explained(nexttok_session_text_feed(s, t, "ab", 2, 0));
    nexttok_tokenizer_free(t);
}

static void run(const nexttok_model *m)
{
    nexttok_session_params sp;
    nexttok_session_params_init(&sp, sizeof sp);
    sp.n_ctx = 4;
    sp.n_threads = 1;
    nexttok_session *s = NULL;
    nexttok_status st = nexttok_session_create(m, &sp, &s);
    failed_cleanly(st, s);
    if (st) {
        tokenize(m, NULL);
        return;
    }
    int32_t nv = nexttok_model_n_vocab_get(m);
    int32_t toks[3] = {0, nv > 1 ? 1 : 0, nv - 1};
    float *logits = malloc(3 * (size_t)nv * sizeof *logits);
    if (logits && nexttok_session_feed(s, toks, 3, logits, 3 * (size_t)nv) == NEXTTOK_OK) {
        float *probs = malloc((size_t)nv * sizeof *probs);
        if (probs) explained(nexttok_session_probs_get(s, 1.0f, probs, (size_t)nv));
        nexttok_token_prob top[4];
        size_t n_top;
        explained(nexttok_session_topk_get(s, 0.7f, 4, top, &n_top));
        explained(nexttok_session_rewind(s, 1));
        explained(nexttok_session_feed(s, &toks[2], 1, NULL, 0));
        free(probs);
    }
    free(logits);
    tokenize(m, s);
    nexttok_session_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz_model", 0);
    if (fd < 0) return 0;
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(fd, data + done, size - done);
        if (w <= 0) break;
        done += (size_t)w;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    for (int meta = 0; meta < 2; meta++) {
        nexttok_model_params p;
        nexttok_model_params_init(&p, sizeof p);
        p.metadata_only = meta;
        nexttok_model *m = NULL;
        nexttok_status st = nexttok_model_load(path, &p, &m);
        failed_cleanly(st, m);
        if (st) continue;
        inspect(m);
        if (!meta) run(m);
        else tokenize(m, NULL);
        nexttok_model_free(m);
    }
    close(fd);
    return 0;
}
