/*
 * GGUF reader. The layout (little-endian throughout):
 *
 *   header   "GGUF" u32 version, u64 n_tensors, u64 n_kv
 *   kv[n_kv] string key, u32 value type, value
 *   ti[n_tensors] string name, u32 n_dims, u64 ne[n_dims], u32 ggml type,
 *            u64 offset (relative to the data section)
 *   padding  to `general.alignment` (default 32)
 *   data
 *
 * where a string is u64 length + bytes and an array value is u32 element
 * type, u64 count, elements. Versions 2 and 3 share this layout (3 only
 * added big-endian files, which we reject); version 1 had 32-bit counts.
 *
 * Every read goes through a cursor that checks the remaining bytes first,
 * and every count is checked against the bytes that could hold it before
 * anything is allocated, so a hostile file fails fast with a message.
 */
#include "gguf/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/hash.h"
#include "types/types.h"

#define GGUF_HEADER_BYTES 24
#define GGUF_DEFAULT_ALIGNMENT 32
/* Nested arrays are legal but nothing uses them deeply; the limit keeps a
 * hostile file from exhausting the stack while we skip them. */
#define GGUF_MAX_ARRAY_DEPTH 32
/* Smallest encodings, used to bound counts by the bytes left:
 * kv: key length 8 + key byte 1 + type 4 + smallest value 1;
 * tensor info: name length 8 + name byte 1 + n_dims 4 + type 4 + offset 8. */
#define GGUF_MIN_KV_BYTES 14
#define GGUF_MIN_TI_BYTES 25
/* Keys and names are printed at most this long in messages. */
#define NAME_FMT "%.200s"

typedef unsigned long long ull;

/* The public struct plus the lookup tables behind it. */
typedef struct gguf_impl {
    nt_gguf pub;
    size_t *kv_table; /* open addressing: index + 1, 0 = empty */
    size_t kv_mask;
    size_t *ti_table;
    size_t ti_mask;
    int fd; /* the mapped file, kept open to notice it shrinking; -1 when parsed from memory */
} gguf_impl;

typedef struct cursor {
    const uint8_t *base;
    size_t size;
    size_t pos;
} cursor;

static const uint8_t vtype_sizes[NT_GGUF_VTYPE_COUNT] = {
    [NT_GGUF_UINT8] = 1,  [NT_GGUF_INT8] = 1,   [NT_GGUF_UINT16] = 2,  [NT_GGUF_INT16] = 2,
    [NT_GGUF_UINT32] = 4, [NT_GGUF_INT32] = 4,  [NT_GGUF_FLOAT32] = 4, [NT_GGUF_BOOL] = 1,
    [NT_GGUF_STRING] = 0, [NT_GGUF_ARRAY] = 0,  [NT_GGUF_UINT64] = 8,  [NT_GGUF_INT64] = 8,
    [NT_GGUF_FLOAT64] = 8,
};

const char *nt_gguf_vtype_name(nt_gguf_vtype t)
{
    static const char *const names[NT_GGUF_VTYPE_COUNT] = {
        "uint8", "int8",   "uint16", "int16", "uint32", "int32",   "float32",
        "bool",  "string", "array",  "uint64", "int64", "float64",
    };
    if ((unsigned)t >= NT_GGUF_VTYPE_COUNT) return "unknown";
    return names[t];
}

bool nt_str_eq(nt_str s, const char *c)
{
    size_t n = strlen(c);
    return s.len == n && (n == 0 || memcmp(s.ptr, c, n) == 0);
}

static bool vtype_is_int(nt_gguf_vtype t)
{
    switch (t) {
    case NT_GGUF_UINT8: case NT_GGUF_INT8: case NT_GGUF_UINT16: case NT_GGUF_INT16:
    case NT_GGUF_UINT32: case NT_GGUF_INT32: case NT_GGUF_UINT64: case NT_GGUF_INT64:
        return true;
    default:
        return false;
    }
}

/* --- little-endian loads (unaligned) -------------------------------------- */

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

/* --- bounds-checked cursor ------------------------------------------------- */

static size_t remaining(const cursor *c) { return c->size - c->pos; }

/* `what` names the item for the message ("key 'x' value", "tensor 3 name"). */
static nexttok_status need(const cursor *c, uint64_t n, const char *what)
{
    if (n > remaining(c))
        return nt_fail(NEXTTOK_ERR_FORMAT, "truncated: %s at offset %zu needs %llu bytes, file has %zu",
                       what, c->pos, (ull)n, c->size);
    return NEXTTOK_OK;
}

