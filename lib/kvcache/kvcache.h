/*
 * The KV cache: for each layer, rows of keys and rows of values, each row
 * the kv_dim = n_head_kv * head_dim values of one position, stored in the
 * cache's row type (F32, F16 or Q8_0). A layer keeps n_ctx rows, or, when
 * it attends to a sliding window of W keys, a ring of W + n_batch - 1
 * rows rounded up to 16 (the window of the batch's first token stays while
 * the batch's own rows are written): position p lives in row p mod the
 * layer's rows.
 *
 * Rows live in pages of NT_KV_PAGE consecutive rows of one layer, each
 * page refcounted. A cache holds a table of pages, one slot per NT_KV_PAGE
 * rows of each layer, and a slab with a page of its own for every slot,
 * allocated at creation but not touched (so, as a plain array, rows never
 * written cost no resident memory, and decoding never allocates). The
 * slab keeps the key rows of all its pages in one array and the value rows
 * in another, in slot order, so the rows of a session's own pages run on
 * across page boundaries as they did in one array, and attention walks
 * them in as few calls. A fork's cache points the slots of its source's
 * written rows at the source's pages instead of copying them
 * (copy-on-write): a page held by more than one cache is never written; a
 * cache about to write one copies it first (nt_kv_prepare), into its own
 * slab page for that slot when that is free, else into a page allocated
 * for it.
 *
 * The forward pass never indexes the pages itself: it writes a position's
 * rows with nt_kv_store and reads a head's slice with nt_kv_k_head /
 * nt_kv_v_head through a view. A view is what one sequence sees of a
 * cache. Whoever runs the pass first calls nt_kv_prepare for the positions
 * the batch writes in each view: that is where allocation (and so the one
 * failure) happens, and nt_kv_store cannot fail.
 */
#ifndef NT_KVCACHE_H
#define NT_KVCACHE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nexttok.h"

/* Rows per page: a multiple of attention's key groups (16), so a page
 * boundary ends a run where a group would start anyway and no score
 * depends on the paging. */
#define NT_KV_PAGE 32
typedef struct nt_kv_slab nt_kv_slab;

typedef struct nt_kv_page {
    atomic_int refs;     /* cache slots pointing at the page */
    nt_kv_slab *slab;    /* the slab it belongs to, or NULL: allocated alone */
    unsigned char *k;    /* NT_KV_PAGE key rows */
    unsigned char *v;    /* NT_KV_PAGE value rows */
} nt_kv_page;

typedef struct nt_kvcache {
    int32_t n_layer;
    int32_t n_ctx;
    int32_t n_head_kv;
    int32_t head_dim;
    int32_t kv_dim;      /* n_head_kv * head_dim */
    uint32_t type;       /* ggml type id of the rows */
    size_t head_bytes;   /* one head's slice of a row */
    size_t row_bytes;    /* n_head_kv * head_bytes */
    size_t page_bytes;   /* 2 * NT_KV_PAGE * row_bytes: keys and values */
    int32_t *layer_rows; /* [n_layer] rows each layer keeps */
    size_t *layer_page0; /* [n_layer] its first slot in pages */
    size_t n_pages;      /* slots of all layers */
    nt_kv_page **pages;  /* [n_pages] each slot's page */
    nt_kv_slab *slab;    /* the cache's own page for every slot */
    uint64_t bytes;      /* keys and values of every layer's rows, when full */
} nt_kvcache;

/* Which rows of a cache a sequence sees: those of its position p. */
typedef struct nt_kv_view {
    nt_kvcache *cache;
} nt_kv_view;

/* The row types a cache can have, and the public names for them. */
uint32_t nt_kv_type_from_public(int32_t kv_type, bool *ok);

/* Bytes per position (keys and values of every layer) for rows of `type`;
 * 0 when head_dim does not fit the type's blocks. */
size_t nt_kvcache_bytes_per_pos(uint32_t type, int32_t n_layer, int32_t n_head_kv, int32_t head_dim);

/* Rows layer l keeps (see above) in a cache made as nt_kvcache_init. */
int32_t nt_kvcache_layer_rows(const int32_t *windows, int l, int32_t n_ctx, int32_t n_batch);

/* Make a cache (its slab allocated, not touched). windows[l] > 0 makes layer l a ring
 * for a sliding window of that many keys fed n_batch tokens at a time;
 * windows may be NULL (every layer keeps n_ctx rows). Errors name the
 * problem: a head size the row type's blocks do not divide, or memory. */
