/* Seeds for fuzz_snapshot: snapshots of aidreams260K sessions of several
 * shapes (empty, one token, F16 rows, a small batch, a shifted context).
 *
 *   fuzz_snapshot_seeds OUT_DIR MODEL.gguf */
#include <stdio.h>
#include <stdlib.h>

#include "nexttok.h"

static int write_seed(const char *dir, const char *name, const nexttok_model *m, int32_t n_ctx, int32_t kv_type,
                      int32_t n_batch, int32_t shift, int32_t n_tokens)
{
    nexttok_session_params p;
    nexttok_session_params_init(&p, sizeof p);
    p.n_ctx = n_ctx;
    p.n_threads = 1;
    p.kv_type = kv_type;
    p.n_batch = n_batch;
    if (shift) {
        p.context_full = NEXTTOK_CONTEXT_SHIFT;
        p.n_keep = 2;
    }
    nexttok_session *s = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    nexttok_status st = nexttok_session_create(m, &p, &s);
    for (int32_t i = 0; st == NEXTTOK_OK && i < n_tokens; i++) {
        const int32_t tok = (i * 37 + 1) % nexttok_model_n_vocab_get(m);
        st = nexttok_session_feed(s, &tok, 1, NULL, 0);
    }
    if (st == NEXTTOK_OK) st = nexttok_session_snapshot_save(s, path);
    nexttok_session_free(s);
    if (st != NEXTTOK_OK) fprintf(stderr, "fuzz_snapshot_seeds: %s: %s\n", path, nexttok_error_message());
    return st != NEXTTOK_OK;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fuzz_snapshot_seeds OUT_DIR MODEL.gguf\n");
        return 2;
    }
    nexttok_model *m = NULL;
    if (nexttok_model_load(argv[2], NULL, &m) != NEXTTOK_OK) {
        fprintf(stderr, "fuzz_snapshot_seeds: %s\n", nexttok_error_message());
        return 1;
    }
    int bad = write_seed(argv[1], "empty.snap", m, 16, NEXTTOK_KV_F32, 0, 0, 0);
    bad |= write_seed(argv[1], "one.snap", m, 16, NEXTTOK_KV_F32, 0, 0, 1);
    bad |= write_seed(argv[1], "f16.snap", m, 32, NEXTTOK_KV_F16, 0, 0, 5);
    bad |= write_seed(argv[1], "batch4.snap", m, 24, NEXTTOK_KV_F32, 4, 0, 7);
    bad |= write_seed(argv[1], "shifted.snap", m, 8, NEXTTOK_KV_F32, 0, 1, 11);
    nexttok_model_free(m);
    return bad;
}
