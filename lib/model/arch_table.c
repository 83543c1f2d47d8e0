/* The rows of the architecture table, and the families we refuse with a
 * reason. Facts per family: ../shared/reference/architectures.md and
 * docs/architectures.md. */
#include "model/arch.h"

#define REQ true
#define OPT false
#define MAT(nm, slot, in, out, req) {nm, NT_SLOT_##slot, true, req, NT_DIM_##in, NT_DIM_##out}
#define VEC(nm, slot, n, req) {nm, NT_SLOT_##slot, false, req, NT_DIM_##n, NT_DIM_1}
#define VEC2(nm, slot, in, out, req) {nm, NT_SLOT_##slot, false, req, NT_DIM_##in, NT_DIM_##out}
#define END {0}

#define QKVO_MATRICES                                                                              \
    MAT("attn_q.weight", WQ, E, Q, REQ), MAT("attn_k.weight", WK, E, KV, REQ),                     \
        MAT("attn_v.weight", WV, E, KV, REQ), MAT("attn_output.weight", WO, Q, E, REQ)
#define SWIGLU_MATRICES                                                                            \
    MAT("ffn_gate.weight", FFN_GATE, E, F, REQ), MAT("ffn_up.weight", FFN_UP, E, F, REQ),          \
        MAT("ffn_down.weight", FFN_DOWN, F, E, REQ)
#define PRE_NORMS VEC("attn_norm.weight", ATTN_NORM, E, REQ), VEC("ffn_norm.weight", FFN_NORM, E, REQ)
#define POST_NORMS                                                                                 \
    VEC("post_attention_norm.weight", POST_ATTN_NORM, E, REQ), VEC("post_ffw_norm.weight", POST_FFN_NORM, E, REQ)
#define HEAD_QK_NORMS VEC("attn_q_norm.weight", Q_NORM, HD, REQ), VEC("attn_k_norm.weight", K_NORM, HD, REQ)

/* Llama and the families that load through its tensor list (Granite,
 * SmolLM3): projection biases are optional there. */
static const nt_tensor_spec llama_layer[] = {
    PRE_NORMS, QKVO_MATRICES, SWIGLU_MATRICES,
    VEC("attn_q.bias", BQ, Q, OPT), VEC("attn_k.bias", BK, KV, OPT), VEC("attn_v.bias", BV, KV, OPT),
    VEC("attn_output.bias", BO, E, OPT), END,
};

static const nt_tensor_spec qwen2_layer[] = {
    PRE_NORMS, QKVO_MATRICES, SWIGLU_MATRICES,
    VEC("attn_q.bias", BQ, Q, REQ), VEC("attn_k.bias", BK, KV, REQ), VEC("attn_v.bias", BV, KV, REQ), END,
};

static const nt_tensor_spec qwen3_layer[] = {PRE_NORMS, QKVO_MATRICES, SWIGLU_MATRICES, HEAD_QK_NORMS, END};
static const nt_tensor_spec gemma_layer[] = {PRE_NORMS, QKVO_MATRICES, SWIGLU_MATRICES, END};
static const nt_tensor_spec gemma2_layer[] = {PRE_NORMS, QKVO_MATRICES, SWIGLU_MATRICES, POST_NORMS, END};
static const nt_tensor_spec gemma3_layer[] = {PRE_NORMS, QKVO_MATRICES, SWIGLU_MATRICES, POST_NORMS,
                                              HEAD_QK_NORMS, END};

/* Fused QKV (Q rows, then K, then V) or, as newer files may have, the
 * three separate; the binder requires one of the two. */
static const nt_tensor_spec phi3_layer[] = {
    PRE_NORMS,
    MAT("attn_qkv.weight", WQKV, E, QKV, OPT),
    MAT("attn_q.weight", WQ, E, Q, OPT), MAT("attn_k.weight", WK, E, KV, OPT), MAT("attn_v.weight", WV, E, KV, OPT),
    MAT("attn_output.weight", WO, Q, E, REQ),
    MAT("ffn_up.weight", FFN_UP, E, F2, REQ), MAT("ffn_down.weight", FFN_DOWN, F, E, REQ), END,
};

/* No pre-norms: the branch outputs are normed instead. */
static const nt_tensor_spec olmo2_layer[] = {
    QKVO_MATRICES, SWIGLU_MATRICES, POST_NORMS,
    VEC("attn_q_norm.weight", Q_NORM, Q, REQ), VEC("attn_k_norm.weight", K_NORM, KV, REQ), END,
};

