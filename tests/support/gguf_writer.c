/* In-memory GGUF v3 writer for tests; see gguf_writer.h. */
#include "gguf_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "types/types.h"

/* A growable byte buffer. */
typedef struct bytes {
    uint8_t *p;
    size_t len, cap;
} bytes;

typedef struct gw_tensor {
    char *name;
    uint32_t type;
    uint32_t n_dims;
    uint64_t *dims;
    uint8_t *data;
    size_t nbytes;
    bool offset_set;
    uint64_t offset;
} gw_tensor;

struct nt_gw {
    bytes kvs;       /* encoded key-values, in order */
    uint64_t n_kv;
    gw_tensor *tensors;
    size_t n_tensors, cap_tensors;
    uint64_t alignment;
    nt_gw_knobs knobs;
};

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        fprintf(stderr, "gguf_writer: out of memory\n");
        abort();
    }
    return p;
}

static void put(bytes *b, const void *src, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void put_zeros(bytes *b, size_t n)
{
    static const uint8_t z[64];
    while (n) {
        size_t k = n < sizeof z ? n : sizeof z;
        put(b, z, k);
        n -= k;
    }
}

/* Little-endian integer of `size` bytes. */
static void put_le(bytes *b, uint64_t v, size_t size)
{
    uint8_t tmp[8];
    for (size_t i = 0; i < size; i++) tmp[i] = (uint8_t)(v >> (8 * i));
    put(b, tmp, size);
}

static void put_u32(bytes *b, uint32_t v) { put_le(b, v, 4); }
static void put_u64(bytes *b, uint64_t v) { put_le(b, v, 8); }

static void put_str(bytes *b, const char *s, uint64_t len)
{
    put_u64(b, len);
    put(b, s, (size_t)len);
}

nt_gw *nt_gw_new(void)
{
    nt_gw *w = xrealloc(NULL, sizeof *w);
    memset(w, 0, sizeof *w);
    w->alignment = 32;
    memcpy(w->knobs.magic, "GGUF", 4);
    w->knobs.version = 3;
    return w;
}

void nt_gw_free(nt_gw *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->n_tensors; i++) {
        free(w->tensors[i].name);
        free(w->tensors[i].dims);
        free(w->tensors[i].data);
    }
    free(w->tensors);
    free(w->kvs.p);
    free(w);
}

nt_gw_knobs *nt_gw_knobs_get(nt_gw *w) { return &w->knobs; }

/* --- key-values -------------------------------------------------------------- */

static void begin_kv(nt_gw *w, const char *key, uint32_t vtype)
{
    put_str(&w->kvs, key, strlen(key));
    put_u32(&w->kvs, vtype);
    w->n_kv++;
}

static void add_int(nt_gw *w, const char *key, nt_gguf_vtype t, uint64_t v, size_t size)
{
    begin_kv(w, key, t);
    put_le(&w->kvs, v, size);
}

void nt_gw_add_u8(nt_gw *w, const char *key, uint8_t v) { add_int(w, key, NT_GGUF_UINT8, v, 1); }
void nt_gw_add_i8(nt_gw *w, const char *key, int8_t v) { add_int(w, key, NT_GGUF_INT8, (uint64_t)v, 1); }
void nt_gw_add_u16(nt_gw *w, const char *key, uint16_t v) { add_int(w, key, NT_GGUF_UINT16, v, 2); }
void nt_gw_add_i16(nt_gw *w, const char *key, int16_t v) { add_int(w, key, NT_GGUF_INT16, (uint64_t)v, 2); }
void nt_gw_add_u32(nt_gw *w, const char *key, uint32_t v) { add_int(w, key, NT_GGUF_UINT32, v, 4); }
void nt_gw_add_i32(nt_gw *w, const char *key, int32_t v) { add_int(w, key, NT_GGUF_INT32, (uint64_t)v, 4); }
void nt_gw_add_u64(nt_gw *w, const char *key, uint64_t v) { add_int(w, key, NT_GGUF_UINT64, v, 8); }
void nt_gw_add_i64(nt_gw *w, const char *key, int64_t v) { add_int(w, key, NT_GGUF_INT64, (uint64_t)v, 8); }
void nt_gw_add_bool(nt_gw *w, const char *key, bool v) { add_int(w, key, NT_GGUF_BOOL, v ? 1 : 0, 1); }

