/* Hyper-parameters from the "{arch}.*" keys, as the architecture's row
 * asks: which keys exist for the family, their defaults and their bounds.
 * Defaults follow llama.cpp's loader (reference/architectures.md §1.1). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "model/model.h"

/* The rule both readers below apply to a lookup's status: an absent key
 * that the architecture requires becomes a format error naming it; an
 * absent optional key stays NEXTTOK_ERR_NOT_FOUND (take the default). */
static nexttok_status key_rule(const nexttok_model *m, const char *key, bool required,
                               nexttok_status lookup)
{
    if (lookup == NEXTTOK_ERR_NOT_FOUND && required)
        return nt_fail(NEXTTOK_ERR_FORMAT, "key '%s': missing (required by architecture %s)", key,
                       m->arch_name);
    return lookup;
}

/* An integer hyper-parameter in [lo, hi]. */
static nexttok_status read_int(const nexttok_model *m, const char *suffix, bool required,
                               int64_t dflt, int64_t lo, int64_t hi, int32_t *out)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", m->arch_name, suffix);
    int64_t v;
    nexttok_status st = key_rule(m, key, required, nt_gguf_get_int(m->gguf, key, &v));
    if (st == NEXTTOK_ERR_NOT_FOUND) v = dflt;
    else if (st != NEXTTOK_OK) return st;
    if (v < lo || v > hi)
        return nt_fail(NEXTTOK_ERR_FORMAT, "key '%s': value %" PRId64 " outside [%" PRId64 ", %" PRId64 "]",
                       key, v, lo, hi);
    *out = (int32_t)v;
    return NEXTTOK_OK;
}

static nexttok_status read_float(const nexttok_model *m, const char *suffix, bool required,
                                 double dflt, double lo, double hi, float *out)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", m->arch_name, suffix);
    double v;
    nexttok_status st = key_rule(m, key, required, nt_gguf_get_float(m->gguf, key, &v));
    if (st == NEXTTOK_ERR_NOT_FOUND) v = dflt;
    else if (st != NEXTTOK_OK) return st;
    if (!(v >= lo && v <= hi))
        return nt_fail(NEXTTOK_ERR_FORMAT, "key '%s': value %g outside [%g, %g]", key, v, lo, hi);
    *out = (float)v;
    return NEXTTOK_OK;
}

/* RoPE frequency scaling as llama.cpp reads it: "linear" (or no type)
 * divides positions by rope.scaling.factor (formerly rope.scale_linear);
 * YaRN and the other schemes are refused rather than run wrong. */
static nexttok_status read_rope_scaling(nexttok_model *m)
{
    char key[128];
    nt_str type = {"", 0};
    snprintf(key, sizeof key, "%s.rope.scaling.type", m->arch_name);
    nexttok_status st = nt_gguf_get_str(m->gguf, key, &type);
    if (st == NEXTTOK_OK && !nt_str_eq(type, "none") && !nt_str_eq(type, "linear")) {
        int len = type.len > 32 ? 32 : (int)type.len;
        return nt_fail(NEXTTOK_ERR_UNSUPPORTED, "key '%s': RoPE scaling '%.*s' is not supported (supported: none, linear)",
                       key, len, type.ptr);
    }
    if (st != NEXTTOK_OK && st != NEXTTOK_ERR_NOT_FOUND) return st;
    float factor = 0.0f;
    if ((st = read_float(m, "rope.scaling.factor", false, 0.0, 0.0, 1e6, &factor))) return st;
    if (factor == 0.0f && (st = read_float(m, "rope.scale_linear", false, 0.0, 0.0, 1e6, &factor))) return st;
    /* A factor of 0 means none; type "none" never scales, whatever the factor. */
    bool scaled = factor != 0.0f && !nt_str_eq(type, "none");
    m->hp.rope_freq_scale = scaled ? 1.0f / factor : 1.0f;
    return NEXTTOK_OK;
}

/* Bounds keep every later size computation (KV cache, scratch) far from
 * overflow while admitting every real model. */
#define NT_MAX_DIM (1 << 20)
#define NT_MAX_LAYERS 4096
#define NT_MAX_CTX (1 << 24)

/* A key that may be absent; NOT_FOUND is no error here. */
static bool has_key(const nexttok_model *m, const char *suffix)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", m->arch_name, suffix);
    return nt_gguf_kv_find(m->gguf, key) != NULL;
}

/* Mixture-of-experts files can say "llama" (Mixtral): refuse them by
 * their expert count rather than run their layers wrong. */