/* ffn_norm absent makes the layer parallel (StableLM 2 12B). */
static const nt_tensor_spec stablelm_layer[] = {
    VEC("attn_norm.weight", ATTN_NORM, E, REQ), VEC("attn_norm.bias", ATTN_NORM_B, E, REQ),
    QKVO_MATRICES, SWIGLU_MATRICES,
    VEC("attn_q.bias", BQ, Q, OPT), VEC("attn_k.bias", BK, KV, OPT), VEC("attn_v.bias", BV, KV, OPT),
    VEC2("attn_q_norm.weight", Q_NORM, HD, H, OPT), VEC2("attn_k_norm.weight", K_NORM, HD, HKV, OPT),
    VEC("ffn_norm.weight", FFN_NORM, E, OPT), VEC("ffn_norm.bias", FFN_NORM_B, E, OPT), END,
};

static const nt_tensor_spec starcoder2_layer[] = {
    VEC("attn_norm.weight", ATTN_NORM, E, REQ), VEC("attn_norm.bias", ATTN_NORM_B, E, REQ),
    QKVO_MATRICES,
    VEC("attn_q.bias", BQ, Q, REQ), VEC("attn_k.bias", BK, KV, REQ), VEC("attn_v.bias", BV, KV, REQ),
    VEC("attn_output.bias", BO, E, REQ),
    VEC("ffn_norm.weight", FFN_NORM, E, REQ), VEC("ffn_norm.bias", FFN_NORM_B, E, REQ),
    MAT("ffn_up.weight", FFN_UP, E, F, REQ), VEC("ffn_up.bias", FFN_UP_B, F, REQ),
    MAT("ffn_down.weight", FFN_DOWN, F, E, REQ), VEC("ffn_down.bias", FFN_DOWN_B, E, REQ), END,
};

static const nt_arch nt_arch_rows[] = {
    {.name = "gpt2", .pass = NT_PASS_GPT2, .norm = NT_NORM_LAYER, .ffn = NT_FFN_GELU,
     .output = NT_OUTPUT_OPTIONAL, .output_norm_bias = true},
    {.name = "llama", .pass = NT_PASS_DECODER, .rope = NT_ROPE_NORM, .layer = llama_layer, .rope_freqs = true},
    {.name = "qwen2", .pass = NT_PASS_DECODER, .rope = NT_ROPE_NEOX, .layer = qwen2_layer},
    {.name = "qwen3", .pass = NT_PASS_DECODER, .rope = NT_ROPE_NEOX, .layer = qwen3_layer,
     .qk_norm = NT_QK_NORM_HEAD},
    {.name = "gemma", .pass = NT_PASS_DECODER, .rope = NT_ROPE_NEOX, .ffn = NT_FFN_GEGLU, .layer = gemma_layer,
     .output = NT_OUTPUT_TIED, .embd_scale_sqrt = true},
    {.name = "gemma2", .pass = NT_PASS_DECODER, .rope = NT_ROPE_NEOX, .ffn = NT_FFN_GEGLU, .layer = gemma2_layer,
     .output = NT_OUTPUT_TIED, .embd_scale_sqrt = true, .query_scale_layers = 46, .swa_pattern = 2,
     .swa_window_default = 4096, .read_softcaps = true, .attn_softcap_default = 50.0f,
     .final_softcap_default = 30.0f},
    {.name = "gemma3", .pass = NT_PASS_DECODER, .rope = NT_ROPE_NEOX, .ffn = NT_FFN_GEGLU, .layer = gemma3_layer,
     .qk_norm = NT_QK_NORM_HEAD, .embd_scale_sqrt = true, .query_scale_layers = 62, .swa_pattern = 6,
     .swa_rope_unscaled = true, .freq_base_swa_default = 10000.0f, .read_softcaps = true},
    {.name = "phi3", .pass = NT_PASS_DECODER, .rope = NT_ROPE_NEOX, .ffn = NT_FFN_SWIGLU_FUSED,
     .layer = phi3_layer, .rope_factors = true, .sliding_window_ignored = true},
    {.name = "smollm3", .pass = NT_PASS_DECODER, .rope = NT_ROPE_NORM, .layer = llama_layer, .nope_every = 4},
    {.name = "olmo2", .pass = NT_PASS_DECODER, .rope = NT_ROPE_NEOX, .layer = olmo2_layer,
     .qk_norm = NT_QK_NORM_FULL, .output = NT_OUTPUT_REQUIRED, .swa_pattern = 4, .swa_rope_unscaled = true},
    {.name = "granite", .pass = NT_PASS_DECODER, .rope = NT_ROPE_NORM, .layer = llama_layer, .rope_freqs = true,
     .granite_scales = true},
    {.name = "stablelm", .pass = NT_PASS_DECODER, .norm = NT_NORM_LAYER, .rope = NT_ROPE_NEOX,
     .layer = stablelm_layer, .qk_norm = NT_QK_NORM_HEAD_LN, .output = NT_OUTPUT_REQUIRED,
     .output_norm_bias = true, .parallel_without_ffn_norm = true},
    {.name = "starcoder2", .pass = NT_PASS_DECODER, .norm = NT_NORM_LAYER, .rope = NT_ROPE_NEOX,
     .ffn = NT_FFN_GELU, .layer = starcoder2_layer, .output_norm_bias = true},
};