static nexttok_status rd_u32(cursor *c, uint32_t *out, const char *what)
{
    nexttok_status st = need(c, 4, what);
    if (st) return st;
    *out = le32(c->base + c->pos);
    c->pos += 4;
    return NEXTTOK_OK;
}

static nexttok_status rd_u64(cursor *c, uint64_t *out, const char *what)
{
    nexttok_status st = need(c, 8, what);
    if (st) return st;
    *out = le64(c->base + c->pos);
    c->pos += 8;
    return NEXTTOK_OK;
}

static nexttok_status rd_str(cursor *c, nt_str *out, const char *what)
{
    uint64_t len;
    nexttok_status st = rd_u64(c, &len, what);
    if (st) return st;
    if (len > remaining(c))
        return nt_fail(NEXTTOK_ERR_FORMAT,
                       "%s: string length %llu at offset %zu runs past end of file (size %zu)", what,
                       (ull)len, c->pos - 8, c->size);
    out->ptr = (const char *)c->base + c->pos;
    out->len = len;
    c->pos += (size_t)len;
    return NEXTTOK_OK;
}

/* A key or tensor name: non-empty, no NUL (we hand out C-string copies). */
static nexttok_status rd_name(cursor *c, char **out, const char *what)
{
    nt_str s = {NULL, 0};
    nexttok_status st = rd_str(c, &s, what);
    if (st) return st;
    if (s.len == 0) return nt_fail(NEXTTOK_ERR_FORMAT, "%s at offset %zu is empty", what, c->pos - 8);
    if (memchr(s.ptr, '\0', (size_t)s.len))
        return nt_fail(NEXTTOK_ERR_FORMAT, "%s '" NAME_FMT "' at offset %zu contains a NUL byte", what,
                       s.ptr, c->pos - (size_t)s.len - 8);
    *out = nt_strndup(s.ptr, (size_t)s.len);
    if (!*out) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory copying %s", what);
    return NEXTTOK_OK;
}

/* --- hashing for look-ups and duplicate detection (core/hash.h) ----------- */

/* Fill a table for `n` names got through `name_at`; on a duplicate, return
 * its two indices via dup_a/dup_b and false. */
typedef const char *(*name_at_fn)(const nt_gguf *g, size_t i);

static const char *kv_name_at(const nt_gguf *g, size_t i) { return g->kv[i].key; }
static const char *ti_name_at(const nt_gguf *g, size_t i) { return g->tensors[i].name; }

static nexttok_status build_table(const nt_gguf *g, size_t n, name_at_fn name_at, size_t **table_out,
                                  size_t *mask_out, size_t *dup_a, size_t *dup_b)
{
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2; /* n is bounded by the file size, no overflow */
    size_t *table = nt_calloc(cap, sizeof *table);
    if (!table) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory building a look-up table");
    size_t mask = cap - 1;
    for (size_t i = 0; i < n; i++) {
        const char *name = name_at(g, i);
        size_t j = (size_t)nt_fnv1a64(name, strlen(name)) & mask;
        while (table[j]) {
            if (strcmp(name_at(g, table[j] - 1), name) == 0) {
                *dup_a = table[j] - 1;
                *dup_b = i;
                nt_free(table);
                return NEXTTOK_ERR_FORMAT; /* caller writes the message */
            }
            j = (j + 1) & mask;
        }
        table[j] = i + 1;
    }
    *table_out = table;
    *mask_out = mask;
    return NEXTTOK_OK;
}

static size_t table_find(const nt_gguf *g, const size_t *table, size_t mask, name_at_fn name_at,
                         const char *name)
{
    if (!table || !name) return SIZE_MAX;
    size_t j = (size_t)nt_fnv1a64(name, strlen(name)) & mask;
    while (table[j]) {
        if (strcmp(name_at(g, table[j] - 1), name) == 0) return table[j] - 1;
        j = (j + 1) & mask;
    }
    return SIZE_MAX;
}

/* --- values ---------------------------------------------------------------- */

static nexttok_status check_vtype(uint32_t t, const char *key, const char *what, size_t at)
{
    if (t >= NT_GGUF_VTYPE_COUNT)
        return nt_fail(NEXTTOK_ERR_FORMAT, "key '" NAME_FMT "': unknown %s %u at offset %zu", key, what,
                       t, at);
    return NEXTTOK_OK;
}

