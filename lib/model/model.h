/*
 * A loaded model: the GGUF file, its hyper-parameters and its weights bound
 * in place to one architecture's slots. Immutable after load.
 */
#ifndef NT_MODEL_H
#define NT_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "gguf/gguf.h"
#include "kernels/kernels.h"
#include "nexttok.h"

typedef enum nt_arch { NT_ARCH_GPT2, NT_ARCH_LLAMA } nt_arch;

typedef struct nt_hparams {
    int32_t n_vocab;
    int32_t n_ctx_train;
    int32_t n_embd;
    int32_t n_layer;
    int32_t n_head;
    int32_t n_head_kv;
    int32_t n_ff;
    int32_t head_dim;   /* n_embd / n_head */
    int32_t n_rot;      /* rotated dimensions per head (llama) */
    float norm_eps;
    float rope_freq_base;
    float rope_freq_scale; /* positions are multiplied by it (linear scaling) */
} nt_hparams;

/* GPT-2 block: LayerNorm with bias, fused QKV with bias, tanh-GELU MLP. */
typedef struct nt_gpt2_layer {
    const float *attn_norm_w, *attn_norm_b;
    nt_weight attn_qkv;
    const float *attn_qkv_b;
    nt_weight attn_out;
    const float *attn_out_b;
    const float *ffn_norm_w, *ffn_norm_b;
    nt_weight ffn_up;
    const float *ffn_up_b;
    nt_weight ffn_down;
    const float *ffn_down_b;
} nt_gpt2_layer;

/* Llama block: RMSNorm, separate Q/K/V/O, SwiGLU MLP. */
typedef struct nt_llama_layer {
    const float *attn_norm;
    nt_weight wq, wk, wv, wo;
    const float *ffn_norm;
    nt_weight ffn_gate, ffn_up, ffn_down;
} nt_llama_layer;

struct nexttok_model {
    nt_gguf *gguf;
    nt_arch arch;
    char *arch_name;
    char *name;
    nt_hparams hp;
    uint64_t n_params;
    bool runnable;        /* weights bound: sessions may run it */

    nt_weight tok_embd;   /* n_vocab rows of n_embd */
    nt_weight pos_embd;   /* gpt2: n_ctx_train rows of n_embd */
    nt_weight output;     /* n_vocab rows of n_embd; tied = tok_embd */
    bool output_tied;
    const float *out_norm_w, *out_norm_b;

    nt_gpt2_layer *gpt2_layers;
    nt_llama_layer *llama_layers;
    nt_rope_cfg rope; /* llama: rotary embedding, incl. rope_freqs.weight */

    /* 1-D parameters widened to F32 at load (norms and biases). */
    float **owned;
    size_t n_owned, cap_owned;

    /* Load-time only: the caller's progress callback. */
    nexttok_progress_fn progress;
    void *progress_user_data;
};

/* For the tokenizer: the file the model was loaded from. */
const nt_gguf *nt_model_gguf(const nexttok_model *m);

/* --- helpers the per-architecture loaders use (model_bind.c) --------------- */

/* Read the hyper-parameters common to both architectures, from
 * "{arch}.*" keys. */
nexttok_status nt_model_read_hparams(nexttok_model *m);

/* Bind a 2-D weight `name` that must be n_in x n_out (GGUF ne[0] x ne[1])
 * of a type we compute with. When !required and absent, returns OK with
 * out->data == NULL. */
nexttok_status nt_bind_matrix(nexttok_model *m, const char *name, int64_t n_in, int64_t n_out,
                              bool required, nt_weight *out);

/* Bind a 1-D tensor of n values, widened to F32 (owned by the model).
 * When !required and absent, returns OK with *out == NULL. */
nexttok_status nt_bind_vector(nexttok_model *m, const char *name, int64_t n, bool required, const float **out);

/* printf-style name, e.g. nt_tensor_name(buf, "blk.%d.attn_q.weight", l). */
const char *nt_tensor_name(char *buf, size_t size, const char *fmt, int layer);

/* Report load progress; NEXTTOK_ERR_CANCELLED when the callback says stop. */
nexttok_status nt_model_progress(nexttok_model *m, float fraction);

/* Per-architecture binders (model_gpt2.c, model_llama.c). */
nexttok_status nt_model_bind_gpt2(nexttok_model *m);
nexttok_status nt_model_bind_llama(nexttok_model *m);

#endif
