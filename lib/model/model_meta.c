/* Printable renderings of a model's GGUF metadata, for inspection. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "model/model.h"

/* Appends to a fixed buffer, truncating silently. */
typedef struct {
    char *buf;
    size_t size, used;
} sink;

static void put(sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sink *s, const char *fmt, ...)
{
    if (s->used + 1 >= s->size) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->buf + s->used, s->size - s->used, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    s->used += (size_t)n;
    if (s->used >= s->size) s->used = s->size - 1;
}

static void put_str(sink *s, nt_str str)
{
    int len = str.len > 200 ? 200 : (int)str.len;
    put(s, "%.*s%s", len, str.ptr, str.len > 200 ? "..." : "");
}

static void put_scalar(sink *s, const nt_gguf_kv *kv)
{
    switch (kv->type) {
    case NT_GGUF_UINT8: case NT_GGUF_UINT16: case NT_GGUF_UINT32: case NT_GGUF_UINT64:
        put(s, "%" PRIu64, kv->v.u64);
        break;
    case NT_GGUF_INT8: case NT_GGUF_INT16: case NT_GGUF_INT32: case NT_GGUF_INT64:
        put(s, "%" PRId64, kv->v.i64);
        break;
    case NT_GGUF_FLOAT32: case NT_GGUF_FLOAT64:
        put(s, "%.9g", kv->v.f64);
        break;
    case NT_GGUF_BOOL:
        put(s, "%s", kv->v.b ? "true" : "false");
        break;
    case NT_GGUF_STRING:
        put_str(s, kv->v.str);
        break;
    default:
        put(s, "?");
    }
}

static void put_array(sink *s, const nt_gguf_kv *kv)
{
    put(s, "[%s; %" PRIu64 "]", nt_gguf_vtype_name(kv->arr_type), kv->arr_len);
    uint64_t shown = kv->arr_len < 4 ? kv->arr_len : 4;
    if (kv->arr_type == NT_GGUF_ARRAY || shown == 0) return;
    put(s, " ");
    for (uint64_t i = 0; i < shown; i++) {
        if (i) put(s, ", ");
        if (kv->arr_type == NT_GGUF_STRING) put_str(s, kv->arr_strs[i]);
        else if (kv->arr_type == NT_GGUF_FLOAT32) put(s, "%.9g", (double)nt_gguf_arr_f32(kv, i));
        else if (kv->arr_type == NT_GGUF_FLOAT64) {
            double d;
            memcpy(&d, kv->arr_data + 8 * i, sizeof d);
            put(s, "%.17g", d);
        } else if (kv->arr_type == NT_GGUF_BOOL) put(s, "%s", kv->arr_data[i] ? "true" : "false");
        else put(s, "%" PRId64, nt_gguf_arr_int(kv, i));
    }
    if (shown < kv->arr_len) put(s, ", ...");
}

NEXTTOK_API size_t nexttok_model_meta_count_get(const nexttok_model *m)
{
    return m ? (size_t)m->gguf->n_kv : 0;
}

NEXTTOK_API nexttok_status nexttok_model_meta_get(const nexttok_model *m, size_t index, char *key,
                                                  size_t key_size, char *value, size_t value_size)
{
    nt_error_clear();
    if (!m || !key || !value || key_size == 0 || value_size == 0)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_model_meta_get: model and non-empty buffers are required");
    if (index >= m->gguf->n_kv)
        return nt_fail(NEXTTOK_ERR_NOT_FOUND, "metadata index %zu: the model has %" PRIu64 " entries", index, m->gguf->n_kv);
    const nt_gguf_kv *kv = &m->gguf->kv[index];
    snprintf(key, key_size, "%s", kv->key);
    sink s = {value, value_size, 0};
    value[0] = '\0';
    if (kv->type == NT_GGUF_ARRAY) put_array(&s, kv);
    else put_scalar(&s, kv);
    return NEXTTOK_OK;
}