/* Skip the body of an array (element type, count, elements) of any nesting. */
static nexttok_status skip_array(cursor *c, const char *key, int depth)
{
    if (depth > GGUF_MAX_ARRAY_DEPTH)
        return nt_fail(NEXTTOK_ERR_FORMAT, "key '" NAME_FMT "': arrays nested deeper than %d at offset %zu",
                       key, GGUF_MAX_ARRAY_DEPTH, c->pos);
    uint32_t et;
    uint64_t n;
    nexttok_status st = rd_u32(c, &et, "nested array element type");
    if (!st) st = check_vtype(et, key, "nested array element type", c->pos - 4);
    if (!st) st = rd_u64(c, &n, "nested array length");
    if (st) return st;
    size_t esz = vtype_sizes[et];
    size_t min_elem = esz ? esz : (et == NT_GGUF_STRING ? 8 : 12);
    if (n > remaining(c) / min_elem)
        return nt_fail(NEXTTOK_ERR_FORMAT,
                       "key '" NAME_FMT "': nested array of %llu %s at offset %zu runs past end of file (size %zu)",
                       key, (ull)n, nt_gguf_vtype_name((nt_gguf_vtype)et), c->pos - 12, c->size);
    if (esz) {
        c->pos += (size_t)n * esz;
        return NEXTTOK_OK;
    }
    for (uint64_t i = 0; i < n; i++) {
        if (et == NT_GGUF_STRING) {
            nt_str s;
            st = rd_str(c, &s, "nested array string");
        } else {
            st = skip_array(c, key, depth + 1);
        }
        if (st) return st;
    }
    return NEXTTOK_OK;
}

/* Grow a full table of entries the file declares (strings of an array,
 * keys, tensor infos): doubling (from 64 when empty), never past the
 * declared count, so memory follows the entries actually read rather than
 * what a hostile count claims. The grown table, or NULL (the old one is
 * then still valid and *cap unchanged). */
static void *table_grow(void *table, size_t *cap, uint64_t declared, size_t elem)
{
    size_t ncap = *cap ? *cap * 2 : 64;
    if (ncap > declared) ncap = (size_t)declared;
    void *grown = nt_realloc_array(table, ncap, elem);
    if (grown) *cap = ncap;
    return grown;
}

/* Decode n strings into a growing array: memory follows what the file
 * really holds, not what a hostile count claims. */
static nexttok_status read_str_array(cursor *c, nt_gguf_kv *kv, uint64_t n)
{
    size_t cap = n < 4096 ? (size_t)n : 4096;
    nt_str *strs = nt_malloc_array(cap ? cap : 1, sizeof *strs);
    if (!strs) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "key '" NAME_FMT "': out of memory", kv->key);
    kv->arr_strs = strs;
    for (uint64_t i = 0; i < n; i++) {
        if (i == cap) {
            nt_str *grown = table_grow(strs, &cap, n, sizeof *strs);
            if (!grown) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "key '" NAME_FMT "': out of memory", kv->key);
            strs = kv->arr_strs = grown;
        }
        uint64_t len;
        if (remaining(c) < 8)
            return nt_fail(NEXTTOK_ERR_FORMAT,
                           "truncated: key '" NAME_FMT "': string %llu of %llu at offset %zu needs 8 bytes, file has %zu",
                           kv->key, (ull)i, (ull)n, c->pos, c->size);
        len = le64(c->base + c->pos);
        c->pos += 8;
        if (len > remaining(c))
            return nt_fail(NEXTTOK_ERR_FORMAT,
                           "key '" NAME_FMT "': string %llu of %llu: length %llu at offset %zu runs past end of file (size %zu)",
                           kv->key, (ull)i, (ull)n, (ull)len, c->pos - 8, c->size);
        strs[i].ptr = (const char *)c->base + c->pos;
        strs[i].len = len;
        c->pos += (size_t)len;
    }
    return NEXTTOK_OK;
}

static nexttok_status read_array(cursor *c, nt_gguf_kv *kv)
{
    uint32_t et;
    uint64_t n;
    nexttok_status st = rd_u32(c, &et, "array element type");
    if (!st) st = check_vtype(et, kv->key, "array element type", c->pos - 4);
    if (!st) st = rd_u64(c, &n, "array length");
    if (st) return st;
    kv->arr_type = (nt_gguf_vtype)et;
    kv->arr_len = n;
    kv->arr_data = c->base + c->pos;
    size_t esz = vtype_sizes[et];
    size_t min_elem = esz ? esz : (et == NT_GGUF_STRING ? 8 : 12);
    if (n > remaining(c) / min_elem)
        return nt_fail(NEXTTOK_ERR_FORMAT,
                       "key '" NAME_FMT "': array of %llu %s at offset %zu runs past end of file (size %zu)",
                       kv->key, (ull)n, nt_gguf_vtype_name((nt_gguf_vtype)et), c->pos - 12, c->size);
    if (esz) {
        c->pos += (size_t)n * esz;
        return NEXTTOK_OK;
    }
    if (et == NT_GGUF_STRING) return read_str_array(c, kv, n);
    for (uint64_t i = 0; i < n; i++) {
        st = skip_array(c, kv->key, 2);
        if (st) return st;
    }
    return NEXTTOK_OK;
}

