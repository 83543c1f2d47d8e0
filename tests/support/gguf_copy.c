/* GGUF copies with edits (see gguf_copy.h). */
#include "support/gguf_copy.h"

#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "support/gguf_writer.h"
#include "support/quantize.h"
#include "support/tiny_model.h"
#include "types/types.h"

static void copy_array(nt_gw *w, const nt_gguf_kv *kv)
{
    if (kv->arr_type == NT_GGUF_STRING) {
        char **strs = calloc(kv->arr_len ? kv->arr_len : 1, sizeof *strs);
        for (uint64_t i = 0; i < kv->arr_len; i++) {
            strs[i] = malloc(kv->arr_strs[i].len + 1);
            memcpy(strs[i], kv->arr_strs[i].ptr, kv->arr_strs[i].len);
            strs[i][kv->arr_strs[i].len] = '\0';
        }
        nt_gw_add_arr_str(w, kv->key, (const char *const *)strs, kv->arr_len);
        for (uint64_t i = 0; i < kv->arr_len; i++) free(strs[i]);
        free(strs);
        return;
    }
    static const size_t elem_size[NT_GGUF_VTYPE_COUNT] = {
        [NT_GGUF_UINT8] = 1, [NT_GGUF_INT8] = 1, [NT_GGUF_UINT16] = 2, [NT_GGUF_INT16] = 2,
        [NT_GGUF_UINT32] = 4, [NT_GGUF_INT32] = 4, [NT_GGUF_FLOAT32] = 4, [NT_GGUF_BOOL] = 1,
        [NT_GGUF_UINT64] = 8, [NT_GGUF_INT64] = 8, [NT_GGUF_FLOAT64] = 8,
    };
    const size_t n = (size_t)kv->arr_len * elem_size[kv->arr_type];
    void *elems = malloc(n ? n : 1); /* aligned copy of the unaligned, little-endian elements */
    memcpy(elems, kv->arr_data, n);
    nt_gw_add_arr(w, kv->key, kv->arr_type, elems, kv->arr_len);
    free(elems);
}

static void copy_kv(nt_gw *w, const nt_gguf_kv *kv)
{
    switch (kv->type) {
    case NT_GGUF_UINT8: nt_gw_add_u8(w, kv->key, (uint8_t)kv->v.u64); break;
    case NT_GGUF_INT8: nt_gw_add_i8(w, kv->key, (int8_t)kv->v.i64); break;
    case NT_GGUF_UINT16: nt_gw_add_u16(w, kv->key, (uint16_t)kv->v.u64); break;
    case NT_GGUF_INT16: nt_gw_add_i16(w, kv->key, (int16_t)kv->v.i64); break;
    case NT_GGUF_UINT32: nt_gw_add_u32(w, kv->key, (uint32_t)kv->v.u64); break;
    case NT_GGUF_INT32: nt_gw_add_i32(w, kv->key, (int32_t)kv->v.i64); break;
    case NT_GGUF_UINT64: nt_gw_add_u64(w, kv->key, kv->v.u64); break;
    case NT_GGUF_INT64: nt_gw_add_i64(w, kv->key, kv->v.i64); break;
    case NT_GGUF_FLOAT32: nt_gw_add_f32(w, kv->key, (float)kv->v.f64); break;
    case NT_GGUF_FLOAT64: nt_gw_add_f64(w, kv->key, kv->v.f64); break;
    case NT_GGUF_BOOL: nt_gw_add_bool(w, kv->key, kv->v.b); break;
    case NT_GGUF_STRING: nt_gw_add_strn(w, kv->key, kv->v.str.ptr, kv->v.str.len); break;
    case NT_GGUF_ARRAY: copy_array(w, kv); break;
    default: break;
    }
}

/* Write key `kv` (or the edit's value for it) in the type it had. */
static void set_kv(nt_gw *w, const nt_gguf_kv *kv, const nt_gguf_edit *e)
{
    if (e->set_flags) nt_gw_add_arr(w, e->set_key, NT_GGUF_BOOL, e->set_flags, e->n_flags);
    else if (e->set_str) nt_gw_add_str(w, e->set_key, e->set_str);
    else if (kv && (kv->type == NT_GGUF_FLOAT32 || kv->type == NT_GGUF_FLOAT64)) nt_gw_add_f32(w, e->set_key, (float)e->set_num);
    else if (!kv && e->set_num != (double)(int64_t)e->set_num) nt_gw_add_f32(w, e->set_key, (float)e->set_num);
    else nt_gw_add_i64(w, e->set_key, (int64_t)e->set_num);
}

