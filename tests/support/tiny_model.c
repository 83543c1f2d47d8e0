#include "tiny_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "types/types.h"
#include "support/quantize.h"

nt_tiny_spec nt_tiny_spec_default(const char *arch)
{
    return (nt_tiny_spec){
        .arch = arch, .weight_type = NT_TYPE_F32, .round_to = NT_TYPE_F32,
        .n_vocab = 64, .n_embd = 32, .n_layer = 2, .n_head = 4,
        .n_head_kv = strcmp(arch, "gpt2") == 0 ? 4 : 2,
        .n_ff = 48, .n_ctx = 32, .seed = 1,
    };
}

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static float rounded(float v, uint32_t type)
{
    if (type == NT_TYPE_F16) return nt_fp16_to_fp32(nt_fp32_to_fp16(v));
    if (type == NT_TYPE_BF16) return nt_bf16_to_fp32(nt_fp32_to_bf16(v));
    return v;
}

typedef struct {
    nt_gw *w;
    const nt_tiny_spec *spec;
    uint64_t rng;
    float *embd; /* token_embd's values, for output_is_embd */
} builder;

/* Add a tensor of values uniform in [-scale, scale] (+ offset). */
static void add(builder *b, const char *name, int n_dims, int64_t ne0, int64_t ne1, float scale,
                float offset, uint32_t type)
{
    const nt_tiny_spec *sp = b->spec;
    if (sp->omit_tensor && strcmp(sp->omit_tensor, name) == 0) return;
    int64_t ne[2] = {ne0, ne1};
    if (sp->bad_shape_tensor && strcmp(sp->bad_shape_tensor, name) == 0) ne[n_dims - 1] -= 1;
    size_t n = (size_t)(ne[0] * (n_dims == 2 ? ne[1] : 1));
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        double u = (double)(next_rand(&b->rng) >> 11) * 0x1.0p-53 * 2.0 - 1.0;
        v[i] = rounded((float)(u * scale) + offset, sp->round_to);
    }
    if (strcmp(name, "token_embd.weight") == 0 && !b->embd) {
        b->embd = v;
    } else if (strcmp(name, "output.weight") == 0 && sp->output_is_embd && b->embd) {
        memcpy(v, b->embd, n * sizeof *v);
    }
    const size_t qbytes = nt_test_quant_bytes(type, (int64_t)n);
    if (qbytes && ne[0] % 32 == 0) { /* Q8_0 / Q4_0 matrices (benchmark models) */
        unsigned char *q = malloc(qbytes);
        nt_test_quantize(type, v, (int64_t)n, q);
        nt_gw_add_tensor(b->w, name, type, (uint32_t)n_dims, ne, q, qbytes);
        free(q);
    } else {
        nt_gw_add_tensor_f32(b->w, name, qbytes ? NT_TYPE_F32 : type, (uint32_t)n_dims, ne, v);
    }
    if (v != b->embd) free(v);
}

static bool is_arch(const nt_tiny_spec *sp, const char *a) { return strcmp(sp->arch, a) == 0; }

int nt_tiny_head_dim(const nt_tiny_spec *sp)
{
    return sp->head_dim ? sp->head_dim : sp->n_embd / sp->n_head;
}

