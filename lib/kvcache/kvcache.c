/* KV cache allocation and row writes. */
#include "kvcache/kvcache.h"

#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "types/types.h"

uint32_t nt_kv_type_from_public(int32_t kv_type, bool *ok)
{
    *ok = true;
    switch (kv_type) {
    case NEXTTOK_KV_F32: return NT_TYPE_F32;
    case NEXTTOK_KV_F16: return NT_TYPE_F16;
    case NEXTTOK_KV_Q8_0: return NT_TYPE_Q8_0;
    default: *ok = false; return NT_TYPE_F32;
    }
}

/* Bytes of one head's slice; 0 when head_dim is not whole blocks. */
static size_t head_bytes(uint32_t type, int32_t head_dim)
{
    uint64_t b;
    if (head_dim <= 0 || !nt_type_row_bytes(type, head_dim, &b)) return 0;
    return (size_t)b;
}

size_t nt_kvcache_bytes_per_pos(uint32_t type, int32_t n_layer, int32_t n_head_kv, int32_t head_dim)
{
    return 2 * (size_t)n_layer * (size_t)n_head_kv * head_bytes(type, head_dim);
}

/* Rows of layer l: n_ctx, or a sliding window's ring. The ring is a
 * multiple of 16 rows, so it wraps where attention's key groups start
 * anyway (forward/attention.c) and a wrap changes no score. */
static int32_t layer_rows(const int32_t *windows, int l, int32_t n_ctx, int32_t n_batch)
{
    if (!windows || windows[l] <= 0) return n_ctx;
    const int64_t ring = ((int64_t)windows[l] + (n_batch > 0 ? n_batch : 1) - 1 + 15) / 16 * 16;
    return ring < n_ctx ? (int32_t)ring : n_ctx;
}

nexttok_status nt_kvcache_init(nt_kvcache *c, uint32_t type, int32_t n_layer, int32_t n_ctx,
                               int32_t n_head_kv, int32_t head_dim, const int32_t *windows, int32_t n_batch)
{
    memset(c, 0, sizeof *c);
    const nt_type_traits *tr = nt_type_traits_get(type);
    const size_t hb = head_bytes(type, head_dim);
    if (!tr || hb == 0)
        return nt_fail(NEXTTOK_ERR_UNSUPPORTED, "KV cache type %s needs a head size divisible by %d, the model's is %d",
                       tr ? tr->name : "unknown", tr ? (int)tr->blck_size : 1, (int)head_dim);
    c->n_layer = n_layer;
    c->n_ctx = n_ctx;
    c->n_head_kv = n_head_kv;
    c->head_dim = head_dim;
    c->kv_dim = n_head_kv * head_dim;
    c->type = type;
    c->head_bytes = hb;
    c->row_bytes = hb * (size_t)n_head_kv;
    c->layer_rows = nt_malloc_array((size_t)n_layer, sizeof *c->layer_rows);
    c->layer_row0 = nt_malloc_array((size_t)n_layer, sizeof *c->layer_row0);
    if (!c->layer_rows || !c->layer_row0) {
        nt_kvcache_release(c);
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory for a KV cache of %d layers", (int)n_layer);
    }
    uint64_t rows = 0;
    for (int l = 0; l < n_layer; l++) {
        c->layer_rows[l] = layer_rows(windows, l, n_ctx, n_batch);
        c->layer_row0[l] = (size_t)rows;
        rows += (uint64_t)c->layer_rows[l];
    }
    if (rows == 0 || rows > SIZE_MAX / 2 / c->row_bytes) {
        nt_kvcache_release(c);
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "KV cache of %d positions x %d layers is too large", (int)n_ctx, (int)n_layer);
    }
    const size_t bytes = (size_t)rows * c->row_bytes;
    c->bytes = 2 * (uint64_t)bytes;
    c->k = nt_aligned_alloc(64, bytes);
    c->v = nt_aligned_alloc(64, bytes);
    if (!c->k || !c->v) {
        nt_kvcache_release(c);
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory for a KV cache of %d positions (%zu bytes)",
                       (int)n_ctx, 2 * bytes);
    }
    /* Not zeroed: every row is written before it is read, and untouched
     * pages of a long context cost no resident memory. */
    return NEXTTOK_OK;
}

bool nt_kvcache_rewind_keeps(const nt_kvcache *c, const int32_t *windows, int32_t from, int32_t to)
{
    for (int l = 0; windows && l < c->n_layer; l++) {
        if (windows[l] <= 0 || c->layer_rows[l] >= c->n_ctx) continue;
        /* rows hold positions [from - rows, from); position to - 1 needs
         * keys from to - window on */
        if ((int64_t)to - windows[l] < (int64_t)from - c->layer_rows[l]) return false;
    }
    return true;
}

void nt_kvcache_release(nt_kvcache *c)
{
    nt_free(c->k);
    nt_free(c->v);
    nt_free(c->layer_rows);
    nt_free(c->layer_row0);
    c->k = c->v = NULL;
    c->layer_rows = NULL;
    c->layer_row0 = NULL;
}

void nt_kv_store(const nt_kv_view *v, int layer, int32_t pos, const float *k, const float *val)
{
    const nt_kvcache *c = v->cache;
    const nt_type_kernels *kern = nt_type_kernels_get(c->type);
    kern->from_float(k, nt_kv_k_row(v, layer, pos), c->kv_dim);
    kern->from_float(val, nt_kv_v_row(v, layer, pos), c->kv_dim);
}