static nexttok_status refuse_experts(const nexttok_model *m)
{
    int32_t experts = 0;
    nexttok_status st = read_int(m, "expert_count", false, 0, 0, INT32_MAX, &experts);
    if (st != NEXTTOK_OK) return st;
    if (experts > 0)
        return nt_fail(NEXTTOK_ERR_UNSUPPORTED,
                       "key '%s.expert_count': %d experts: mixture-of-experts models are not supported yet",
                       m->arch_name, experts);
    return NEXTTOK_OK;
}

static nexttok_status read_shape(nexttok_model *m)
{
    nt_hparams *hp = &m->hp;
    nexttok_status st;
    if ((st = read_int(m, "context_length", true, 0, 1, NT_MAX_CTX, &hp->n_ctx_train)) ||
        (st = read_int(m, "embedding_length", true, 0, 1, NT_MAX_DIM, &hp->n_embd)) ||
        (st = read_int(m, "block_count", true, 0, 1, NT_MAX_LAYERS, &hp->n_layer)) ||
        (st = read_int(m, "feed_forward_length", true, 0, 1, NT_MAX_DIM, &hp->n_ff)) ||
        (st = read_int(m, "attention.head_count", true, 0, 1, hp->n_embd, &hp->n_head)))
        return st;
    if ((st = read_int(m, "attention.head_count_kv", false, hp->n_head, 1, hp->n_head, &hp->n_head_kv)))
        return st;
    if (hp->n_head % hp->n_head_kv != 0)
        return nt_fail(NEXTTOK_ERR_FORMAT, "key '%s.attention.head_count_kv': %d KV heads do not divide %d heads",
                       m->arch_name, hp->n_head_kv, hp->n_head);
    /* The head size is attention.key_length when given (Gemma, Qwen3:
     * n_head * head_dim need not be n_embd); GPT-2 has no such key. */
    const bool keyed = m->arch->pass != NT_PASS_GPT2 && has_key(m, "attention.key_length");
    if (keyed) {
        if ((st = read_int(m, "attention.key_length", true, 0, 1, 1 << 16, &hp->head_dim))) return st;
    } else {
        if (hp->n_embd % hp->n_head != 0)
            return nt_fail(NEXTTOK_ERR_FORMAT,
                           "key '%s.attention.head_count': %d heads do not divide embedding length %d",
                           m->arch_name, hp->n_head, hp->n_embd);
        hp->head_dim = hp->n_embd / hp->n_head;
    }
    int32_t value_length = hp->head_dim;
    if (keyed && (st = read_int(m, "attention.value_length", false, hp->head_dim, 1, 1 << 16, &value_length)))
        return st;
    if (value_length != hp->head_dim)
        return nt_fail(NEXTTOK_ERR_UNSUPPORTED,
                       "key '%s.attention.value_length': %d differs from key_length %d, which is not supported",
                       m->arch_name, value_length, hp->head_dim);
    if ((int64_t)hp->n_head * hp->head_dim > NT_MAX_DIM)
        return nt_fail(NEXTTOK_ERR_FORMAT, "key '%s.attention.key_length': %d heads of %d values are too many",
                       m->arch_name, hp->n_head, hp->head_dim);
    const char *eps_key = m->arch->norm == NT_NORM_RMS ? "attention.layer_norm_rms_epsilon"
                                                       : "attention.layer_norm_epsilon";
    return read_float(m, eps_key, true, 0, 0, 1, &hp->norm_eps);
}

static nexttok_status read_rope(nexttok_model *m)
{
    const nt_arch *a = m->arch;
    nt_hparams *hp = &m->hp;
    nexttok_status st;
    if ((st = read_float(m, "rope.freq_base", false, 10000.0, 1e-3, 1e12, &hp->rope_freq_base)) ||
        (st = read_int(m, "rope.dimension_count", false, hp->head_dim, 2, hp->head_dim, &hp->n_rot)))
        return st;
    if (hp->n_rot % 2 != 0)
        return nt_fail(NEXTTOK_ERR_FORMAT, "key '%s.rope.dimension_count': %d is odd", m->arch_name, hp->n_rot);
    if ((st = read_rope_scaling(m)) ||
        (st = read_float(m, "rope.scaling.attn_factor", false, 1.0, 1e-6, 1e6, &hp->rope_attn_factor)) ||
        (st = read_int(m, "rope.scaling.original_context_length", false, hp->n_ctx_train, 1, NT_MAX_CTX,
                       &hp->n_ctx_orig)))
        return st;
    const double base_swa = a->freq_base_swa_default > 0.0f ? (double)a->freq_base_swa_default
                                                            : (double)hp->rope_freq_base;
    return read_float(m, "rope.freq_base_swa", false, base_swa, 1e-3, 1e12, &hp->rope_freq_base_swa);
}