static nexttok_status read_value(cursor *c, nt_gguf_kv *kv)
{
    const uint8_t *p = c->base + c->pos;
    if ((unsigned)kv->type >= NT_GGUF_VTYPE_COUNT) return NEXTTOK_ERR_FORMAT; /* checked before */
    size_t esz = vtype_sizes[kv->type];
    if (esz) {
        char what[256];
        snprintf(what, sizeof what, "key '" NAME_FMT "' %s value", kv->key, nt_gguf_vtype_name(kv->type));
        nexttok_status st = need(c, esz, what);
        if (st) return st;
        c->pos += esz;
    }
    switch (kv->type) {
    case NT_GGUF_UINT8: kv->v.u64 = p[0]; break;
    case NT_GGUF_INT8: kv->v.i64 = (int8_t)p[0]; break;
    case NT_GGUF_UINT16: kv->v.u64 = le16(p); break;
    case NT_GGUF_INT16: kv->v.i64 = (int16_t)le16(p); break;
    case NT_GGUF_UINT32: kv->v.u64 = le32(p); break;
    case NT_GGUF_INT32: kv->v.i64 = (int32_t)le32(p); break;
    case NT_GGUF_UINT64: kv->v.u64 = le64(p); break;
    case NT_GGUF_INT64: kv->v.i64 = (int64_t)le64(p); break;
    case NT_GGUF_FLOAT32: {
        uint32_t bits = le32(p);
        float f;
        memcpy(&f, &bits, sizeof f);
        kv->v.f64 = f;
        break;
    }
    case NT_GGUF_FLOAT64: {
        uint64_t bits = le64(p);
        memcpy(&kv->v.f64, &bits, sizeof bits);
        break;
    }
    case NT_GGUF_BOOL: kv->v.b = p[0] != 0; break;
    case NT_GGUF_STRING: {
        char what[256];
        snprintf(what, sizeof what, "key '" NAME_FMT "' string value", kv->key);
        return rd_str(c, &kv->v.str, what);
    }
    case NT_GGUF_ARRAY: return read_array(c, kv);
    default: break; /* rejected by check_vtype before */
    }
    return NEXTTOK_OK;
}

static nexttok_status read_kvs(cursor *c, nt_gguf *g, uint64_t n_kv)
{
    if (n_kv > remaining(c) / GGUF_MIN_KV_BYTES)
        return nt_fail(NEXTTOK_ERR_FORMAT, "header: n_kv %llu cannot fit in the %zu bytes after the header",
                       (ull)n_kv, remaining(c));
    size_t cap = 0;
    for (uint64_t i = 0; i < n_kv; i++) {
        if (g->n_kv == cap) {
            nt_gguf_kv *grown = table_grow(g->kv, &cap, n_kv, sizeof *grown);
            if (!grown) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory reading %llu keys", (ull)n_kv);
            g->kv = grown;
        }
        nt_gguf_kv *kv = &g->kv[g->n_kv];
        memset(kv, 0, sizeof *kv);
        char what[64];
        snprintf(what, sizeof what, "kv %llu key", (ull)i);
        nexttok_status st = rd_name(c, &kv->key, what);
        if (st) return st;
        g->n_kv++; /* owns kv->key now, freed on failure */
        uint32_t t;
        char twhat[256];
        snprintf(twhat, sizeof twhat, "key '" NAME_FMT "' value type", kv->key);
        st = rd_u32(c, &t, twhat);
        if (!st) st = check_vtype(t, kv->key, "value type", c->pos - 4);
        if (st) return st;
        kv->type = (nt_gguf_vtype)t;
        st = read_value(c, kv);
        if (st) return st;
    }
    return NEXTTOK_OK;
}

