/*
 * The KV cache: for each layer, n_ctx rows of keys and n_ctx rows of
 * values, each row the kv_dim = n_head_kv * head_dim values of one
 * position, stored in the cache's row type (F32, F16 or Q8_0).
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
    unsigned char *k;    /* [n_layer][n_ctx] rows */
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

/* Allocate a cache (zeroed). Errors name the problem: a head size the row
 * type's blocks do not divide, or memory. */
nexttok_status nt_kvcache_init(nt_kvcache *c, uint32_t type, int32_t n_layer, int32_t n_ctx,
                               int32_t n_head_kv, int32_t head_dim);
void nt_kvcache_release(nt_kvcache *c);

static inline unsigned char *nt_kv_k_row(const nt_kv_view *v, int layer, int32_t pos)
{
    const nt_kvcache *c = v->cache;
    return c->k + ((size_t)layer * (size_t)c->n_ctx + (size_t)pos) * c->row_bytes;
}

static inline unsigned char *nt_kv_v_row(const nt_kv_view *v, int layer, int32_t pos)
{
    const nt_kvcache *c = v->cache;
    return c->v + ((size_t)layer * (size_t)c->n_ctx + (size_t)pos) * c->row_bytes;
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

/* Bytes between the rows of consecutive positions of one layer: a view's
 * positions 0 .. n of a layer are evenly spaced, so attention's loops can
 * walk them (a view that maps positions otherwise must say so here). */
static inline size_t nt_kv_pos_stride(const nt_kv_view *v) { return v->cache->row_bytes; }

/* Write the key and value rows (kv_dim F32 values each) of `layer` at
 * `pos`, converted to the row type. */
void nt_kv_store(const nt_kv_view *v, int layer, int32_t pos, const float *k, const float *val);

#endif
