/* KV cache pages: allocation, sharing, copy-on-write and row writes. */
#include "kvcache/kvcache.h"

#include <assert.h>
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
int32_t nt_kvcache_layer_rows(const int32_t *windows, int l, int32_t n_ctx, int32_t n_batch)
{
    if (!windows || windows[l] <= 0) return n_ctx;
    const int64_t ring = ((int64_t)windows[l] + (n_batch > 0 ? n_batch : 1) - 1 + 15) / 16 * 16;
    return ring < n_ctx ? (int32_t)ring : n_ctx;
}

/* The geometry and an empty page table for the layers' rows. */
static nexttok_status alloc_tables(nt_kvcache *c)
{
    c->layer_rows = nt_malloc_array((size_t)c->n_layer, sizeof *c->layer_rows);
    c->layer_page0 = nt_malloc_array((size_t)c->n_layer, sizeof *c->layer_page0);
    if (!c->layer_rows || !c->layer_page0) {
        nt_kvcache_release(c);
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory for a KV cache of %d layers", (int)c->n_layer);
    }
    return NEXTTOK_OK;
}

struct nt_kv_slab {
    atomic_int live;     /* references to its pages, plus one of its cache */
    unsigned char *rows; /* the n pages' key rows in slot order, then their value rows */
    nt_kv_page pages[];  /* [n]; headers apart from the rows, so making the
                            slab touches no row memory */
};

/* Bytes a loose page's header takes before its rows, keeping them aligned. */
#define LOOSE_HEAD 64

static void slab_drop(nt_kv_slab *sl)
{
    if (sl && atomic_fetch_sub_explicit(&sl->live, 1, memory_order_acq_rel) == 1) {
        nt_free(sl->rows);
        nt_free(sl);
    }
}

/* A reference more to pg (held by a slot). relaxed: taking a reference
 * orders nothing; the drops that may free are acq_rel. */
static void page_take(nt_kv_page *pg)
{
    atomic_fetch_add_explicit(&pg->refs, 1, memory_order_relaxed);
    if (pg->slab) atomic_fetch_add_explicit(&pg->slab->live, 1, memory_order_relaxed);
}

static void page_drop(nt_kv_page *pg)
{
    if (!pg) return;
    const int left = atomic_fetch_sub_explicit(&pg->refs, 1, memory_order_acq_rel) - 1;
    if (pg->slab) slab_drop(pg->slab);
    else if (left == 0) nt_free(pg);
}

/* The table and the slab; slot i points at page i of the slab (refs 1). */
static nexttok_status alloc_pages(nt_kvcache *c)
{
    const size_t n = c->n_pages;
    c->pages = nt_calloc(n, sizeof *c->pages);
    nt_kv_slab *sl = n <= (SIZE_MAX - sizeof *sl) / sizeof sl->pages[0] ? nt_calloc(1, sizeof *sl + n * sizeof sl->pages[0]) : NULL;
    unsigned char *rows = sl && n <= SIZE_MAX / c->page_bytes ? nt_aligned_alloc(64, n * c->page_bytes) : NULL;
    if (!c->pages || !rows) {
        nt_free(rows); /* the table may be what failed */
        nt_free(sl);
        nt_kvcache_release(c);
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory for a KV cache of %d positions (%llu bytes)", (int)c->n_ctx,
                       (unsigned long long)c->bytes);
    }
    sl->rows = rows;
    atomic_init(&sl->live, 1);
    for (size_t i = 0; i < n; i++) {
        atomic_init(&sl->pages[i].refs, 0);
        sl->pages[i].slab = sl;
        sl->pages[i].k = rows + i * (c->page_bytes / 2);
        sl->pages[i].v = rows + (n + i) * (c->page_bytes / 2);
        c->pages[i] = &sl->pages[i];
        page_take(c->pages[i]);
    }
    c->slab = sl;
    return NEXTTOK_OK;
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
    nexttok_status st = alloc_tables(c);
    if (st != NEXTTOK_OK) return st;
    uint64_t rows = 0, pages = 0;
    for (int l = 0; l < n_layer; l++) {
        c->layer_rows[l] = nt_kvcache_layer_rows(windows, l, n_ctx, n_batch);
        c->layer_page0[l] = (size_t)pages;
        rows += (uint64_t)c->layer_rows[l];
        pages += ((uint64_t)c->layer_rows[l] + NT_KV_PAGE - 1) / NT_KV_PAGE;
    }
    if (rows == 0 || c->row_bytes > (SIZE_MAX - LOOSE_HEAD) / 2 / NT_KV_PAGE ||
        pages > SIZE_MAX / sizeof *c->pages || rows > UINT64_MAX / 2 / c->row_bytes) {
        nt_kvcache_release(c);
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "KV cache of %d positions x %d layers is too large", (int)n_ctx, (int)n_layer);
    }
    c->page_bytes = 2 * NT_KV_PAGE * c->row_bytes;
    c->bytes = 2 * rows * c->row_bytes;
    c->n_pages = (size_t)pages;
    /* Not zeroed: every row is written before it is read, and untouched
     * pages of a long context cost no resident memory. */
    return alloc_pages(c);
}