static nexttok_status read_tensor_infos(cursor *c, nt_gguf *g, uint64_t n_tensors)
{
    if (n_tensors > remaining(c) / GGUF_MIN_TI_BYTES)
        return nt_fail(NEXTTOK_ERR_FORMAT,
                       "header: n_tensors %llu cannot fit in the %zu bytes after the key-value table",
                       (ull)n_tensors, remaining(c));
    size_t cap = 0;
    for (uint64_t i = 0; i < n_tensors; i++) {
        if (g->n_tensors == cap) {
            nt_gguf_tensor *grown = table_grow(g->tensors, &cap, n_tensors, sizeof *grown);
            if (!grown) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory reading %llu tensors", (ull)n_tensors);
            g->tensors = grown;
        }
        nt_gguf_tensor *t = &g->tensors[g->n_tensors];
        memset(t, 0, sizeof *t);
        char what[256];
        snprintf(what, sizeof what, "tensor %llu name", (ull)i);
        nexttok_status st = rd_name(c, &t->name, what);
        if (st) return st;
        g->n_tensors++;
        snprintf(what, sizeof what, "tensor " NAME_FMT " info", t->name);
        st = rd_u32(c, &t->n_dims, what);
        if (st) return st;
        if (t->n_dims > NT_GGUF_MAX_DIMS)
            return nt_fail(NEXTTOK_ERR_FORMAT, "tensor " NAME_FMT ": %u dimensions (at most %d)", t->name,
                           t->n_dims, NT_GGUF_MAX_DIMS);
        for (int d = 0; d < NT_GGUF_MAX_DIMS; d++) t->ne[d] = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) {
            uint64_t ne;
            st = rd_u64(c, &ne, what);
            if (st) return st;
            if (ne == 0 || ne > (uint64_t)INT64_MAX)
                return nt_fail(NEXTTOK_ERR_FORMAT, "tensor " NAME_FMT ": dimension %u is %llu (must be 1..2^63-1)",
                               t->name, d, (ull)ne);
            t->ne[d] = (int64_t)ne;
        }
        st = rd_u32(c, &t->type, what);
        if (!st) st = rd_u64(c, &t->offset, what);
        if (st) return st;
        if (!nt_type_traits_get(t->type))
            return nt_fail(NEXTTOK_ERR_UNSUPPORTED, "tensor " NAME_FMT ": unknown weight type id %u", t->name,
                           t->type);
    }
    return NEXTTOK_OK;
}

static nexttok_status read_alignment(gguf_impl *impl)
{
    nt_gguf *g = &impl->pub;
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    const nt_gguf_kv *kv = nt_gguf_kv_find(g, "general.alignment");
    if (!kv) return NEXTTOK_OK;
    if (kv->type != NT_GGUF_UINT32)
        return nt_fail(NEXTTOK_ERR_FORMAT, "key 'general.alignment': expected uint32, got %s",
                       nt_gguf_vtype_name(kv->type));
    uint64_t a = kv->v.u64;
    if (a == 0 || (a & (a - 1)) != 0)
        return nt_fail(NEXTTOK_ERR_FORMAT, "key 'general.alignment': %llu is not a non-zero power of two",
                       (ull)a);
    g->alignment = a;
    return NEXTTOK_OK;
}

/* Sizes and places every tensor's bytes; all must lie inside the file. */
static nexttok_status place_tensors(nt_gguf *g)
{
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        nt_gguf_tensor *t = &g->tensors[i];
        const nt_type_traits *tr = nt_type_traits_get(t->type);
        if (t->offset % g->alignment != 0)
            return nt_fail(NEXTTOK_ERR_FORMAT, "tensor " NAME_FMT ": offset %llu is not a multiple of the alignment %llu",
                           t->name, (ull)t->offset, (ull)g->alignment);
        uint64_t nbytes;
        if (t->ne[0] % tr->blck_size != 0)
            return nt_fail(NEXTTOK_ERR_FORMAT,
                           "tensor " NAME_FMT ": ne[0] = %lld is not a multiple of the %s block size %d",
                           t->name, (long long)t->ne[0], tr->name, tr->blck_size);
        if (!nt_type_row_bytes(t->type, t->ne[0], &nbytes))
            return nt_fail(NEXTTOK_ERR_FORMAT, "tensor " NAME_FMT ": size of a %lld-element %s row overflows",
                           t->name, (long long)t->ne[0], tr->name);
        uint64_t nelem = (uint64_t)t->ne[0];
        for (int d = 1; d < NT_GGUF_MAX_DIMS; d++) {
            uint64_t ne = (uint64_t)t->ne[d];
            if (nbytes > UINT64_MAX / ne || nelem > (uint64_t)INT64_MAX / ne)
                return nt_fail(NEXTTOK_ERR_FORMAT,
                               "tensor " NAME_FMT ": size of shape [%lld, %lld, %lld, %lld] overflows",
                               t->name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
                               (long long)t->ne[3]);
            nbytes *= ne;
            nelem *= ne;
        }
        t->nbytes = nbytes;
        uint64_t room = g->size - g->data_offset; /* data_offset <= size, checked by caller */
        if (t->offset > room || nbytes > room - t->offset)
            return nt_fail(NEXTTOK_ERR_FORMAT,
                           "tensor " NAME_FMT ": data at offset %llu (file offset %llu) size %llu runs past end of file (size %zu)",
                           t->name, (ull)t->offset, (ull)(g->data_offset + t->offset), (ull)nbytes, g->size);
        t->data = g->base + g->data_offset + t->offset;
    }
    return NEXTTOK_OK;
}

