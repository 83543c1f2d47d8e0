/* Seed writer for fuzz_model and fuzz_gguf, into the folder given as the
 * first argument: small runnable GPT-2 and Llama models in each weight type
 * the tiny-model writer knows, and cut-down vocabularies (the first tokens
 * and merges of each fixture vocabulary given as a further argument), alone
 * and inside the tiny models. Small on purpose: the fuzzers' -max_len would
 * truncate the fixtures themselves, and a mutated seed must stay cheap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "support/tiny_model.h"
#include "types/types.h"

#define SEED_TOKENS 300
#define SEED_MERGES 200

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static size_t vtype_size(nt_gguf_vtype t)
{
    switch (t) {
    case NT_GGUF_UINT8: case NT_GGUF_INT8: case NT_GGUF_BOOL: return 1;
    case NT_GGUF_UINT16: case NT_GGUF_INT16: return 2;
    case NT_GGUF_UINT32: case NT_GGUF_INT32: case NT_GGUF_FLOAT32: return 4;
    case NT_GGUF_UINT64: case NT_GGUF_INT64: case NT_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

/* Copy the tokenizer.* keys of `g` into `w`, arrays cut to the first
 * SEED_TOKENS tokens (SEED_MERGES merges); special ids past the cut are
 * dropped so the small vocabulary stays valid. */
static void copy_vocab(const nt_gguf *g, nt_gw *w)
{
    for (uint64_t k = 0; k < g->n_kv; k++) {
        const nt_gguf_kv *kv = &g->kv[k];
        if (strncmp(kv->key, "tokenizer.", 10) != 0) continue;
        switch (kv->type) {
        case NT_GGUF_STRING: nt_gw_add_strn(w, kv->key, kv->v.str.ptr, kv->v.str.len); break;
        case NT_GGUF_BOOL: nt_gw_add_bool(w, kv->key, kv->v.b); break;
        case NT_GGUF_FLOAT32: case NT_GGUF_FLOAT64: nt_gw_add_f32(w, kv->key, (float)kv->v.f64); break;
        case NT_GGUF_ARRAY: {
            uint64_t cap = ends_with(kv->key, "merges") ? SEED_MERGES : SEED_TOKENS;
            uint64_t n = kv->arr_len < cap ? kv->arr_len : cap;
            if (kv->arr_type == NT_GGUF_STRING) {
                char **s = calloc(n ? n : 1, sizeof *s);
                for (uint64_t i = 0; i < n; i++) s[i] = strndup(kv->arr_strs[i].ptr, kv->arr_strs[i].len);
                nt_gw_add_arr_str(w, kv->key, (const char *const *)s, n);
                for (uint64_t i = 0; i < n; i++) free(s[i]);
                free(s);
            } else if (vtype_size(kv->arr_type)) {
                nt_gw_add_arr(w, kv->key, kv->arr_type, kv->arr_data, n);
            }
            break;
        }
        default: /* integers */
            if (ends_with(kv->key, "_token_id") && kv->v.u64 >= SEED_TOKENS) break;
            nt_gw_add_u32(w, kv->key, (uint32_t)kv->v.u64);
            break;
        }
    }
}

static void write_or_die(nt_gw *w, const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!nt_gw_write_file(w, path)) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    nt_gw_free(w);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s OUT_DIR [VOCAB.gguf...]\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    static const char *const archs[] = {"gpt2", "llama"};
    static const struct { const char *name; uint32_t type; int n_embd; } types[] = {
        {"f32", NT_TYPE_F32, 8}, {"f16", NT_TYPE_F16, 8}, {"bf16", NT_TYPE_BF16, 8},
        {"q8_0", NT_TYPE_Q8_0, 32}, {"q4_0", NT_TYPE_Q4_0, 32},
    };
    for (size_t a = 0; a < 2; a++) {
        for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
            for (int tied = 0; tied < 2; tied++) {
                nt_tiny_spec sp = nt_tiny_spec_default(archs[a]);
                sp.weight_type = types[k].type;
                sp.round_to = types[k].type == NT_TYPE_BF16 ? NT_TYPE_BF16
                            : types[k].type == NT_TYPE_F16 ? NT_TYPE_F16 : NT_TYPE_F32;
                sp.tied_output = tied;
                sp.n_vocab = 16;
                sp.n_embd = types[k].n_embd;
                sp.n_layer = 1;
                sp.n_head = 2;
                sp.n_head_kv = a == 0 ? 2 : 1;
                sp.n_ff = 12;
                sp.n_ctx = 8;
                char name[128];
                snprintf(name, sizeof name, "tiny-%s-%s%s.gguf", archs[a], types[k].name, tied ? "-tied" : "");
                write_or_die(nt_tiny_model_writer(&sp), dir, name);
            }
        }
    }
    for (int i = 2; i < argc; i++) {
        nt_gguf *g;
        if (nt_gguf_open(argv[i], &g) != NEXTTOK_OK) {
            fprintf(stderr, "skipping %s\n", argv[i]);
            continue;
        }
        const char *base = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
        nt_str model = {"", 0};
        (void)nt_gguf_get_str(g, "tokenizer.ggml.model", &model);
        char name[512];
        /* Vocabulary alone. */
        nt_gw *w = nt_gw_new();
        nt_gw_add_str(w, "general.architecture", nt_str_eq(model, "llama") ? "llama" : "gpt2");
        copy_vocab(g, w);
        snprintf(name, sizeof name, "cut-%s", base);
        write_or_die(w, dir, name);
        /* Inside a runnable model of the matching family. */
        nt_tiny_spec sp = nt_tiny_spec_default(nt_str_eq(model, "llama") ? "llama" : "gpt2");
        sp.n_vocab = SEED_TOKENS;
        sp.n_embd = 8;
        sp.n_layer = 1;
        sp.n_head = 2;
        sp.n_head_kv = 2;
        sp.n_ff = 12;
        sp.n_ctx = 8;
        w = nt_tiny_model_writer(&sp);
        copy_vocab(g, w);
        snprintf(name, sizeof name, "model-%s", base);
        write_or_die(w, dir, name);
        nt_gguf_close(g);
    }
    return 0;
}