static bool is_weight_matrix(const nt_gguf_tensor *t)
{
    return t->n_dims == 2 && t->type == NT_TYPE_F32 && !strstr(t->name, "norm") && !strstr(t->name, "rope");
}

static float round_value(float v, uint32_t type)
{
    if (type == NT_TYPE_F32) return v;
    const nt_type_kernels *k = nt_type_kernels_get(type);
    unsigned char buf[8];
    float out;
    k->from_float(&v, buf, 1);
    k->to_float(buf, &out, 1);
    return out;
}

static void add_tensor(nt_gw *w, const nt_gguf_tensor *t, const char *name, const nt_gguf_edit *e)
{
    int64_t ne[NT_GGUF_MAX_DIMS];
    memcpy(ne, t->ne, sizeof ne);
    if (e->short_tensor && strcmp(t->name, e->short_tensor) == 0) ne[t->n_dims - 1]--;
    size_t n = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) n *= (size_t)ne[d];
    for (int g = 0; g < 2; g++)
        if (e->grow_tensor[g] && strcmp(t->name, e->grow_tensor[g]) == 0 && t->n_dims == 1 && t->type == NT_TYPE_F32) {
            float *v = malloc((n + (size_t)e->grow_by) * sizeof *v);
            memcpy(v, t->data, n * sizeof *v);
            for (int64_t i = 0; i < e->grow_by; i++) v[n + (size_t)i] = 1.0f;
            ne[0] += e->grow_by;
            nt_gw_add_tensor_f32(w, name, NT_TYPE_F32, 1, ne, v);
            free(v);
            return;
        }
    if (!is_weight_matrix(t)) {
        nt_gw_add_tensor(w, name, t->type, t->n_dims, ne, t->data, n * nt_type_traits_get(t->type)->type_size /
                                                                       nt_type_traits_get(t->type)->blck_size);
        return;
    }
    float *v = malloc(n * sizeof *v);
    memcpy(v, t->data, n * sizeof *v);
    const uint32_t rt = e->round_to ? e->round_to : NT_TYPE_F32;
    if (rt == NT_TYPE_Q8_0 || rt == NT_TYPE_Q4_0) {
        /* the values the quantized blocks decode to */
        unsigned char *q = malloc(nt_test_quant_bytes(rt, (int64_t)n));
        nt_test_quantize(rt, v, (int64_t)n, q);
        nt_type_kernels_get(rt)->to_float(q, v, (int64_t)n);
        free(q);
    } else {
        for (size_t i = 0; i < n; i++) v[i] = round_value(v[i], rt);
    }
    const uint32_t type = e->matrix_type ? e->matrix_type : NT_TYPE_F32;
    if (type == NT_TYPE_Q8_0 || type == NT_TYPE_Q4_0) {
        const size_t bytes = nt_test_quant_bytes(type, (int64_t)n);
        unsigned char *q = malloc(bytes);
        nt_test_quantize(type, v, (int64_t)n, q);
        nt_gw_add_tensor(w, name, type, t->n_dims, ne, q, bytes);
        free(q);
    } else {
        nt_gw_add_tensor_f32(w, name, type, t->n_dims, ne, v);
    }
    free(v);
}

char *nt_gguf_copy_temp(const char *src, const nt_gguf_edit *e)
{
    nt_gguf *g = NULL;
    if (nt_gguf_open(src, &g) != NEXTTOK_OK) return NULL;
    nt_gw *w = nt_gw_new();
    bool key_set = false;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const nt_gguf_kv *kv = &g->kv[i];
        if (e->drop_key && strcmp(kv->key, e->drop_key) == 0) continue;
        if (strcmp(kv->key, "general.alignment") == 0) continue; /* the writer adds its own */
        if (e->set_key && strcmp(kv->key, e->set_key) == 0) {
            set_kv(w, kv, e);
            key_set = true;
            continue;
        }
        copy_kv(w, kv);
    }
    if (e->set_key && !key_set) set_kv(w, NULL, e);
    const nt_gguf_tensor *embd = NULL;
    bool has_output = false;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const nt_gguf_tensor *t = &g->tensors[i];
        if (strcmp(t->name, "token_embd.weight") == 0) embd = t;
        if (strcmp(t->name, "output.weight") == 0) has_output = true;
        if (e->drop_tensor && strcmp(t->name, e->drop_tensor) == 0) continue;
        add_tensor(w, t, t->name, e);
    }
    if (e->untie && !has_output && embd) add_tensor(w, embd, "output.weight", e);
    char *path = nt_tiny_write_temp(w);
    nt_gw_free(w);
    nt_gguf_close(g);
    return path;
}