static nexttok_status read_header(cursor *c, uint64_t *n_tensors, uint64_t *n_kv, uint32_t *version)
{
    if (c->size < 4)
        return nt_fail(NEXTTOK_ERR_FORMAT, "truncated: header needs %d bytes, file has %zu", GGUF_HEADER_BYTES,
                       c->size);
    if (memcmp(c->base, "GGUF", 4) != 0)
        return nt_fail(NEXTTOK_ERR_FORMAT, "not a GGUF file: magic is %02x %02x %02x %02x, expected \"GGUF\"",
                       c->base[0], c->base[1], c->base[2], c->base[3]);
    if (c->size < 8)
        return nt_fail(NEXTTOK_ERR_FORMAT, "truncated: header needs %d bytes, file has %zu", GGUF_HEADER_BYTES,
                       c->size);
    uint32_t v = le32(c->base + 4);
    if (v == 1)
        return nt_fail(NEXTTOK_ERR_UNSUPPORTED, "GGUF version 1 is not supported (only versions 2 and 3)");
    /* A big-endian writer stores the version byte-swapped; the low half of
     * any real version is then zero. */
    if (v > 0xffff && __builtin_bswap32(v) <= 0xffff)
        return nt_fail(NEXTTOK_ERR_UNSUPPORTED,
                       "big-endian GGUF (version %u byte-swapped) is not supported, only little-endian",
                       __builtin_bswap32(v));
    if (v != 2 && v != 3)
        return nt_fail(NEXTTOK_ERR_UNSUPPORTED, "GGUF version %u is not supported (only versions 2 and 3)", v);
    if (c->size < GGUF_HEADER_BYTES)
        return nt_fail(NEXTTOK_ERR_FORMAT, "truncated: header needs %d bytes, file has %zu", GGUF_HEADER_BYTES,
                       c->size);
    *version = v;
    *n_tensors = le64(c->base + 8);
    *n_kv = le64(c->base + 16);
    c->pos = GGUF_HEADER_BYTES;
    return NEXTTOK_OK;
}

static nexttok_status parse(gguf_impl *impl)
{
    nt_gguf *g = &impl->pub;
    cursor c = {g->base, g->size, 0};
    uint64_t n_tensors = 0, n_kv = 0;
    nexttok_status st = read_header(&c, &n_tensors, &n_kv, &g->version);
    if (!st) st = read_kvs(&c, g, n_kv);
    if (st) return st;

    size_t a = 0, b = 0;
    st = build_table(g, (size_t)g->n_kv, kv_name_at, &impl->kv_table, &impl->kv_mask, &a, &b);
    if (st == NEXTTOK_ERR_FORMAT)
        return nt_fail(st, "duplicate key '" NAME_FMT "' (kv %zu and %zu)", g->kv[a].key, a, b);
    if (st) return st;
    st = read_alignment(impl);
    if (!st) st = read_tensor_infos(&c, g, n_tensors);
    if (st) return st;
    st = build_table(g, (size_t)g->n_tensors, ti_name_at, &impl->ti_table, &impl->ti_mask, &a, &b);
    if (st == NEXTTOK_ERR_FORMAT)
        return nt_fail(st, "duplicate tensor name '" NAME_FMT "' (tensors %zu and %zu)", g->tensors[a].name, a, b);
    if (st) return st;

    /* c.pos <= size and alignment <= 2^31, so this cannot overflow. */
    uint64_t data_offset = ((uint64_t)c.pos + g->alignment - 1) & ~(g->alignment - 1);
    if (data_offset > g->size) {
        if (g->n_tensors > 0)
            return nt_fail(NEXTTOK_ERR_FORMAT,
                           "truncated: data section starts at offset %llu, file has %zu bytes",
                           (ull)data_offset, g->size);
        data_offset = g->size; /* no tensors: the padding may be left out */
    }
    g->data_offset = data_offset;
    return place_tensors(g);
}

