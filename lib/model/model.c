/* Model lifecycle and the facts the API reports about it. */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/params.h"
#include "model/model.h"
#include "types/types.h"

static const nexttok_model_params nt_model_defaults = {.struct_size = sizeof(nexttok_model_params)};

NEXTTOK_API void nexttok_model_params_init(nexttok_model_params *params, size_t struct_size)
{
    nt_params_init(params, struct_size, &nt_model_defaults, sizeof nt_model_defaults);
}

const nt_gguf *nt_model_gguf(const nexttok_model *m) { return m ? m->gguf : NULL; }

NEXTTOK_API void nexttok_model_free(nexttok_model *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n_owned; i++) nt_free(m->owned[i]);
    nt_free(m->owned);
    nt_free(m->gpt2_layers);
    nt_free(m->layers);
    nt_free(m->layer_windows);
    nt_free(m->arch_name);
    nt_free(m->name);
    nt_gguf_close(m->gguf);
    nt_free(m);
}

/* For a metadata-only load: whatever hyper-parameters the file gives under
 * "{arch}.", without judging them. */
static void read_hparams_loosely(nexttok_model *m)
{
    static const struct {
        const char *suffix;
        size_t offset;
    } keys[] = {
        {"context_length", offsetof(nt_hparams, n_ctx_train)},
        {"embedding_length", offsetof(nt_hparams, n_embd)},
        {"block_count", offsetof(nt_hparams, n_layer)},
        {"feed_forward_length", offsetof(nt_hparams, n_ff)},
        {"attention.head_count", offsetof(nt_hparams, n_head)},
        {"attention.head_count_kv", offsetof(nt_hparams, n_head_kv)},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char key[160];
        int64_t v;
        snprintf(key, sizeof key, "%s.%s", m->arch_name, keys[i].suffix);
        if (nt_gguf_get_int(m->gguf, key, &v) == NEXTTOK_OK && v >= 0 && v <= INT32_MAX)
            *(int32_t *)((char *)&m->hp + keys[i].offset) = (int32_t)v;
    }
    const nt_gguf_tensor *te = nt_gguf_tensor_find(m->gguf, "token_embd.weight");
    const nt_gguf_kv *toks = nt_gguf_kv_find(m->gguf, "tokenizer.ggml.tokens");
    if (te && te->n_dims == 2 && te->ne[1] <= INT32_MAX) m->hp.n_vocab = (int32_t)te->ne[1];
    else if (toks && toks->type == NT_GGUF_ARRAY && toks->arr_len <= INT32_MAX) m->hp.n_vocab = (int32_t)toks->arr_len;
    nt_error_clear();
}

static nexttok_status load(nexttok_model *m, const char *path, bool metadata_only)
{
    nexttok_status st = nt_gguf_open(path, &m->gguf);
    if (st != NEXTTOK_OK) return st;

    nt_str arch = {"", 0}, name = {"", 0};
    st = nt_gguf_get_str(m->gguf, "general.architecture", &arch);
    if (st != NEXTTOK_OK && !metadata_only) {
        if (st == NEXTTOK_ERR_NOT_FOUND)
            return nt_fail(NEXTTOK_ERR_FORMAT, "key 'general.architecture': missing");
        return st;
    }
    if (nt_gguf_get_str(m->gguf, "general.name", &name) != NEXTTOK_OK) name = (nt_str){"", 0};
    m->arch_name = nt_strndup(arch.ptr, (size_t)arch.len);
    m->name = nt_strndup(name.ptr, (size_t)name.len);
    if (!m->arch_name || !m->name) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory");
    nt_error_clear();

    for (uint64_t i = 0; i < m->gguf->n_tensors; i++) {
        const nt_gguf_tensor *t = &m->gguf->tensors[i];
        m->n_params += (uint64_t)(t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]);
    }
    if ((st = nt_model_progress(m, 0.0f))) return st;
    if (metadata_only) {
        read_hparams_loosely(m);
        return nt_model_progress(m, 1.0f);
    }

    m->arch = nt_arch_find(arch);
    if (!m->arch) {
        const int len = arch.len > 64 ? 64 : (int)arch.len;
        const char *why = nt_arch_refusal(arch);
        if (why)
            return nt_fail(NEXTTOK_ERR_UNSUPPORTED, "architecture '%.*s' is %s, which libnexttok does not run yet",
                           len, arch.ptr, why);
        return nt_fail(NEXTTOK_ERR_UNSUPPORTED, "architecture '%.*s' is not supported (supported: %s)", len,
                       arch.ptr, nt_arch_names());
    }
    if ((st = nt_model_read_hparams(m))) return st;
    st = m->arch->pass == NT_PASS_GPT2 ? nt_model_bind_gpt2(m) : nt_model_bind_decoder(m);
    if (st) return st;
    nt_model_describe(m);
    m->runnable = true;
    return nt_model_progress(m, 1.0f);
}