static void add_layer_tensors(builder *b, int l)
{
    const nt_tiny_spec *sp = b->spec;
    const int64_t E = sp->n_embd, F = sp->n_ff, HD = nt_tiny_head_dim(sp);
    const int64_t Q = HD * sp->n_head, KV = HD * sp->n_head_kv;
    const uint32_t wt = sp->weight_type;
    const bool qkv_bias = is_arch(sp, "qwen2");
    const bool qk_norm = is_arch(sp, "qwen3") || is_arch(sp, "gemma3");
    const bool sandwich = is_arch(sp, "gemma2") || is_arch(sp, "gemma3");
    char nm[64];
#define NAME(fmt) (snprintf(nm, sizeof nm, fmt, l), nm)
    if (strcmp(sp->arch, "gpt2") == 0) {
        add(b, NAME("blk.%d.attn_norm.weight"), 1, E, 1, 0.1f, 1.0f, NT_TYPE_F32);
        add(b, NAME("blk.%d.attn_norm.bias"), 1, E, 1, 0.1f, 0.0f, NT_TYPE_F32);
        add(b, NAME("blk.%d.attn_qkv.weight"), 2, E, 3 * E, 0.3f, 0.0f, wt);
        add(b, NAME("blk.%d.attn_qkv.bias"), 1, 3 * E, 1, 0.1f, 0.0f, NT_TYPE_F32);
        add(b, NAME("blk.%d.attn_output.weight"), 2, E, E, 0.3f, 0.0f, wt);
        add(b, NAME("blk.%d.attn_output.bias"), 1, E, 1, 0.1f, 0.0f, NT_TYPE_F32);
        add(b, NAME("blk.%d.ffn_norm.weight"), 1, E, 1, 0.1f, 1.0f, NT_TYPE_F32);
        add(b, NAME("blk.%d.ffn_norm.bias"), 1, E, 1, 0.1f, 0.0f, NT_TYPE_F32);
        add(b, NAME("blk.%d.ffn_up.weight"), 2, E, F, 0.3f, 0.0f, wt);
        add(b, NAME("blk.%d.ffn_up.bias"), 1, F, 1, 0.1f, 0.0f, NT_TYPE_F32);
        add(b, NAME("blk.%d.ffn_down.weight"), 2, F, E, 0.3f, 0.0f, wt);
        add(b, NAME("blk.%d.ffn_down.bias"), 1, E, 1, 0.1f, 0.0f, NT_TYPE_F32);
    } else {
        /* Norm weights sit near 1, also Gemma's: its converter stores (1+w),
         * so near 1 is what a trained file holds. */
        add(b, NAME("blk.%d.attn_norm.weight"), 1, E, 1, 0.1f, 1.0f, NT_TYPE_F32);
        add(b, NAME("blk.%d.attn_q.weight"), 2, E, Q, 0.3f, 0.0f, wt);
        if (qkv_bias) add(b, NAME("blk.%d.attn_q.bias"), 1, Q, 1, 0.1f, 0.0f, NT_TYPE_F32);
        add(b, NAME("blk.%d.attn_k.weight"), 2, E, KV, 0.3f, 0.0f, wt);
        if (qkv_bias) add(b, NAME("blk.%d.attn_k.bias"), 1, KV, 1, 0.1f, 0.0f, NT_TYPE_F32);
        add(b, NAME("blk.%d.attn_v.weight"), 2, E, KV, 0.3f, 0.0f, wt);
        if (qkv_bias) add(b, NAME("blk.%d.attn_v.bias"), 1, KV, 1, 0.1f, 0.0f, NT_TYPE_F32);
        if (qk_norm) {
            add(b, NAME("blk.%d.attn_q_norm.weight"), 1, HD, 1, 0.1f, 1.0f, NT_TYPE_F32);
            add(b, NAME("blk.%d.attn_k_norm.weight"), 1, HD, 1, 0.1f, 1.0f, NT_TYPE_F32);
        }
        add(b, NAME("blk.%d.attn_output.weight"), 2, Q, E, 0.3f, 0.0f, wt);
        if (sandwich)
            add(b, NAME("blk.%d.post_attention_norm.weight"), 1, E, 1, 0.1f, 1.0f, NT_TYPE_F32);
        add(b, NAME("blk.%d.ffn_norm.weight"), 1, E, 1, 0.1f, 1.0f, NT_TYPE_F32);
        add(b, NAME("blk.%d.ffn_gate.weight"), 2, E, F, 0.3f, 0.0f, wt);
        add(b, NAME("blk.%d.ffn_up.weight"), 2, E, F, 0.3f, 0.0f, wt);
        add(b, NAME("blk.%d.ffn_down.weight"), 2, F, E, 0.3f, 0.0f, wt);
        if (sandwich) add(b, NAME("blk.%d.post_ffw_norm.weight"), 1, E, 1, 0.1f, 1.0f, NT_TYPE_F32);
    }
#undef NAME
}

