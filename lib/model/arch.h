/*
 * The architecture table: one row per GGUF `general.architecture` we run.
 * A row says how the family differs from a plain pre-norm decoder: which
 * norm, which RoPE, which MLP, which Q/K norm, which tensors a layer has
 * (required or optional), which extra keys it reads, and which forward
 * pass runs it. Loading, binding, the forward pass and `inspect` all read
 * the row; nothing else branches on the architecture's name.
 */
#ifndef NT_ARCH_H
#define NT_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gguf/gguf.h"

/* Which forward pass runs the architecture (lib/forward/run.c maps it). */
typedef enum nt_pass {
    NT_PASS_GPT2,    /* learned positions, fused QKV with biases */
    NT_PASS_DECODER, /* the RoPE decoder family: llama and its relatives */
} nt_pass;

typedef enum nt_norm_kind { NT_NORM_RMS, NT_NORM_LAYER } nt_norm_kind;
typedef enum nt_rope_mode { NT_ROPE_NORM, NT_ROPE_NEOX } nt_rope_mode;

typedef enum nt_ffn_kind {
    NT_FFN_SWIGLU,       /* down(silu(gate x) * up x) */
    NT_FFN_SWIGLU_FUSED, /* the same with gate and up in one ffn_up of 2*n_ff rows: gate first */
    NT_FFN_GEGLU,        /* down(gelu_tanh(gate x) * up x) */
    NT_FFN_GELU,         /* down(gelu_tanh(up x + b) + b), no gate */
} nt_ffn_kind;

typedef enum nt_qk_norm {
    NT_QK_NORM_NONE,
    NT_QK_NORM_HEAD,    /* RMSNorm of each head with one {head_dim} weight */
    NT_QK_NORM_HEAD_LN, /* LayerNorm (no bias) of each head with its own weight row: {head_dim, heads} */
    NT_QK_NORM_FULL,    /* RMSNorm of the whole projected Q ({n_head*head_dim}) and K ({n_head_kv*head_dim}) */
} nt_qk_norm;

typedef enum nt_output_rule {
    NT_OUTPUT_OPTIONAL, /* output.weight, or the token embedding when absent */
    NT_OUTPUT_REQUIRED,
    NT_OUTPUT_TIED,     /* always the token embedding; output.weight is never read */
} nt_output_rule;

/* Sizes a tensor's dimensions are given in. */
typedef enum nt_dim {
    NT_DIM_1,    /* 1: the second dimension of a 1-D tensor */
    NT_DIM_E,    /* n_embd */
    NT_DIM_Q,    /* n_head * head_dim */
    NT_DIM_KV,   /* n_head_kv * head_dim */
    NT_DIM_QKV,  /* Q + 2 KV: fused projection rows */
    NT_DIM_F,    /* n_ff */
    NT_DIM_F2,   /* 2 n_ff: fused gate and up */
    NT_DIM_HD,   /* head_dim */
    NT_DIM_H,    /* n_head */
    NT_DIM_HKV,  /* n_head_kv */
} nt_dim;

/* The slots a layer tensor can fill (nt_layer in model.h). */
typedef enum nt_slot {
    NT_SLOT_ATTN_NORM, NT_SLOT_ATTN_NORM_B,
    NT_SLOT_WQ, NT_SLOT_WK, NT_SLOT_WV, NT_SLOT_WQKV,
    NT_SLOT_BQ, NT_SLOT_BK, NT_SLOT_BV, NT_SLOT_BQKV,
    NT_SLOT_WO, NT_SLOT_BO,
    NT_SLOT_Q_NORM, NT_SLOT_K_NORM,
    NT_SLOT_POST_ATTN_NORM,
    NT_SLOT_FFN_NORM, NT_SLOT_FFN_NORM_B,
    NT_SLOT_FFN_GATE, NT_SLOT_FFN_UP, NT_SLOT_FFN_UP_B, NT_SLOT_FFN_DOWN, NT_SLOT_FFN_DOWN_B,
    NT_SLOT_POST_FFN_NORM,
    NT_SLOT_COUNT
} nt_slot;

/* One tensor of each layer: "blk.N.<name>", of shape {in, out} (a matrix,
 * GGUF order) or {in} / {in, out} (a vector widened to F32). */
typedef struct nt_tensor_spec {
    const char *name;
    uint8_t slot;    /* nt_slot */
    bool matrix;
    bool required;
    uint8_t in, out; /* nt_dim */
} nt_tensor_spec;

typedef struct nt_arch {
    const char *name;
    nt_pass pass;
    nt_norm_kind norm;
    nt_rope_mode rope;
    nt_ffn_kind ffn;
    nt_qk_norm qk_norm;
    nt_output_rule output;
    const nt_tensor_spec *layer; /* terminated by a NULL name */
    bool output_norm_bias;       /* output_norm.bias is required */
    bool rope_freqs;             /* may have rope_freqs.weight (Llama 3.1 scaling) */
    bool rope_factors;           /* may have rope_factors_long/short.weight (LongRoPE) */
    bool embd_scale_sqrt;        /* embeddings times sqrt(n_embd) (Gemma) */
    bool granite_scales;         /* embedding, attention, residual and logit scales */
    bool parallel_without_ffn_norm; /* a layer without ffn_norm adds attn and FFN of one norm */
    int32_t query_scale_layers;  /* with this many layers Q scales by 1/sqrt(n_embd/n_head), not
                                    1/sqrt(head_dim): the Gemma 27B shapes, told by layer count */
    int32_t nope_every;          /* layers (il+1) % nope_every == 0 have no RoPE; 0: none */
    int32_t swa_pattern;         /* layers il % p < p-1 slide when a window is set; 0: never */
    int32_t swa_window_default;  /* window when the key is absent; 0: none */
    bool swa_rope_unscaled;      /* sliding layers: rope.freq_base_swa and no linear scaling */
    float freq_base_swa_default; /* 0: the global rope.freq_base */
    float attn_softcap_default;  /* attn_logit_softcapping when absent; 0: none */
    float final_softcap_default; /* final_logit_softcapping when absent; 0: none */
    bool read_softcaps;          /* the keys exist for this family */
    bool sliding_window_ignored; /* the file's window is not applied (phi3, as llama.cpp does) */
} nt_arch;

/* The row for a GGUF architecture name, or NULL. */
const nt_arch *nt_arch_find(nt_str name);

/* For a name without a row: why we do not run it (MoE, hybrid, SSM ...),
 * or NULL when the name is simply unknown. */
const char *nt_arch_refusal(nt_str name);

/* "gpt2, llama, qwen2, ..." for messages. */
const char *nt_arch_names(void);

#endif