NEXTTOK_API nexttok_status nexttok_model_load(const char *path, const nexttok_model_params *params,
                                              nexttok_model **model_out)
{
    nt_error_clear();
    if (model_out) *model_out = NULL;
    if (!path || !model_out) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_model_load: path and model_out must not be NULL");
    nexttok_model_params p = nt_model_defaults;
    nexttok_status pst = nt_params_merge(&p, sizeof p, params, "nexttok_model_load");
    if (pst != NEXTTOK_OK) return pst;
    nexttok_model *m = nt_calloc(1, sizeof *m);
    if (!m) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory");
    m->progress = p.progress;
    m->progress_user_data = p.progress_user_data;
    nexttok_status st = load(m, path, p.metadata_only != 0);
    m->progress = NULL;
    m->progress_user_data = NULL;
    if (st != NEXTTOK_OK) {
        nexttok_model_free(m);
        return st;
    }
    *model_out = m;
    return NEXTTOK_OK;
}

NEXTTOK_API nexttok_status nexttok_model_info_get(const nexttok_model *m, nexttok_model_info *info)
{
    nt_error_clear();
    if (!m || !info) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_model_info_get: model and info must not be NULL");
    nexttok_model_info full = {
        .struct_size = sizeof full,
        .architecture = m->arch_name,
        .name = m->name,
        .n_vocab = m->hp.n_vocab,
        .n_ctx_train = m->hp.n_ctx_train,
        .n_embd = m->hp.n_embd,
        .n_layer = m->hp.n_layer,
        .n_head = m->hp.n_head,
        .n_head_kv = m->hp.n_head_kv,
        .n_ff = m->hp.n_ff,
        .gguf_version = m->gguf->version,
        .n_params = m->n_params,
        .file_size = m->gguf->size,
        .runnable = m->runnable,
        .head_dim = m->hp.head_dim,
        .features = m->features,
    };
    return nt_info_fill(info, &full, sizeof full, "nexttok_model_info_get");
}

NEXTTOK_API const char *nexttok_model_architecture_get(const nexttok_model *m) { return m ? m->arch_name : ""; }
NEXTTOK_API int32_t nexttok_model_n_vocab_get(const nexttok_model *m) { return m ? m->hp.n_vocab : 0; }
NEXTTOK_API int32_t nexttok_model_n_ctx_train_get(const nexttok_model *m) { return m ? m->hp.n_ctx_train : 0; }
NEXTTOK_API int32_t nexttok_model_n_embd_get(const nexttok_model *m) { return m ? m->hp.n_embd : 0; }

NEXTTOK_API size_t nexttok_model_tensor_count_get(const nexttok_model *m)
{
    return m ? (size_t)m->gguf->n_tensors : 0;
}

NEXTTOK_API nexttok_status nexttok_model_tensor_info_get(const nexttok_model *m, size_t index,
                                                         nexttok_tensor_info *info)
{
    nt_error_clear();
    if (!m || !info) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_model_tensor_info_get: model and info must not be NULL");
    if (index >= m->gguf->n_tensors)
        return nt_fail(NEXTTOK_ERR_NOT_FOUND, "tensor index %zu: the model has %" PRIu64 " tensors", index, m->gguf->n_tensors);
    const nt_gguf_tensor *t = &m->gguf->tensors[index];
    const nt_type_traits *tr = nt_type_traits_get(t->type);
    nexttok_tensor_info full = {
        .struct_size = sizeof full,
        .name = t->name,
        .type_name = tr ? tr->name : "unknown",
        .n_dims = t->n_dims,
        .offset = m->gguf->data_offset + t->offset,
        .n_bytes = t->nbytes,
    };
    for (int d = 0; d < 4; d++) full.dims[d] = t->ne[d];
    return nt_info_fill(info, &full, sizeof full, "nexttok_model_tensor_info_get");
}