/* Whether slot `slot` of layer l holds rows of positions 0 .. pos-1. */
static bool slot_written(const nt_kvcache *c, int l, size_t slot, int32_t pos)
{
    const int32_t rows = c->layer_rows[l], used = pos < rows ? pos : rows;
    return (int64_t)slot * NT_KV_PAGE < used;
}

nexttok_status nt_kvcache_share(nt_kvcache *c, const nt_kvcache *src, int32_t pos)
{
    bool same = c->n_pages == src->n_pages && c->n_layer == src->n_layer && c->row_bytes == src->row_bytes;
    for (int l = 0; same && l < c->n_layer; l++) same = c->layer_rows[l] == src->layer_rows[l];
    if (!same) return nt_fail(NEXTTOK_ERR_STATE, "a KV cache can only share the pages of one of its own shape");
    for (int l = 0; l < c->n_layer; l++) {
        const size_t end = l + 1 < c->n_layer ? c->layer_page0[l + 1] : c->n_pages;
        for (size_t i = c->layer_page0[l]; i < end && slot_written(c, l, i - c->layer_page0[l], pos); i++) {
            /* the slot leaves its own (fresh, unshared) page for src's */
            page_take(src->pages[i]);
            page_drop(c->pages[i]);
            c->pages[i] = src->pages[i];
        }
    }
    return NEXTTOK_OK;
}

/* Make slot i writable: a page only c holds. */
static bool page_own(nt_kvcache *c, size_t i)
{
    nt_kv_page *pg = c->pages[i];
    /* acquire: pairs with the acq_rel drop of a cache that stopped sharing
     * it, whose copy's reads of the rows are then done */
    if (atomic_load_explicit(&pg->refs, memory_order_acquire) == 1) return true;
    nt_kv_page *mine = &c->slab->pages[i];
    nt_kv_page *fresh;
    if (pg != mine && atomic_load_explicit(&mine->refs, memory_order_acquire) == 0) {
        /* the slab's page of this slot is unused (only c could have handed
         * it out, and only while pointing at it) */
        fresh = mine;
        page_take(fresh);
    } else {
        fresh = nt_aligned_alloc(64, LOOSE_HEAD + c->page_bytes);
        if (!fresh) return false;
        atomic_init(&fresh->refs, 1);
        fresh->slab = NULL;
        fresh->k = (unsigned char *)fresh + LOOSE_HEAD;
        fresh->v = fresh->k + c->page_bytes / 2;
    }
    /* whole: rows past the written ones are never read, but copying them
     * keeps the copy what the original would be */
    memcpy(fresh->k, pg->k, c->page_bytes / 2);
    memcpy(fresh->v, pg->v, c->page_bytes / 2);
    page_drop(pg);
    c->pages[i] = fresh;
    return true;
}

nexttok_status nt_kv_prepare(nt_kvcache *c, int32_t pos, int32_t n)
{
    for (int l = 0; l < c->n_layer; l++) {
        const int32_t rows = c->layer_rows[l];
        /* the rows pos .. pos + n - 1 fall in at most rows distinct rows */
        const int32_t m = n < rows ? n : rows;
        for (int32_t i = 0; i < m;) {
            const int32_t r = (pos + i) % rows;
            if (!page_own(c, c->layer_page0[l] + (size_t)(r / NT_KV_PAGE)))
                return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory for a KV page (%zu bytes)", c->page_bytes);
            /* on to the next page, or the ring's start */
            int32_t step = NT_KV_PAGE - r % NT_KV_PAGE;
            if (step > rows - r) step = rows - r;
            i += step;
        }
    }
    return NEXTTOK_OK;
}

void nt_kvcache_held(const nt_kvcache *c, int32_t pos, uint64_t *held, uint64_t *shared)
{
    *held = *shared = 0;
    for (int l = 0; c->pages && l < c->n_layer; l++) {
        const size_t end = l + 1 < c->n_layer ? c->layer_page0[l + 1] : c->n_pages;
        for (size_t i = c->layer_page0[l]; i < end && slot_written(c, l, i - c->layer_page0[l], pos); i++) {
            *held += c->page_bytes;
            if (atomic_load_explicit(&c->pages[i]->refs, memory_order_relaxed) > 1) *shared += c->page_bytes;
        }
    }
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
    for (size_t i = 0; c->pages && i < c->n_pages; i++) page_drop(c->pages[i]);
    slab_drop(c->slab);
    c->slab = NULL;
    nt_free(c->pages);
    nt_free(c->layer_rows);
    nt_free(c->layer_page0);
    c->pages = NULL;
    c->layer_rows = NULL;
    c->layer_page0 = NULL;
}

void nt_kv_store(const nt_kv_view *v, int layer, int32_t pos, const float *k, const float *val)
{
    const nt_kvcache *c = v->cache;
    /* a page another cache holds is never written: whoever runs the pass
     * forgot nt_kv_prepare for this position */
    assert(atomic_load_explicit(&c->pages[c->layer_page0[layer] + (size_t)(pos % c->layer_rows[layer] / NT_KV_PAGE)]->refs,
                                memory_order_relaxed) == 1);
    const nt_type_kernels *kern = nt_type_kernels_get(c->type);
    kern->from_float(k, nt_kv_k_row(v, layer, pos), c->kv_dim);
    kern->from_float(val, nt_kv_v_row(v, layer, pos), c->kv_dim);
}
