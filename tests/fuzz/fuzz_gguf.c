/* libFuzzer target: the GGUF container reader on arbitrary bytes.
 * Parses the input in place, then touches everything a parsed nt_gguf
 * promises is valid (every key, every array element, every tensor's data
 * bytes) and runs the typed getters over every key, so ASan sees any
 * pointer that escapes the buffer. Vocabularies that parse also build a
 * tokenizer and encode/decode a short text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "nexttok.h"
#include "fuzz/gguf_mutate.h"
#include "tokenizer/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

static void touch(const void *p, uint64_t n)
{
    const volatile uint8_t *b = p;
    uint64_t acc = 0;
    for (uint64_t i = 0; i < n; i++) acc += b[i];
    sink += acc;
}

static void walk_kv(const nt_gguf *g, const nt_gguf_kv *kv)
{
    touch(kv->key, strlen(kv->key));
    if (nt_gguf_kv_find(g, kv->key) == NULL) abort(); /* a key present must be found */
    int64_t i;
    double f;
    bool b;
    nt_str s;
    const nt_gguf_kv *arr;
    (void)nt_gguf_get_int(g, kv->key, &i);
    (void)nt_gguf_get_float(g, kv->key, &f);
    (void)nt_gguf_get_bool(g, kv->key, &b);
    if (nt_gguf_get_str(g, kv->key, &s) == NEXTTOK_OK) touch(s.ptr, s.len);
    if (kv->type != NT_GGUF_ARRAY) return;
    if (nt_gguf_get_arr(g, kv->key, kv->arr_type, &arr) != NEXTTOK_OK) return;
    for (uint64_t k = 0; k < arr->arr_len; k++) {
        switch (arr->arr_type) {
        case NT_GGUF_STRING: touch(arr->arr_strs[k].ptr, arr->arr_strs[k].len); break;
        case NT_GGUF_FLOAT32: sink += (uint64_t)(nt_gguf_arr_f32(arr, k) != 0.0f); break;
        case NT_GGUF_INT32: sink += (uint64_t)nt_gguf_arr_i32(arr, k); break;
        case NT_GGUF_UINT8: case NT_GGUF_INT8: case NT_GGUF_UINT16: case NT_GGUF_INT16:
        case NT_GGUF_UINT32: case NT_GGUF_UINT64: case NT_GGUF_INT64:
            sink += (uint64_t)nt_gguf_arr_int(arr, k);
            break;
        default: break;
        }
    }
}

static void tokenize(const nt_gguf *g)
{
    nexttok_tokenizer *t = NULL;
    if (nt_tokenizer_from_gguf(g, &t) != NEXTTOK_OK) return;
    static const char text[] = "Hello world! <s> 123 \xc3\xa9\xff  x";
    int32_t ids[256];
    size_t n = 0;
    for (uint32_t flags = 0; flags < 4; flags++) {
        if (nexttok_tokenizer_encode(t, text, sizeof text - 1, flags, ids, 256, &n) != NEXTTOK_OK) continue;
        char out[4096];
        size_t len;
        if (nexttok_tokenizer_decode(t, ids, n, 0, out, sizeof out, &len) == NEXTTOK_ERR_INVALID_ARGUMENT)
            abort(); /* ids the tokenizer produced always decode */
    }
    for (int32_t id = 0; id < nexttok_tokenizer_n_vocab_get(t) && id < 512; id++) {
        char out[256];
        size_t len;
        (void)nexttok_tokenizer_piece_get(t, id, out, sizeof out, &len);
        (void)nexttok_tokenizer_decode(t, &id, 1, 0, out, sizeof out, &len);
    }
    nexttok_tokenizer_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A private copy, sized exactly, so reads past the end are caught. */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    nt_gguf *g = NULL;
    if (nt_gguf_parse(buf, size, &g) == NEXTTOK_OK) {
        for (uint64_t k = 0; k < g->n_kv; k++) walk_kv(g, &g->kv[k]);
        for (uint64_t k = 0; k < g->n_tensors; k++) {
            const nt_gguf_tensor *t = &g->tensors[k];
            if (nt_gguf_tensor_find(g, t->name) == NULL) abort();
            touch(t->data, t->nbytes);
        }
        tokenize(g);
        nt_gguf_close(g);
    } else if (g != NULL) {
        abort(); /* failure must leave the output NULL */
    } else if (nexttok_error_message()[0] == '\0') {
        abort(); /* every failure names its problem */
    }
    free(buf);
    return 0;
}