void nt_gw_add_f32(nt_gw *w, const char *key, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    add_int(w, key, NT_GGUF_FLOAT32, bits, 4);
}

void nt_gw_add_f64(nt_gw *w, const char *key, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    add_int(w, key, NT_GGUF_FLOAT64, bits, 8);
}

void nt_gw_add_strn(nt_gw *w, const char *key, const char *v, uint64_t len)
{
    begin_kv(w, key, NT_GGUF_STRING);
    put_str(&w->kvs, v, len);
}

void nt_gw_add_str(nt_gw *w, const char *key, const char *v) { nt_gw_add_strn(w, key, v, strlen(v)); }

/* Bytes of one element of a numeric/bool type; 0 for string/array. */
static size_t elem_size(nt_gguf_vtype t)
{
    switch (t) {
    case NT_GGUF_UINT8: case NT_GGUF_INT8: case NT_GGUF_BOOL: return 1;
    case NT_GGUF_UINT16: case NT_GGUF_INT16: return 2;
    case NT_GGUF_UINT32: case NT_GGUF_INT32: case NT_GGUF_FLOAT32: return 4;
    case NT_GGUF_UINT64: case NT_GGUF_INT64: case NT_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

void nt_gw_add_arr(nt_gw *w, const char *key, nt_gguf_vtype elem_type, const void *elems, uint64_t n)
{
    size_t esz = elem_size(elem_type);
    if (!esz) {
        fprintf(stderr, "gguf_writer: nt_gw_add_arr needs a numeric type, got %d\n", (int)elem_type);
        abort();
    }
    begin_kv(w, key, NT_GGUF_ARRAY);
    put_u32(&w->kvs, elem_type);
    put_u64(&w->kvs, n);
    const uint8_t *src = elems;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v = 0;
        switch (esz) { /* read a host value, write it little-endian */
        case 1: v = src[i]; break;
        case 2: { uint16_t x; memcpy(&x, src + 2 * i, 2); v = x; break; }
        case 4: { uint32_t x; memcpy(&x, src + 4 * i, 4); v = x; break; }
        case 8: memcpy(&v, src + 8 * i, 8); break;
        }
        put_le(&w->kvs, v, esz);
    }
}

void nt_gw_add_arr_str(nt_gw *w, const char *key, const char *const *strs, uint64_t n)
{
    begin_kv(w, key, NT_GGUF_ARRAY);
    put_u32(&w->kvs, NT_GGUF_STRING);
    put_u64(&w->kvs, n);
    for (uint64_t i = 0; i < n; i++) put_str(&w->kvs, strs[i], strlen(strs[i]));
}

void nt_gw_add_raw(nt_gw *w, const char *key, uint64_t key_len, uint32_t vtype, const void *value,
                   size_t value_len)
{
    put_str(&w->kvs, key, key_len);
    put_u32(&w->kvs, vtype);
    put(&w->kvs, value, value_len);
    w->n_kv++;
}

void nt_gw_set_alignment(nt_gw *w, uint32_t alignment)
{
    nt_gw_add_u32(w, "general.alignment", alignment);
    w->alignment = alignment;
}

/* --- tensors ---------------------------------------------------------------- */

size_t nt_gw_add_tensor_dims(nt_gw *w, const char *name, uint32_t type, uint32_t n_dims,
                             const uint64_t *dims, const void *data, size_t nbytes)
{
    if (w->n_tensors == w->cap_tensors) {
        w->cap_tensors = w->cap_tensors ? 2 * w->cap_tensors : 16;
        w->tensors = xrealloc(w->tensors, w->cap_tensors * sizeof *w->tensors);
    }
    gw_tensor *t = &w->tensors[w->n_tensors];
    memset(t, 0, sizeof *t);
    t->name = xrealloc(NULL, strlen(name) + 1);
    strcpy(t->name, name);
    t->type = type;
    t->n_dims = n_dims;
    t->dims = xrealloc(NULL, n_dims * sizeof *t->dims);
    if (n_dims) memcpy(t->dims, dims, n_dims * sizeof *t->dims);
    t->data = xrealloc(NULL, nbytes);
    if (data)
        memcpy(t->data, data, nbytes);
    else
        memset(t->data, 0, nbytes);
    t->nbytes = nbytes;
    return w->n_tensors++;
}

size_t nt_gw_add_tensor(nt_gw *w, const char *name, uint32_t type, uint32_t n_dims, const int64_t *ne,
                        const void *data, size_t nbytes)
{
    uint64_t dims[NT_GGUF_MAX_DIMS];
    if (n_dims > NT_GGUF_MAX_DIMS) {
        fprintf(stderr, "gguf_writer: nt_gw_add_tensor takes 1..4 dims; use nt_gw_add_tensor_dims\n");
        abort();
    }
    for (uint32_t i = 0; i < n_dims && i < NT_GGUF_MAX_DIMS; i++) dims[i] = (uint64_t)ne[i];
    return nt_gw_add_tensor_dims(w, name, type, n_dims, dims, data, nbytes);
}

size_t nt_gw_add_tensor_f32(nt_gw *w, const char *name, uint32_t type, uint32_t n_dims, const int64_t *ne,
                            const float *values)
{
    size_t n = 1;
    for (uint32_t i = 0; i < n_dims; i++) n *= (size_t)ne[i];
    size_t esz = type == NT_TYPE_F32 ? 4 : (type == NT_TYPE_F16 || type == NT_TYPE_BF16) ? 2 : 0;
    if (!esz) {
        fprintf(stderr, "gguf_writer: nt_gw_add_tensor_f32 converts to F32/F16/BF16 only, got type %u\n", type);
        abort();
    }
    bytes b = {0};
    for (size_t i = 0; i < n; i++) {
        if (type == NT_TYPE_F32) {
            uint32_t bits;
            memcpy(&bits, &values[i], 4);
            put_le(&b, bits, 4);
        } else {
            put_le(&b, type == NT_TYPE_F16 ? nt_fp32_to_fp16(values[i]) : nt_fp32_to_bf16(values[i]), 2);
        }
    }
    size_t idx = nt_gw_add_tensor(w, name, type, n_dims, ne, b.p, b.len);
    free(b.p);
    return idx;
}

void nt_gw_tensor_set_offset(nt_gw *w, size_t idx, uint64_t offset)
{
    w->tensors[idx].offset_set = true;
    w->tensors[idx].offset = offset;
}

/* --- output ------------------------------------------------------------------ */

static size_t pad_to(size_t n, uint64_t a) { return a ? (size_t)((n + a - 1) / a * a) : n; }

uint8_t *nt_gw_write(nt_gw *w, size_t *size_out, nt_gw_layout *layout)
{
    uint64_t align = w->knobs.pad_alignment ? w->knobs.pad_alignment : w->alignment;
    bytes b = {0};
    nt_gw_layout lay;
    put(&b, w->knobs.magic, 4);
    put_u32(&b, w->knobs.version);
    put_u64(&b, w->knobs.n_tensors_set ? w->knobs.n_tensors : w->n_tensors);
    put_u64(&b, w->knobs.n_kv_set ? w->knobs.n_kv : w->n_kv);
    lay.kv_start = b.len;
    put(&b, w->kvs.p, w->kvs.len);
    lay.ti_start = b.len;
    size_t off = 0; /* natural offsets within the data section */
    for (size_t i = 0; i < w->n_tensors; i++) {
        gw_tensor *t = &w->tensors[i];
        off = pad_to(off, align);
        put_str(&b, t->name, strlen(t->name));
        put_u32(&b, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++) put_u64(&b, t->dims[d]);
        put_u32(&b, t->type);
        put_u64(&b, t->offset_set ? t->offset : off);
        off += t->nbytes;
    }
    lay.ti_end = b.len;
    put_zeros(&b, pad_to(b.len, align) - b.len);
    lay.data_start = b.len;
    for (size_t i = 0; i < w->n_tensors; i++) {
        put_zeros(&b, pad_to(b.len - lay.data_start, align) - (b.len - lay.data_start));
        put(&b, w->tensors[i].data, w->tensors[i].nbytes);
    }
    lay.size = b.len;
    if (layout) *layout = lay;
    *size_out = b.len;
    return b.p ? b.p : xrealloc(NULL, 1);
}

bool nt_gw_write_file(nt_gw *w, const char *path)
{
    size_t size;
    uint8_t *buf = nt_gw_write(w, &size, NULL);
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(buf, 1, size, f) == size;
    if (f && fclose(f) != 0) ok = false;
    free(buf);
    return ok;
}
