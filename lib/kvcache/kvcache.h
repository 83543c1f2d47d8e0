/*
 * The KV cache: for each layer, rows of keys and rows of values, each row
 * the kv_dim = n_head_kv * head_dim values of one position, stored in the
 * cache's row type (F32, F16 or Q8_0). A layer keeps n_ctx rows, or, when
 * it attends to a sliding window of W keys, a ring of W + n_batch - 1
 * rows rounded up to 16 (the window of the batch's first token stays while
 * the batch's own rows are written): position p lives in row p mod the
 * layer's rows.
 *
 * The forward pass never indexes the arrays itself: it writes a position's
 * rows with nt_kv_store and reads a head's slice with nt_kv_k_head /
 * nt_kv_v_head through a view. A view is what one sequence sees of a
 * cache; today a view maps position p to row p of its cache, and the
 * accessors are the one place a later mapping (a fork sharing a prefix's
 * rows, several sequences in one batch) has to change.
 */
#ifndef NT_KVCACHE_H
#define NT_KVCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nexttok.h"

typedef struct nt_kvcache {
    int32_t n_layer;
    int32_t n_ctx;
    int32_t n_head_kv;
    int32_t head_dim;
    int32_t kv_dim;      /* n_head_kv * head_dim */
    uint32_t type;       /* ggml type id of the rows */
    size_t head_bytes;   /* one head's slice of a row */
    size_t row_bytes;    /* n_head_kv * head_bytes */
    int32_t *layer_rows; /* [n_layer] rows each layer keeps */
    size_t *layer_row0;  /* [n_layer] its first row in k and v */
    uint64_t bytes;      /* of k and v together */
    unsigned char *k;    /* the layers' rows, one after another */
    unsigned char *v;
} nt_kvcache;

/* Which position of a cache holds a sequence's position p: row p. */
typedef struct nt_kv_view {
    nt_kvcache *cache;
} nt_kv_view;

/* The row types a cache can have, and the public names for them. */
uint32_t nt_kv_type_from_public(int32_t kv_type, bool *ok);

/* Bytes per position (keys and values of every layer) for rows of `type`;
 * 0 when head_dim does not fit the type's blocks. */
size_t nt_kvcache_bytes_per_pos(uint32_t type, int32_t n_layer, int32_t n_head_kv, int32_t head_dim);

/* Allocate a cache. windows[l] > 0 makes layer l a ring for a sliding
 * window of that many keys fed n_batch tokens at a time; windows may be
 * NULL (every layer keeps n_ctx rows). Errors name the problem: a head
 * size the row type's blocks do not divide, or memory. */
nexttok_status nt_kvcache_init(nt_kvcache *c, uint32_t type, int32_t n_layer, int32_t n_ctx,
                               int32_t n_head_kv, int32_t head_dim, const int32_t *windows, int32_t n_batch);

/* Whether rewinding from `from` positions to `to` keeps every row the
 * windows of positions before `to` need (a ring may have overwritten
 * them). */
bool nt_kvcache_rewind_keeps(const nt_kvcache *c, const int32_t *windows, int32_t from, int32_t to);
void nt_kvcache_release(nt_kvcache *c);

static inline size_t nt_kv_row_index(const nt_kvcache *c, int layer, int32_t pos)
{
    return c->layer_row0[layer] + (size_t)(pos % c->layer_rows[layer]);
}

static inline unsigned char *nt_kv_k_row(const nt_kv_view *v, int layer, int32_t pos)
{
    return v->cache->k + nt_kv_row_index(v->cache, layer, pos) * v->cache->row_bytes;
}

static inline unsigned char *nt_kv_v_row(const nt_kv_view *v, int layer, int32_t pos)
{
    return v->cache->v + nt_kv_row_index(v->cache, layer, pos) * v->cache->row_bytes;
}

/* Head `h`'s slice of the key (value) row of `layer` at `pos`, in the
 * cache's row type. */
static inline const void *nt_kv_k_head(const nt_kv_view *v, int layer, int32_t pos, int32_t h)
{
    return nt_kv_k_row(v, layer, pos) + (size_t)h * v->cache->head_bytes;
}

static inline const void *nt_kv_v_head(const nt_kv_view *v, int layer, int32_t pos, int32_t h)
{
    return nt_kv_v_row(v, layer, pos) + (size_t)h * v->cache->head_bytes;
}

/* Bytes between the rows of consecutive positions of one layer, within a
 * run (below): attention's loops walk the rows of a run. */
static inline size_t nt_kv_pos_stride(const nt_kv_view *v) { return v->cache->row_bytes; }

/* Positions j0 .. j0 + n - 1 of a layer lie in one run of consecutive
 * rows, or two where a ring wraps: the length of the first. */
static inline int32_t nt_kv_run_len(const nt_kv_view *v, int layer, int32_t j0, int32_t n)
{
    const int32_t rows = v->cache->layer_rows[layer];
    const int32_t first = rows - j0 % rows;
    return n < first ? n : first;
}

/* Write the key and value rows (kv_dim F32 values each) of `layer` at
 * `pos`, converted to the row type. */
void nt_kv_store(const nt_kv_view *v, int layer, int32_t pos, const float *k, const float *val);

#endif
