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
    return nt_bind_vector2(m, name, n, 1, required, out);
}

nexttok_status nt_bind_vector2(nexttok_model *m, const char *name, int64_t n0, int64_t n1, bool required,
                               const float **out)
{
    const nt_gguf_tensor *t;
    *out = NULL;
    nexttok_status st = find_tensor(m, name, required, &t);
    if (st != NEXTTOK_OK || !t) return st;
    const bool ok = n1 == 1 ? t->n_dims == 1 && t->ne[0] == n0 : t->n_dims == 2 && t->ne[0] == n0 && t->ne[1] == n1;
    if (!ok) {
        char got[96];
        shape_str(t, got, sizeof got);
        if (n1 == 1) return nt_fail(NEXTTOK_ERR_FORMAT, "tensor %s: expected %" PRId64 ", got %s", name, n0, got);
        return nt_fail(NEXTTOK_ERR_FORMAT, "tensor %s: expected %" PRId64 "x%" PRId64 ", got %s", name, n0, n1, got);
    }
    const int64_t n = n0 * n1;
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

