/*
 * GGUF container reader (versions 2 and 3).
 *
 * The file is memory-mapped and parsed once; every count, length, offset
 * and tensor size is checked against the file before use, so a parsed
 * nt_gguf only ever points inside the mapping. Tensor data is used in place
 * (zero copy). Keys and strings are not NUL-terminated in the file: nt_str
 * carries pointer and length.
 */
#ifndef NT_GGUF_H
#define NT_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nexttok.h"

typedef enum nt_gguf_vtype {
    NT_GGUF_UINT8 = 0,
    NT_GGUF_INT8 = 1,
    NT_GGUF_UINT16 = 2,
    NT_GGUF_INT16 = 3,
    NT_GGUF_UINT32 = 4,
    NT_GGUF_INT32 = 5,
    NT_GGUF_FLOAT32 = 6,
    NT_GGUF_BOOL = 7,
    NT_GGUF_STRING = 8,
    NT_GGUF_ARRAY = 9,
    NT_GGUF_UINT64 = 10,
    NT_GGUF_INT64 = 11,
    NT_GGUF_FLOAT64 = 12,
    NT_GGUF_VTYPE_COUNT
} nt_gguf_vtype;

typedef struct nt_str {
    const char *ptr; /* into the mapping; not NUL-terminated */
    uint64_t len;
} nt_str;

typedef struct nt_gguf_kv {
    char *key;             /* NUL-terminated copy */
    nt_gguf_vtype type;
    /* Scalars (type != ARRAY): the decoded value. Integers widen into
     * i64/u64 (both filled when representable), floats into f64. */
    union {
        int64_t i64;
        uint64_t u64;
        double f64;
        bool b;
        nt_str str;
    } v;
    /* Arrays (type == ARRAY) */
    nt_gguf_vtype arr_type;
    uint64_t arr_len;
    const uint8_t *arr_data; /* first element in the mapping (unaligned) */
    nt_str *arr_strs;        /* decoded string elements when arr_type == STRING */
} nt_gguf_kv;

#define NT_GGUF_MAX_DIMS 4

typedef struct nt_gguf_tensor {
    char *name;            /* NUL-terminated copy */
    uint32_t n_dims;
    int64_t ne[NT_GGUF_MAX_DIMS]; /* ne[0] contiguous; unused dims are 1 */
    uint32_t type;         /* ggml type id, known to nt_type_traits_get */
    uint64_t offset;       /* relative to the data section */
    uint64_t nbytes;
    const void *data;      /* inside the mapping */
} nt_gguf_tensor;

typedef struct nt_gguf {
    const uint8_t *base;   /* whole file */
    size_t size;
    bool mapped;           /* base is an mmap we own */
    uint32_t version;
    uint64_t n_kv;
    nt_gguf_kv *kv;
    uint64_t n_tensors;
    nt_gguf_tensor *tensors;
    uint64_t alignment;    /* general.alignment or 32 */
    uint64_t data_offset;  /* start of the data section in the file */
} nt_gguf;

/* Map and parse the file at `path`. */
nexttok_status nt_gguf_open(const char *path, nt_gguf **out);

/* Parse a buffer the caller keeps alive for the nt_gguf's lifetime. */
nexttok_status nt_gguf_parse(const void *buf, size_t size, nt_gguf **out);

/* For a mapped file: NEXTTOK_ERR_TRUNCATED when the file is now shorter
 * than its mapping (reading the mapping past the new end raises SIGBUS), so
 * whole-file reads can check first. NEXTTOK_OK for a buffer parsed from
 * memory. A file cut after the check still faults: this narrows, does not
 * close, the window. */
nexttok_status nt_gguf_check_mapping(const nt_gguf *g);

/* Release (and unmap when mapped). NULL is fine. */
void nt_gguf_close(nt_gguf *g);

const nt_gguf_kv *nt_gguf_kv_find(const nt_gguf *g, const char *key);
const nt_gguf_tensor *nt_gguf_tensor_find(const nt_gguf *g, const char *name);

/*
 * Typed look-ups. Each returns NEXTTOK_OK, NEXTTOK_ERR_NOT_FOUND when the
 * key is absent (message names the key), or NEXTTOK_ERR_FORMAT when the value
 * has the wrong type or does not fit (message names key and types).
 * get_int accepts any integer type; get_float any float or integer type.
 */
nexttok_status nt_gguf_get_int(const nt_gguf *g, const char *key, int64_t *out);
nexttok_status nt_gguf_get_float(const nt_gguf *g, const char *key, double *out);
nexttok_status nt_gguf_get_bool(const nt_gguf *g, const char *key, bool *out);
nexttok_status nt_gguf_get_str(const nt_gguf *g, const char *key, nt_str *out);
/* An array whose elements are of `elem_type`. */
nexttok_status nt_gguf_get_arr(const nt_gguf *g, const char *key, nt_gguf_vtype elem_type,
                               const nt_gguf_kv **out);

/* Element i of a numeric array (caller checks i < arr_len and the type). */
float nt_gguf_arr_f32(const nt_gguf_kv *kv, uint64_t i);
int32_t nt_gguf_arr_i32(const nt_gguf_kv *kv, uint64_t i);
/* Any integer element type, widened. */
int64_t nt_gguf_arr_int(const nt_gguf_kv *kv, uint64_t i);

/* Name of a value type ("uint32", "string", ...) for messages. */
const char *nt_gguf_vtype_name(nt_gguf_vtype t);

/* True when s equals the NUL-terminated c. */
bool nt_str_eq(nt_str s, const char *c);

#endif