nexttok_status nt_kvcache_init(nt_kvcache *c, uint32_t type, int32_t n_layer, int32_t n_ctx,
                               int32_t n_head_kv, int32_t head_dim, const int32_t *windows, int32_t n_batch);

/* Point the slots of `c` (a new cache made as src was, so of its shape)
 * that hold src's rows of positions 0 .. pos-1 at src's pages, by
 * reference (no row is copied); its other slots keep their own pages.
 * Safe while other threads read or share src's pages; src itself must
 * not be written meanwhile. */
nexttok_status nt_kvcache_share(nt_kvcache *c, const nt_kvcache *src, int32_t pos);

/* Make every page holding rows of positions [pos, pos + n) of every layer
 * allocated and held by `c` alone (copying a shared one), so nt_kv_store
 * may write them. NEXTTOK_ERR_NO_MEMORY leaves the rows as they were. */
nexttok_status nt_kv_prepare(nt_kvcache *c, int32_t pos, int32_t n);

/* Bytes of the pages holding c's rows of positions 0 .. pos-1, and of
 * those, of the pages shared with another cache. */
void nt_kvcache_held(const nt_kvcache *c, int32_t pos, uint64_t *held, uint64_t *shared);

/* Whether rewinding from `from` positions to `to` keeps every row the
 * windows of positions before `to` need (a ring may have overwritten
 * them). */
bool nt_kvcache_rewind_keeps(const nt_kvcache *c, const int32_t *windows, int32_t from, int32_t to);
/* Drop the cache's references (freeing pages no other cache holds). */
void nt_kvcache_release(nt_kvcache *c);

/* The oldest position whose rows layer l still holds after `pos`
 * positions were written (0 unless a ring wrapped). */
static inline int32_t nt_kv_first_kept(const nt_kvcache *c, int layer, int32_t pos)
{
    return pos > c->layer_rows[layer] ? pos - c->layer_rows[layer] : 0;
}

static inline const nt_kv_page *nt_kv_page_of(const nt_kvcache *c, int layer, int32_t r)
{
    return c->pages[c->layer_page0[layer] + (size_t)(r / NT_KV_PAGE)];
}

static inline unsigned char *nt_kv_k_row(const nt_kv_view *v, int layer, int32_t pos)
{
    const nt_kvcache *c = v->cache;
    const int32_t r = pos % c->layer_rows[layer];
    return nt_kv_page_of(c, layer, r)->k + (size_t)(r % NT_KV_PAGE) * c->row_bytes;
}

static inline unsigned char *nt_kv_v_row(const nt_kv_view *v, int layer, int32_t pos)
{
    const nt_kvcache *c = v->cache;
    const int32_t r = pos % c->layer_rows[layer];
    return nt_kv_page_of(c, layer, r)->v + (size_t)(r % NT_KV_PAGE) * c->row_bytes;
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

/* Positions j0 .. j0 + n - 1 of a layer lie in runs of consecutive rows,
 * each ending where a ring wraps or where the next page's rows do not
 * follow this one's (another page than the slab's next, as a fork's shared
 * or copied pages are): the length of the first. Runs end on multiples of
 * NT_KV_PAGE (of 16), where no score depends on the split. */
static inline int32_t nt_kv_run_len(const nt_kv_view *v, int layer, int32_t j0, int32_t n)
{
    const nt_kvcache *c = v->cache;
    const int32_t rows = c->layer_rows[layer];
    const int32_t r = j0 % rows;
    int32_t len = NT_KV_PAGE - r % NT_KV_PAGE;
    const size_t span = (size_t)NT_KV_PAGE * c->row_bytes;
    while (len < n && r + len < rows) {
        const nt_kv_page *a = nt_kv_page_of(c, layer, r + len - 1), *b = nt_kv_page_of(c, layer, r + len);
        if (b->k != a->k + span || b->v != a->v + span) break;
        len += NT_KV_PAGE;
    }
    if (len > rows - r) len = rows - r;
    return n < len ? n : len;
}

/* Write the key and value rows (kv_dim F32 values each) of `layer` at
 * `pos`, converted to the row type. The page must have been prepared. */
void nt_kv_store(const nt_kv_view *v, int layer, int32_t pos, const float *k, const float *val);

#endif