nt_gw *nt_tiny_model_writer(const nt_tiny_spec *sp)
{
    builder b = {nt_gw_new(), sp, sp->seed * 0x9e3779b97f4a7c15ull + 1, NULL};
    char key[96];
    const bool gpt2 = is_arch(sp, "gpt2");
    const bool gemma = is_arch(sp, "gemma2") || is_arch(sp, "gemma3");
    nt_gw_add_str(b.w, "general.architecture", sp->arch);
    nt_gw_add_str(b.w, "general.name", "tiny test model");
#define KEY(suffix) (snprintf(key, sizeof key, "%s." suffix, sp->arch), key)
    nt_gw_add_u32(b.w, KEY("context_length"), (uint32_t)sp->n_ctx);
    nt_gw_add_u32(b.w, KEY("embedding_length"), (uint32_t)sp->n_embd);
    nt_gw_add_u32(b.w, KEY("block_count"), (uint32_t)sp->n_layer);
    nt_gw_add_u32(b.w, KEY("feed_forward_length"), (uint32_t)sp->n_ff);
    nt_gw_add_u32(b.w, KEY("attention.head_count"), (uint32_t)sp->n_head);
    nt_gw_add_u32(b.w, KEY("attention.head_count_kv"), (uint32_t)sp->n_head_kv);
    if (gpt2) {
        nt_gw_add_f32(b.w, KEY("attention.layer_norm_epsilon"), 1e-5f);
    } else {
        const float eps = sp->rms_eps > 0 ? sp->rms_eps : gemma ? 1e-6f : 1e-5f;
        const float base = sp->rope_base > 0 ? sp->rope_base : is_arch(sp, "gemma3") ? 1e6f : 1e4f;
        const int hd = nt_tiny_head_dim(sp);
        nt_gw_add_f32(b.w, KEY("attention.layer_norm_rms_epsilon"), eps);
        /* Their converters always write the head size; elsewhere only a
         * spec that sets one does (so heads that do not divide n_embd
         * stay the error they are without the key). */
        if (is_arch(sp, "qwen3") || gemma || sp->head_dim) {
            nt_gw_add_u32(b.w, KEY("attention.key_length"), (uint32_t)hd);
            nt_gw_add_u32(b.w, KEY("attention.value_length"), (uint32_t)hd);
        }
        nt_gw_add_f32(b.w, KEY("rope.freq_base"), base);
    }
    if (gemma) {
        const int window = sp->sliding_window > 0 ? sp->sliding_window
                           : is_arch(sp, "gemma2") ? 4096 : 512;
        nt_gw_add_u32(b.w, KEY("attention.sliding_window"), (uint32_t)window);
    }
    if (is_arch(sp, "gemma2")) {
        /* Gemma 2's own caps, written as its converter does. */
        nt_gw_add_f32(b.w, KEY("attn_logit_softcapping"), 50.0f);
        nt_gw_add_f32(b.w, KEY("final_logit_softcapping"), 30.0f);
    }
    if (is_arch(sp, "gemma3")) {
        /* The local layers' base: loaders that predate the key hard-code
         * this value, later ones read it. */
        nt_gw_add_f32(b.w, KEY("rope.freq_base_swa"), 10000.0f);
    }
#undef KEY
    const int64_t E = sp->n_embd, V = sp->n_vocab;
    add(&b, "token_embd.weight", 2, E, V, 1.0f, 0.0f, sp->weight_type);
    if (gpt2) add(&b, "position_embd.weight", 2, E, sp->n_ctx, 0.5f, 0.0f, sp->weight_type);
    for (int l = 0; l < sp->n_layer; l++) add_layer_tensors(&b, l);
    add(&b, "output_norm.weight", 1, E, 1, 0.1f, 1.0f, NT_TYPE_F32);
    if (gpt2) add(&b, "output_norm.bias", 1, E, 1, 0.1f, 0.0f, NT_TYPE_F32);
    /* Gemma's head is always token_embd: llama.cpp refuses an output.weight
     * there as a tensor it did not ask for. */
    if (!sp->tied_output && !gemma)
        add(&b, "output.weight", 2, E, V, sp->output_is_embd ? 1.0f : 0.5f, 0.0f, sp->weight_type);
    free(b.embd);
    return b.w;
}

char *nt_tiny_write_temp(nt_gw *w)
{
    char *path = strdup("/tmp/nexttok-test-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) {
        free(path);
        return NULL;
    }
    close(fd);
    if (!nt_gw_write_file(w, path)) {
        unlink(path);
        free(path);
        return NULL;
    }
    return path;
}

char *nt_tiny_model_file(const nt_tiny_spec *spec)
{
    nt_gw *w = nt_tiny_model_writer(spec);
    char *path = nt_tiny_write_temp(w);
    nt_gw_free(w);
    return path;
}
