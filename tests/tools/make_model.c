/* Write a random-weight GPT-2 or Llama GGUF of any shape, for benchmarks:
 *   make_model OUT.gguf ARCH TYPE n_vocab n_embd n_layer n_head n_head_kv n_ff n_ctx
 * ARCH is gpt2 or llama; TYPE is f32, f16, bf16, q8_0 or q4_0 (matrices
 * quantized by the reference quantizer of tests/support/quantize.c; norms
 * and biases stay F32; llama-quantize makes the K-quant mixes from an f32
 * or f16 file). The file also holds a minimal SentencePiece vocabulary of
 * n_vocab tokens (<unk>, <s>, </s>, the 256 byte tokens, then filler
 * pieces) so that llama.cpp's tools, which refuse a GGUF without one, load
 * it too; n_vocab must be at least 259. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/tiny_model.h"
#include "types/types.h"

#define MIN_VOCAB 259 /* 3 special tokens + 256 byte tokens */

static int usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s OUT.gguf gpt2|llama f32|f16|bf16|q8_0|q4_0 n_vocab n_embd n_layer n_head "
            "n_head_kv n_ff n_ctx\n",
            prog);
    return 2;
}

/* Strict positive decimal int (no junk, no overflow). */
static int parse_count(const char *s, const char *what, int *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 1 || v > INT32_MAX) {
        fprintf(stderr, "make_model: %s: '%s' is not a positive integer\n", what, s);
        return 0;
    }
    *out = (int)v;
    return 1;
}

/* tokenizer.ggml.* keys of a SentencePiece ("llama") vocabulary laid out
 * as Llama's: ids 0-2 special, 3-258 the bytes <0x00>..<0xFF>. */
static int add_vocab(nt_gw *w, int n_vocab)
{
    char **tokens = calloc((size_t)n_vocab, sizeof *tokens);
    float *scores = malloc((size_t)n_vocab * sizeof *scores);
    int32_t *types = malloc((size_t)n_vocab * sizeof *types);
    int ok = tokens && scores && types;
    for (int i = 0; ok && i < n_vocab; i++) {
        char buf[32];
        int32_t type = 1; /* normal */
        if (i == 0) snprintf(buf, sizeof buf, "<unk>"), type = 2;
        else if (i == 1) snprintf(buf, sizeof buf, "<s>"), type = 3;
        else if (i == 2) snprintf(buf, sizeof buf, "</s>"), type = 3;
        else if (i < MIN_VOCAB) snprintf(buf, sizeof buf, "<0x%02X>", i - 3), type = 6;
        else snprintf(buf, sizeof buf, "\xe2\x96\x81t%d", i); /* "▁t<i>" */
        tokens[i] = strdup(buf);
        scores[i] = type == 1 ? -(float)(i - MIN_VOCAB) : 0.0f;
        types[i] = type;
        ok = tokens[i] != NULL;
    }
    if (ok) {
        nt_gw_add_str(w, "tokenizer.ggml.model", "llama");
        nt_gw_add_str(w, "tokenizer.ggml.pre", "default");
        nt_gw_add_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)tokens, (uint64_t)n_vocab);
        nt_gw_add_arr(w, "tokenizer.ggml.scores", NT_GGUF_FLOAT32, scores, (uint64_t)n_vocab);
        nt_gw_add_arr(w, "tokenizer.ggml.token_type", NT_GGUF_INT32, types, (uint64_t)n_vocab);
        nt_gw_add_u32(w, "tokenizer.ggml.unknown_token_id", 0);
        nt_gw_add_u32(w, "tokenizer.ggml.bos_token_id", 1);
        nt_gw_add_u32(w, "tokenizer.ggml.eos_token_id", 2);
    }
    for (int i = 0; tokens && i < n_vocab; i++) free(tokens[i]);
    free(tokens);
    free(scores);
    free(types);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc != 11) return usage(argv[0]);
    const char *arch = argv[2], *type_name = argv[3];
    if (strcmp(arch, "gpt2") != 0 && strcmp(arch, "llama") != 0) {
        fprintf(stderr, "make_model: unknown architecture '%s' (gpt2 or llama)\n", arch);
        return 2;
    }
    uint32_t type;
    if (strcmp(type_name, "f32") == 0) type = NT_TYPE_F32;
    else if (strcmp(type_name, "f16") == 0) type = NT_TYPE_F16;
    else if (strcmp(type_name, "bf16") == 0) type = NT_TYPE_BF16;
    else if (strcmp(type_name, "q8_0") == 0) type = NT_TYPE_Q8_0;
    else if (strcmp(type_name, "q4_0") == 0) type = NT_TYPE_Q4_0;
    else {
        fprintf(stderr, "make_model: unknown weight type '%s' (f32, f16, bf16, q8_0 or q4_0; "
                        "use llama-quantize for K-quants)\n", type_name);
        return 2;
    }
    nt_tiny_spec sp = nt_tiny_spec_default(arch);
    sp.weight_type = type;
    sp.round_to = type == NT_TYPE_Q8_0 || type == NT_TYPE_Q4_0 ? NT_TYPE_F32 : type;
    static const char *const names[] = {"n_vocab", "n_embd", "n_layer", "n_head",
                                        "n_head_kv", "n_ff", "n_ctx"};
    int *fields[] = {&sp.n_vocab, &sp.n_embd, &sp.n_layer, &sp.n_head,
                     &sp.n_head_kv, &sp.n_ff, &sp.n_ctx};
    for (int i = 0; i < 7; i++)
        if (!parse_count(argv[4 + i], names[i], fields[i])) return 2;
    if (sp.n_vocab < MIN_VOCAB) {
        fprintf(stderr, "make_model: n_vocab %d: at least %d (special and byte tokens)\n",
                sp.n_vocab, MIN_VOCAB);
        return 2;
    }
    if (sp.n_embd % sp.n_head != 0 || sp.n_head % sp.n_head_kv != 0) {
        fprintf(stderr, "make_model: n_embd %d, n_head %d, n_head_kv %d: n_head must divide "
                        "n_embd and n_head_kv n_head\n", sp.n_embd, sp.n_head, sp.n_head_kv);
        return 2;
    }
    if ((type == NT_TYPE_Q8_0 || type == NT_TYPE_Q4_0) && (sp.n_embd % 32 || sp.n_ff % 32)) {
        fprintf(stderr, "make_model: %s needs n_embd and n_ff multiples of 32\n", type_name);
        return 2;
    }
    nt_gw *w = nt_tiny_model_writer(&sp);
    int ok = w && add_vocab(w, sp.n_vocab);
    if (ok) ok = nt_gw_write_file(w, argv[1]);
    nt_gw_free(w);
    if (!ok) {
        fprintf(stderr, "make_model: cannot write %s\n", argv[1]);
        return 1;
    }
    return 0;
}
