/* Write a random-weight GGUF of any shape, for benchmarks:
 *   make_model OUT.gguf ARCH TYPE n_vocab n_embd n_layer n_head n_head_kv n_ff n_ctx [options]
 * ARCH is gpt2, llama, qwen2, qwen3, gemma2 or gemma3, each with exactly the
 * tensors and keys llama.cpp's loader asks for (it refuses extra tensors);
 * the options (see usage()) set what those architectures add: head size,
 * tied output, sliding window, RoPE base, RMS epsilon. TYPE is f32, f16,
 * bf16, q8_0 or q4_0 (matrices quantized by the reference quantizer of
 * tests/support/quantize.c; norms and biases stay F32; llama-quantize
 * makes the K-quant mixes from an f32 or f16 file). The file also holds a minimal SentencePiece vocabulary of
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
            "usage: %s OUT.gguf ARCH TYPE n_vocab n_embd n_layer n_head n_head_kv n_ff n_ctx "
            "[options]\n"
            "  ARCH: gpt2, llama, qwen2 (Q/K/V biases), qwen3 (per-head Q/K norms),\n"
            "        gemma2 (n_layer 26, 42 or 46 for llama.cpp c392), gemma3\n"
            "  TYPE: f32, f16, bf16, q8_0 or q4_0 (matrices; norms and biases F32)\n"
            "options (not for gpt2; in any order, after or among the others):\n"
            "  --head-dim N    head size (default n_embd / n_head; qwen2 needs that)\n"
            "  --tied          no output.weight: the head is token_embd (gemma: always)\n"
            "  --window N      gemma sliding window (default gemma2 4096, gemma3 512)\n"
            "  --rope-base F   rope.freq_base (default 10000; gemma3 1e6, its global layers)\n"
            "  --rms-eps F     RMS norm epsilon (default 1e-5; gemma 1e-6)\n",
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

/* Strict positive finite float. */
static int parse_positive_float(const char *s, const char *what, float *out)
{
    char *end = NULL;
    float v = strtof(s, &end);
    if (!*s || *end || !(v > 0) || v > 3.4e38f) {
        fprintf(stderr, "make_model: %s: '%s' is not a positive number\n", what, s);
        return 0;
    }
    *out = v;
    return 1;
}

static int is_one_of(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0) return 1;
    return 0;
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
    const char *pos[10];
    int n_pos = 0, head_dim = 0, window = 0, tied = 0;
    float rope_base = 0, rms_eps = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const int has_value = i + 1 < argc;
        if (strcmp(a, "--tied") == 0) {
            tied = 1;
        } else if (strcmp(a, "--head-dim") == 0 && has_value) {
            if (!parse_count(argv[++i], "--head-dim", &head_dim)) return 2;
        } else if (strcmp(a, "--window") == 0 && has_value) {
            if (!parse_count(argv[++i], "--window", &window)) return 2;
        } else if (strcmp(a, "--rope-base") == 0 && has_value) {
            if (!parse_positive_float(argv[++i], "--rope-base", &rope_base)) return 2;
        } else if (strcmp(a, "--rms-eps") == 0 && has_value) {
            if (!parse_positive_float(argv[++i], "--rms-eps", &rms_eps)) return 2;
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "make_model: unknown option or missing value: '%s'\n", a);
            return usage(argv[0]);
        } else if (n_pos == 10) {
            return usage(argv[0]);
        } else {
            pos[n_pos++] = a;
        }
    }
    if (n_pos != 10) return usage(argv[0]);
    const char *out_path = pos[0], *arch = pos[1], *type_name = pos[2];
    static const char *const archs[] = {"gpt2", "llama", "qwen2", "qwen3", "gemma2", "gemma3", NULL};
    if (!is_one_of(arch, archs)) {
        fprintf(stderr, "make_model: unknown architecture '%s' (gpt2, llama, qwen2, qwen3, gemma2 "
                        "or gemma3)\n", arch);
        return 2;
    }
    const int gpt2 = strcmp(arch, "gpt2") == 0, gemma = strncmp(arch, "gemma", 5) == 0;
    if (gpt2 && (head_dim || window || tied || rope_base > 0 || rms_eps > 0)) {
        fprintf(stderr, "make_model: gpt2 takes no options\n");
        return 2;
    }
    if (window && !gemma) {
        fprintf(stderr, "make_model: --window is for gemma2 and gemma3 (the others have no "
                        "sliding window)\n");
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
    sp.head_dim = head_dim;
    sp.sliding_window = window;
    sp.tied_output = tied;
    sp.rope_base = rope_base;
    sp.rms_eps = rms_eps;
    static const char *const names[] = {"n_vocab", "n_embd", "n_layer", "n_head",
                                        "n_head_kv", "n_ff", "n_ctx"};
    int *fields[] = {&sp.n_vocab, &sp.n_embd, &sp.n_layer, &sp.n_head,
                     &sp.n_head_kv, &sp.n_ff, &sp.n_ctx};
    for (int i = 0; i < 7; i++)
        if (!parse_count(pos[3 + i], names[i], fields[i])) return 2;
    if (sp.n_vocab < MIN_VOCAB) {
        fprintf(stderr, "make_model: n_vocab %d: at least %d (special and byte tokens)\n",
                sp.n_vocab, MIN_VOCAB);
        return 2;
    }
    if (sp.n_head % sp.n_head_kv != 0 || (!head_dim && sp.n_embd % sp.n_head != 0)) {
        fprintf(stderr, "make_model: n_embd %d, n_head %d, n_head_kv %d: n_head_kv must divide "
                        "n_head, and n_head n_embd unless --head-dim is given\n",
                sp.n_embd, sp.n_head, sp.n_head_kv);
        return 2;
    }
    const int hd = nt_tiny_head_dim(&sp);
    if (strcmp(arch, "qwen2") == 0 && hd * sp.n_head != sp.n_embd) {
        /* llama.cpp's qwen2 loader sizes attn_q as n_embd x n_embd. */
        fprintf(stderr, "make_model: qwen2 needs n_head * head_dim = n_embd (got %d * %d, %d)\n",
                sp.n_head, hd, sp.n_embd);
        return 2;
    }
    if (!gpt2 && hd % 2 != 0) {
        fprintf(stderr, "make_model: head_dim %d: RoPE rotates pairs, so it must be even\n", hd);
        return 2;
    }
    /* attn_output's rows are n_head * head_dim long; the quantized types
     * pack rows in blocks of 32. */
    if ((type == NT_TYPE_Q8_0 || type == NT_TYPE_Q4_0) &&
        (sp.n_embd % 32 || sp.n_ff % 32 || (hd * sp.n_head) % 32)) {
        fprintf(stderr, "make_model: %s needs n_embd, n_ff and n_head * head_dim multiples of 32\n",
                type_name);
        return 2;
    }
    nt_gw *w = nt_tiny_model_writer(&sp);
    int ok = w && add_vocab(w, sp.n_vocab);
    if (ok) ok = nt_gw_write_file(w, out_path);
    nt_gw_free(w);
    if (!ok) {
        fprintf(stderr, "make_model: cannot write %s\n", out_path);
        return 1;
    }
    return 0;
}