const nt_arch *nt_arch_find(nt_str name)
{
    for (size_t i = 0; i < sizeof nt_arch_rows / sizeof nt_arch_rows[0]; i++)
        if (nt_str_eq(name, nt_arch_rows[i].name)) return &nt_arch_rows[i];
    return NULL;
}

const char *nt_arch_names(void)
{
    return "gpt2, llama, qwen2, qwen3, gemma, gemma2, gemma3, phi3, smollm3, olmo2, granite, stablelm, starcoder2";
}

static const struct {
    const char *name;
    const char *why;
} nt_refused[] = {
    {"qwen2moe", "a mixture-of-experts model"},    {"qwen3moe", "a mixture-of-experts model"},
    {"deepseek", "a mixture-of-experts model"},    {"deepseek2", "a mixture-of-experts model"},
    {"dbrx", "a mixture-of-experts model"},        {"olmoe", "a mixture-of-experts model"},
    {"granitemoe", "a mixture-of-experts model"},  {"phimoe", "a mixture-of-experts model"},
    {"arctic", "a mixture-of-experts model"},      {"grok", "a mixture-of-experts model"},
    {"llama4", "a mixture-of-experts model"},      {"gpt-oss", "a mixture-of-experts model"},
    {"mixtral", "a mixture-of-experts model"},     {"ernie4_5-moe", "a mixture-of-experts model"},
    {"glm4moe", "a mixture-of-experts model"},     {"hunyuan-moe", "a mixture-of-experts model"},
    {"bailingmoe", "a mixture-of-experts model"},  {"dots1", "a mixture-of-experts model"},
    {"lfm2", "a hybrid of short convolutions and attention"},
    {"granitehybrid", "a hybrid of Mamba-2 state-space layers and attention"},
    {"falcon-h1", "a hybrid of Mamba-2 state-space layers and attention"},
    {"jamba", "a hybrid of Mamba state-space layers and attention"},
    {"nemotron_h", "a hybrid of Mamba-2 state-space layers and attention"},
    {"plamo2", "a hybrid of Mamba state-space layers and attention"},
    {"qwen3next", "a hybrid of linear (Gated DeltaNet) and full attention"},
    {"qwen35", "a hybrid of linear (Gated DeltaNet) and full attention"},
    {"mamba", "a state-space (Mamba) model"},      {"mamba2", "a state-space (Mamba-2) model"},
    {"rwkv6", "a recurrent (RWKV) model"},         {"rwkv7", "a recurrent (RWKV) model"},
    {"rwkv6qwen2", "a recurrent (RWKV) model"},    {"arwkv7", "a recurrent (RWKV) model"},
    {"gemma3n", "a Gemma 3n model (AltUp, per-layer embeddings, shared KV)"},
    {"bert", "an encoder, not a next-token decoder"}, {"nomic-bert", "an encoder, not a next-token decoder"},
    {"jina-bert-v2", "an encoder, not a next-token decoder"}, {"t5", "an encoder-decoder model"},
    {"t5encoder", "an encoder, not a next-token decoder"}, {"clip", "a vision encoder (a multimodal projector file)"},
};

const char *nt_arch_refusal(nt_str name)
{
    for (size_t i = 0; i < sizeof nt_refused / sizeof nt_refused[0]; i++)
        if (nt_str_eq(name, nt_refused[i].name)) return nt_refused[i].why;
    return NULL;
}
