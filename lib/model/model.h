/*
 * A loaded model: the GGUF file, its hyper-parameters and its weights bound
 * in place to one architecture's slots. Immutable after load.
 */
#ifndef NT_MODEL_H
#define NT_MODEL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "gguf/gguf.h"
#include "kernels/kernels.h"
#include "model/arch.h"
#include "nexttok.h"

typedef struct nt_hparams {
    int32_t n_vocab;
    int32_t n_ctx_train;
    int32_t n_embd;
    int32_t n_layer;
    int32_t n_head;
    int32_t n_head_kv;
    int32_t n_ff;
    int32_t head_dim;   /* attention.key_length, else n_embd / n_head */
    int32_t n_rot;      /* rotated dimensions per head (RoPE families) */
    float norm_eps;
    float rope_freq_base;
    float rope_freq_scale; /* positions are multiplied by it (linear scaling) */
    float rope_attn_factor; /* multiplies cos and sin (LongRoPE's attention factor) */
    float rope_freq_base_swa; /* sliding layers' base */
    int32_t n_ctx_orig;  /* rope.scaling.original_context_length */
    int32_t n_swa;       /* sliding window (keys a query sees, itself included); 0: none */
    int32_t swa_pattern; /* layer il slides when il % swa_pattern < swa_pattern - 1 */
    const nt_gguf_kv *swa_layers; /* or, when the pattern key is a per-layer array, element il != 0 */
    float kq_scale;      /* attention logits are q.k times this */
    float attn_softcap;  /* attention logits l -> c tanh(l / c); 0: none */
    float final_softcap; /* output logits likewise; 0: none */
    float embd_scale;    /* token embeddings times this */
    float residual_scale; /* branch outputs times this before each residual add */
    float logit_scale;   /* output logits divided by this */
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

/* Which rotary embedding a decoder layer applies. */
typedef enum nt_layer_rope { NT_LAYER_ROPE_GLOBAL, NT_LAYER_ROPE_SWA, NT_LAYER_ROPE_NONE } nt_layer_rope;

/* A decoder block of any family in the table: the slots its row names
 * (nt_slot), absent ones NULL. Which are present says what the layer
 * does: no attn_norm means no pre-norm, a post_attn_norm norms the
 * branch output, and so on. */
typedef struct nt_layer {
    const float *attn_norm, *attn_norm_b;
    nt_weight wq, wk, wv, wqkv;
    const float *bq, *bk, *bv, *bqkv;
    nt_weight wo;
    const float *bo;
    const float *q_norm, *k_norm;
    const float *post_attn_norm;
    const float *ffn_norm, *ffn_norm_b;
    nt_weight ffn_gate, ffn_up;
    const float *ffn_up_b;
    nt_weight ffn_down;
    const float *ffn_down_b;
    const float *post_ffn_norm;
    int32_t window;       /* sliding window of this layer; 0: all keys */
    nt_layer_rope rope;
    bool parallel;        /* attention and MLP read one norm and add together */
} nt_layer;

struct nexttok_model {
    nt_gguf *gguf;
    const nt_arch *arch;  /* its row of the architecture table */
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
    nt_layer *layers;
    nt_rope_cfg rope;      /* global layers' rotary embedding, incl. its frequency factors */
    nt_rope_cfg rope_long; /* the same with LongRoPE's long factors (contexts past n_ctx_orig) */
    nt_rope_cfg rope_swa;  /* sliding layers' */
    bool has_parallel;     /* some layer is parallel */
    int32_t *layer_windows; /* [n_layer] each layer's sliding window (0: none), or NULL when none slides */
    char features[256];    /* what the model does, for inspect: "rmsnorm, rope-neox, ..." */

    /* 1-D parameters widened to F32 at load (norms and biases). */
    float **owned;
    size_t n_owned, cap_owned;

    /* The file's digest once computed (nt_model_digest): state 0 none,
     * 1 being computed, 2 in `digest`. */
    atomic_int digest_state;
    uint8_t digest[NEXTTOK_DIGEST_BYTES];

    /* Load-time only: the caller's progress callback. */
    nexttok_progress_fn progress;
    void *progress_user_data;
};

/* The model file's BLAKE2b digest, hashed on the first call only (for
 * snapshots, which carry it). */
nexttok_status nt_model_digest(const nexttok_model *m, uint8_t out[NEXTTOK_DIGEST_BYTES]);

/* For the tokenizer: the file the model was loaded from. */
const nt_gguf *nt_model_gguf(const nexttok_model *m);

/* --- helpers the per-architecture loaders use (model_bind.c) --------------- */

/* Read the hyper-parameters from "{arch}.*" keys, as the architecture's
 * row asks (model_hparams.c). */
nexttok_status nt_model_read_hparams(nexttok_model *m);

/* Bind a 2-D weight `name` that must be n_in x n_out (GGUF ne[0] x ne[1])
 * of a type we compute with. When !required and absent, returns OK with
 * out->data == NULL. */
nexttok_status nt_bind_matrix(nexttok_model *m, const char *name, int64_t n_in, int64_t n_out,
                              bool required, nt_weight *out);

/* Bind a 1-D tensor of n values, widened to F32 (owned by the model).
 * When !required and absent, returns OK with *out == NULL. */
nexttok_status nt_bind_vector(nexttok_model *m, const char *name, int64_t n, bool required, const float **out);

/* The same for an n0 x n1 tensor of F32-widened values (n1 == 1: 1-D). */
nexttok_status nt_bind_vector2(nexttok_model *m, const char *name, int64_t n0, int64_t n1, bool required,
                               const float **out);

/* printf-style name, e.g. nt_tensor_name(buf, "blk.%d.attn_q.weight", l). */
const char *nt_tensor_name(char *buf, size_t size, const char *fmt, int layer);

/* Report load progress; NEXTTOK_ERR_CANCELLED when the callback says stop. */
nexttok_status nt_model_progress(nexttok_model *m, float fraction);

/* Binders: GPT-2's (model_gpt2.c) and the table-driven one of the decoder
 * families (model_decoder.c). */
nexttok_status nt_model_bind_gpt2(nexttok_model *m);
nexttok_status nt_model_bind_decoder(nexttok_model *m);

/* Fill m->features from the row and the bound layers. */
void nt_model_describe(nexttok_model *m);

#endif