/* Sliding-window attention: the window, and which layers slide (layer il
 * when il % pattern < pattern - 1; pattern 0: every layer, 1: none). */
static nexttok_status read_window(nexttok_model *m)
{
    const nt_arch *a = m->arch;
    nt_hparams *hp = &m->hp;
    nexttok_status st;
    if (a->swa_pattern == 0 || a->sliding_window_ignored) return NEXTTOK_OK;
    if ((st = read_int(m, "attention.sliding_window", false, a->swa_window_default, 0, NT_MAX_CTX, &hp->n_swa)))
        return st;
    /* The pattern is a period, or one flag per layer (newer converters). */
    char key[128];
    snprintf(key, sizeof key, "%s.attention.sliding_window_pattern", m->arch_name);
    const nt_gguf_kv *kv = nt_gguf_kv_find(m->gguf, key);
    if (kv && kv->type == NT_GGUF_ARRAY) {
        const bool flags = kv->arr_type == NT_GGUF_BOOL || kv->arr_type == NT_GGUF_UINT8 ||
                           kv->arr_type == NT_GGUF_INT8 || kv->arr_type == NT_GGUF_INT32 ||
                           kv->arr_type == NT_GGUF_UINT32;
        if (!flags || kv->arr_len != (uint64_t)hp->n_layer)
            return nt_fail(NEXTTOK_ERR_FORMAT, "key '%s': expected %d per-layer flags (bool or integer)", key,
                           hp->n_layer);
        hp->swa_layers = kv;
        return NEXTTOK_OK;
    }
    return read_int(m, "attention.sliding_window_pattern", false, a->swa_pattern, 0, NT_MAX_LAYERS,
                    &hp->swa_pattern);
}

/* Scales and caps: attention logit scale, soft-caps, Granite's
 * multipliers and Gemma's embedding scale. */
static nexttok_status read_scales(nexttok_model *m)
{
    const nt_arch *a = m->arch;
    nt_hparams *hp = &m->hp;
    nexttok_status st;
    hp->kq_scale = 1.0f / sqrtf((float)hp->head_dim);
    if (a->query_scale_layers && hp->n_layer == a->query_scale_layers)
        hp->kq_scale = 1.0f / sqrtf((float)(hp->n_embd / hp->n_head));
    hp->embd_scale = a->embd_scale_sqrt ? sqrtf((float)hp->n_embd) : 1.0f;
    hp->residual_scale = hp->logit_scale = 1.0f;
    if (a->read_softcaps &&
        ((st = read_float(m, "attn_logit_softcapping", false, a->attn_softcap_default, 0, 1e6, &hp->attn_softcap)) ||
         (st = read_float(m, "final_logit_softcapping", false, a->final_softcap_default, 0, 1e6, &hp->final_softcap))))
        return st;
    if (a->granite_scales) {
        /* 0 (or absent) switches the first three off, as newer llama.cpp reads them. */
        float embd = 0, attn = 0, resid = 0;
        if ((st = read_float(m, "embedding_scale", false, 0, 0, 1e6, &embd)) ||
            (st = read_float(m, "attention.scale", false, 0, 0, 1e6, &attn)) ||
            (st = read_float(m, "residual_scale", false, 0, 0, 1e6, &resid)) ||
            (st = read_float(m, "logit_scale", true, 0, 1e-6, 1e6, &hp->logit_scale)))
            return st;
        if (embd > 0) hp->embd_scale = embd;
        if (attn > 0) hp->kq_scale = attn;
        if (resid > 0) hp->residual_scale = resid;
    }
    return NEXTTOK_OK;
}

nexttok_status nt_model_read_hparams(nexttok_model *m)
{
    nt_hparams *hp = &m->hp;
    nexttok_status st;
    hp->rope_freq_scale = hp->rope_attn_factor = 1.0f;
    if ((st = refuse_experts(m)) || (st = read_shape(m))) return st;
    if (m->arch->pass == NT_PASS_DECODER && ((st = read_rope(m)) || (st = read_window(m)))) return st;
    if ((st = read_scales(m))) return st;
    /* The vocabulary size is the token embedding's row count. */
    const nt_gguf_tensor *te = nt_gguf_tensor_find(m->gguf, "token_embd.weight");
    if (!te) return nt_fail(NEXTTOK_ERR_FORMAT, "tensor token_embd.weight: missing");
    if (te->n_dims != 2 || te->ne[1] < 1 || te->ne[1] > INT32_MAX)
        return nt_fail(NEXTTOK_ERR_FORMAT, "tensor token_embd.weight: expected 2 dimensions with a vocabulary size");
    hp->n_vocab = (int32_t)te->ne[1];
    return NEXTTOK_OK;
}
