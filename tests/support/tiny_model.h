/* Tiny random GPT-2 and Llama models written by the tests themselves, for
 * the weight types and layouts the fixtures do not cover (F16, BF16, tied
 * output), and random Qwen2, Qwen3, Gemma 2 and Gemma 3 files holding
 * exactly the tensors and keys llama.cpp's loader asks for (make_model's
 * benchmark shapes). Weights are rounded to the target type first, so the
 * same spec written as F32 and as F16/BF16 holds exactly the same values. */
#ifndef NT_TEST_TINY_MODEL_H
#define NT_TEST_TINY_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "gguf_writer.h"

typedef struct nt_tiny_spec {
    const char *arch;       /* "gpt2", "llama", "qwen2", "qwen3", "gemma2" or "gemma3" */
    uint32_t weight_type;   /* NT_TYPE_F32, NT_TYPE_F16 or NT_TYPE_BF16 for matrices */
    uint32_t round_to;      /* round values as this type would (F16/BF16/F32) */
    bool tied_output;       /* omit output.weight (gemma2/gemma3 never have one) */
    bool output_is_embd;    /* write output.weight as a copy of token_embd */
    int n_vocab, n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx;
    uint64_t seed;
    /* Zero in any of these means the architecture's default. */
    int head_dim;           /* n_embd / n_head; written as key_length/value_length */
    int sliding_window;     /* gemma2 4096, gemma3 512 (Gemma 3 1B's) */
    float rope_base;        /* 10000; gemma3 1e6 (its global layers) */
    float rms_eps;          /* 1e-5; gemma2/gemma3 1e-6 */
    /* Tensor to leave out / reshape, for error tests (NULL: none). */
    const char *omit_tensor;
    const char *bad_shape_tensor; /* written with its last dim one short */
} nt_tiny_spec;

/* Defaults: llama, F32, 64 vocab, 32 embd, 2 layers, 4 heads, 2 KV heads
 * (4 for gpt2), 48 ff, 32 ctx. */
nt_tiny_spec nt_tiny_spec_default(const char *arch);

/* The spec's head_dim, or n_embd / n_head when it is 0. */
int nt_tiny_head_dim(const nt_tiny_spec *spec);

/* A writer holding the model, for callers that add or change keys before
 * writing. */
nt_gw *nt_tiny_model_writer(const nt_tiny_spec *spec);

/* Write the model to a temporary file; returns its malloc'd path (unlink
 * and free it). */
char *nt_tiny_model_file(const nt_tiny_spec *spec);

/* Write a writer's file to a temporary path (malloc'd; unlink and free). */
char *nt_tiny_write_temp(nt_gw *w);

#endif