static void free_contents(gguf_impl *impl)
{
    nt_gguf *g = &impl->pub;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        nt_free(g->kv[i].key);
        nt_free(g->kv[i].arr_strs);
    }
    for (uint64_t i = 0; i < g->n_tensors; i++) nt_free(g->tensors[i].name);
    nt_free(g->kv);
    nt_free(g->tensors);
    nt_free(impl->kv_table);
    nt_free(impl->ti_table);
}

static nexttok_status parse_new(const void *buf, size_t size, bool mapped, int fd, nt_gguf **out)
{
    gguf_impl *impl = nt_calloc(1, sizeof *impl);
    if (!impl) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory");
    impl->fd = fd;
    impl->pub.base = buf;
    impl->pub.size = size;
    impl->pub.mapped = mapped;
    nexttok_status st = parse(impl);
    if (st) {
        free_contents(impl);
        nt_free(impl);
        return st;
    }
    *out = &impl->pub;
    return NEXTTOK_OK;
}

nexttok_status nt_gguf_parse(const void *buf, size_t size, nt_gguf **out)
{
    if (!out) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nt_gguf_parse: out is NULL");
    *out = NULL;
    if (!buf && size) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nt_gguf_parse: buffer is NULL");
    return parse_new(buf ? buf : "", size, false, -1, out);
}

nexttok_status nt_gguf_open(const char *path, nt_gguf **out)
{
    if (!out) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nt_gguf_open: out is NULL");
    *out = NULL;
    if (!path) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nt_gguf_open: path is NULL");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return nt_fail(NEXTTOK_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return nt_fail(NEXTTOK_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return nt_fail(NEXTTOK_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        return nt_fail(NEXTTOK_ERR_IO, "%s: too large to map", path);
    }
    size_t size = (size_t)st.st_size;
    void *map = NULL;
    if (size > 0) {
        map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            int e = errno;
            close(fd);
            return nt_fail(NEXTTOK_ERR_IO, "%s: cannot map: %s", path, strerror(e));
        }
    }
    /* The descriptor stays open with the mapping: nt_gguf_check_mapping
     * fstat()s it to notice the file shrinking under the mapping. */
    nexttok_status s = parse_new(map ? map : "", size, map != NULL, map ? fd : -1, out);
    if (s || !map) close(fd);
    if (s) {
        if (map) munmap(map, size);
        nt_error_prefix("%s", path);
    }
    return s;
}

void nt_gguf_close(nt_gguf *g)
{
    if (!g) return;
    gguf_impl *impl = (gguf_impl *)g; /* pub is the first member */
    if (g->mapped) munmap((void *)g->base, g->size);
    if (impl->fd >= 0) close(impl->fd);
    free_contents(impl);
    nt_free(impl);
}

nexttok_status nt_gguf_check_mapping(const nt_gguf *g)
{
    const gguf_impl *impl = (const gguf_impl *)g;
    if (!g || impl->fd < 0) return NEXTTOK_OK;
    struct stat st;
    if (fstat(impl->fd, &st) != 0) return nt_fail(NEXTTOK_ERR_IO, "cannot stat the model file: %s", strerror(errno));
    if ((uint64_t)st.st_size < (uint64_t)g->size)
        return nt_fail(NEXTTOK_ERR_TRUNCATED,
                       "the model file shrank to %llu bytes while mapped (%zu when loaded): its end can no longer "
                       "be read (SIGBUS); reload the model once the file is whole",
                       (unsigned long long)st.st_size, g->size);
    return NEXTTOK_OK;
}

const nt_gguf_kv *nt_gguf_kv_find(const nt_gguf *g, const char *key)
{
    if (!g) return NULL;
    const gguf_impl *impl = (const gguf_impl *)g;
    size_t i = table_find(g, impl->kv_table, impl->kv_mask, kv_name_at, key);
    return i == SIZE_MAX ? NULL : &g->kv[i];
}

const nt_gguf_tensor *nt_gguf_tensor_find(const nt_gguf *g, const char *name)
{
    if (!g) return NULL;
    const gguf_impl *impl = (const gguf_impl *)g;
    size_t i = table_find(g, impl->ti_table, impl->ti_mask, ti_name_at, name);
    return i == SIZE_MAX ? NULL : &g->tensors[i];
}

/* --- typed getters --------------------------------------------------------- */

static nexttok_status find_or_fail(const nt_gguf *g, const char *key, const nt_gguf_kv **out)
{
    if (!g || !key) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "GGUF look-up with a NULL argument");
    *out = nt_gguf_kv_find(g, key);
    if (!*out) return nt_fail(NEXTTOK_ERR_NOT_FOUND, "key '" NAME_FMT "' not found", key);
    return NEXTTOK_OK;
}

