/* Shape-checked binding of GGUF tensors to a model's weight slots. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "model/model.h"
#include "types/types.h"

const char *nt_tensor_name(char *buf, size_t size, const char *fmt, int layer)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(buf, size, fmt, layer);
#pragma GCC diagnostic pop
    return buf;
}

nexttok_status nt_model_progress(nexttok_model *m, float fraction)
{
    if (m->progress && m->progress(fraction, m->progress_user_data) != 0)
        return nt_fail(NEXTTOK_ERR_CANCELLED, "load cancelled by the progress callback");
    return NEXTTOK_OK;
}

static void shape_str(const nt_gguf_tensor *t, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (uint32_t d = 0; d < t->n_dims && used < size; d++) {
        int n = snprintf(buf + used, size - used, d ? "x%" PRId64 : "%" PRId64, t->ne[d]);
        if (n < 0) break;
        used += (size_t)n;
    }
}

static nexttok_status find_tensor(const nexttok_model *m, const char *name, bool required,
                                  const nt_gguf_tensor **out)
{
    *out = nt_gguf_tensor_find(m->gguf, name);
    if (!*out && required)
        return nt_fail(NEXTTOK_ERR_FORMAT, "tensor %s: missing (required by architecture %s)",
                       name, m->arch_name);
    return NEXTTOK_OK;
}

nexttok_status nt_bind_matrix(nexttok_model *m, const char *name, int64_t n_in, int64_t n_out,
                              bool required, nt_weight *out)
{
    const nt_gguf_tensor *t;
    memset(out, 0, sizeof *out);
    nexttok_status st = find_tensor(m, name, required, &t);
    if (st != NEXTTOK_OK || !t) return st;

    bool ok = t->n_dims == 2 && t->ne[0] == n_in && t->ne[1] == n_out;
    if (!ok) {
        char got[96];
        shape_str(t, got, sizeof got);
        return nt_fail(NEXTTOK_ERR_FORMAT, "tensor %s: expected %" PRId64 "x%" PRId64 ", got %s",
                       name, n_in, n_out, got);
    }
    if (!nt_type_is_computable(t->type)) {
        const nt_type_traits *tr = nt_type_traits_get(t->type);
        return nt_fail(NEXTTOK_ERR_UNSUPPORTED, "tensor %s: weight type %s is not supported",
                       name, tr ? tr->name : "unknown");
    }
    uint64_t row_bytes;
    if (!nt_type_row_bytes(t->type, n_in, &row_bytes))
        return nt_fail(NEXTTOK_ERR_FORMAT, "tensor %s: row of %" PRId64 " values does not fit type %s",
                       name, n_in, nt_type_traits_get(t->type)->name);
    out->data = t->data;
    out->type = t->type;
    out->n_in = n_in;
    out->n_out = n_out;
    out->row_bytes = (size_t)row_bytes;
    return NEXTTOK_OK;
}

static nexttok_status keep_owned(nexttok_model *m, float *buf)
{
    if (m->n_owned == m->cap_owned) {
        size_t cap = m->cap_owned ? m->cap_owned * 2 : 16;
        float **grown = nt_realloc_array(m->owned, cap, sizeof *grown);
        if (!grown) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory binding weights");
        m->owned = grown;
        m->cap_owned = cap;
    }
    m->owned[m->n_owned++] = buf;
    return NEXTTOK_OK;
}

nexttok_status nt_bind_vector(nexttok_model *m, const char *name, int64_t n, bool required, const float **out)
{
    const nt_gguf_tensor *t;
    *out = NULL;
    nexttok_status st = find_tensor(m, name, required, &t);
    if (st != NEXTTOK_OK || !t) return st;
    if (t->n_dims != 1 || t->ne[0] != n) {
        char got[96];
        shape_str(t, got, sizeof got);
        return nt_fail(NEXTTOK_ERR_FORMAT, "tensor %s: expected %" PRId64 ", got %s", name, n, got);
    }
    const nt_type_traits *tr = nt_type_traits_get(t->type);
    const nt_type_kernels *k = nt_type_kernels_get(t->type);
    if (!tr || !tr->computable || !k || !k->to_float || n % tr->blck_size != 0)
        return nt_fail(NEXTTOK_ERR_UNSUPPORTED, "tensor %s: weight type %s is not supported",
                       name, tr ? tr->name : "unknown");
    float *buf = nt_malloc_array((size_t)n, sizeof(float));
    if (!buf) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "tensor %s: out of memory", name);
    k->to_float(t->data, buf, n);
    st = keep_owned(m, buf);
    if (st != NEXTTOK_OK) {
        nt_free(buf);
        return st;
    }
    *out = buf;
    return NEXTTOK_OK;
}

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

nexttok_status nt_model_read_hparams(nexttok_model *m)
{
    nt_hparams *hp = &m->hp;
    nexttok_status st;
    bool is_llama = m->arch == NT_ARCH_LLAMA;
    if ((st = read_int(m, "context_length", true, 0, 1, NT_MAX_CTX, &hp->n_ctx_train)) ||
        (st = read_int(m, "embedding_length", true, 0, 1, NT_MAX_DIM, &hp->n_embd)) ||
        (st = read_int(m, "block_count", true, 0, 1, NT_MAX_LAYERS, &hp->n_layer)) ||
        (st = read_int(m, "feed_forward_length", true, 0, 1, NT_MAX_DIM, &hp->n_ff)) ||
        (st = read_int(m, "attention.head_count", true, 0, 1, hp->n_embd, &hp->n_head)))
        return st;
    if ((st = read_int(m, "attention.head_count_kv", false, hp->n_head, 1, hp->n_head, &hp->n_head_kv)))
        return st;
    if (hp->n_embd % hp->n_head != 0)
        return nt_fail(NEXTTOK_ERR_FORMAT, "key '%s.attention.head_count': %d heads do not divide embedding length %d",
                       m->arch_name, hp->n_head, hp->n_embd);
    if (hp->n_head % hp->n_head_kv != 0)
        return nt_fail(NEXTTOK_ERR_FORMAT, "key '%s.attention.head_count_kv': %d KV heads do not divide %d heads",
                       m->arch_name, hp->n_head_kv, hp->n_head);
    hp->head_dim = hp->n_embd / hp->n_head;
    if (is_llama) {
        if ((st = read_float(m, "attention.layer_norm_rms_epsilon", true, 0, 0, 1, &hp->norm_eps)) ||
            (st = read_float(m, "rope.freq_base", false, 10000.0, 1e-3, 1e12, &hp->rope_freq_base)) ||
            (st = read_int(m, "rope.dimension_count", false, hp->head_dim, 2, hp->head_dim, &hp->n_rot)))
            return st;
        if (hp->n_rot % 2 != 0)
            return nt_fail(NEXTTOK_ERR_FORMAT, "key '%s.rope.dimension_count': %d is odd",
                           m->arch_name, hp->n_rot);
        if ((st = read_rope_scaling(m))) return st;
    } else {
        if ((st = read_float(m, "attention.layer_norm_epsilon", true, 0, 0, 1, &hp->norm_eps)))
            return st;
    }
    /* The vocabulary size is the token embedding's row count. */
    const nt_gguf_tensor *te = nt_gguf_tensor_find(m->gguf, "token_embd.weight");
    if (!te) return nt_fail(NEXTTOK_ERR_FORMAT, "tensor token_embd.weight: missing");
    if (te->n_dims != 2 || te->ne[1] < 1 || te->ne[1] > INT32_MAX)
        return nt_fail(NEXTTOK_ERR_FORMAT, "tensor token_embd.weight: expected 2 dimensions with a vocabulary size");
    hp->n_vocab = (int32_t)te->ne[1];
    return NEXTTOK_OK;
}