static nexttok_status wrong_type(const nt_gguf_kv *kv, const char *expected)
{
    if (kv->type == NT_GGUF_ARRAY)
        return nt_fail(NEXTTOK_ERR_FORMAT, "key '" NAME_FMT "': expected %s, got array of %s", kv->key, expected,
                       nt_gguf_vtype_name(kv->arr_type));
    return nt_fail(NEXTTOK_ERR_FORMAT, "key '" NAME_FMT "': expected %s, got %s", kv->key, expected,
                   nt_gguf_vtype_name(kv->type));
}

nexttok_status nt_gguf_get_int(const nt_gguf *g, const char *key, int64_t *out)
{
    const nt_gguf_kv *kv;
    nexttok_status st = find_or_fail(g, key, &kv);
    if (st) return st;
    if (!vtype_is_int(kv->type)) return wrong_type(kv, "an integer");
    if (kv->type == NT_GGUF_UINT64 && kv->v.u64 > (uint64_t)INT64_MAX)
        return nt_fail(NEXTTOK_ERR_FORMAT, "key '" NAME_FMT "': uint64 value %llu does not fit in int64", kv->key,
                       (ull)kv->v.u64);
    *out = kv->v.i64;
    return NEXTTOK_OK;
}

nexttok_status nt_gguf_get_float(const nt_gguf *g, const char *key, double *out)
{
    const nt_gguf_kv *kv;
    nexttok_status st = find_or_fail(g, key, &kv);
    if (st) return st;
    if (kv->type == NT_GGUF_FLOAT32 || kv->type == NT_GGUF_FLOAT64)
        *out = kv->v.f64;
    else if (kv->type == NT_GGUF_UINT64)
        *out = (double)kv->v.u64;
    else if (vtype_is_int(kv->type))
        *out = (double)kv->v.i64;
    else
        return wrong_type(kv, "a number");
    return NEXTTOK_OK;
}

nexttok_status nt_gguf_get_bool(const nt_gguf *g, const char *key, bool *out)
{
    const nt_gguf_kv *kv;
    nexttok_status st = find_or_fail(g, key, &kv);
    if (st) return st;
    if (kv->type != NT_GGUF_BOOL) return wrong_type(kv, "bool");
    *out = kv->v.b;
    return NEXTTOK_OK;
}

nexttok_status nt_gguf_get_str(const nt_gguf *g, const char *key, nt_str *out)
{
    const nt_gguf_kv *kv;
    nexttok_status st = find_or_fail(g, key, &kv);
    if (st) return st;
    if (kv->type != NT_GGUF_STRING) return wrong_type(kv, "string");
    *out = kv->v.str;
    return NEXTTOK_OK;
}

nexttok_status nt_gguf_get_arr(const nt_gguf *g, const char *key, nt_gguf_vtype elem_type,
                               const nt_gguf_kv **out)
{
    const nt_gguf_kv *kv;
    nexttok_status st = find_or_fail(g, key, &kv);
    if (st) return st;
    if (kv->type != NT_GGUF_ARRAY || kv->arr_type != elem_type) {
        char expected[64];
        snprintf(expected, sizeof expected, "array of %s", nt_gguf_vtype_name(elem_type));
        return wrong_type(kv, expected);
    }
    *out = kv;
    return NEXTTOK_OK;
}

float nt_gguf_arr_f32(const nt_gguf_kv *kv, uint64_t i)
{
    uint32_t bits = le32(kv->arr_data + 4 * i);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

int32_t nt_gguf_arr_i32(const nt_gguf_kv *kv, uint64_t i) { return (int32_t)le32(kv->arr_data + 4 * i); }

int64_t nt_gguf_arr_int(const nt_gguf_kv *kv, uint64_t i)
{
    const uint8_t *d = kv->arr_data;
    switch (kv->arr_type) {
    case NT_GGUF_UINT8: return d[i];
    case NT_GGUF_INT8: return (int8_t)d[i];
    case NT_GGUF_UINT16: return le16(d + 2 * i);
    case NT_GGUF_INT16: return (int16_t)le16(d + 2 * i);
    case NT_GGUF_UINT32: return le32(d + 4 * i);
    case NT_GGUF_INT32: return (int32_t)le32(d + 4 * i);
    case NT_GGUF_UINT64: /* values above INT64_MAX wrap; no vocabulary holds them */
    case NT_GGUF_INT64: return (int64_t)le64(d + 8 * i);
    default: return 0;
    }
}
