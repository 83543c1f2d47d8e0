/*
 * A small in-memory GGUF v3 writer for tests.
 *
 * Build a file key by key and tensor by tensor, then write it to a buffer or
 * a file:
 *
 *     nt_gw *w = nt_gw_new();
 *     nt_gw_add_str(w, "general.architecture", "llama");
 *     nt_gw_add_u32(w, "llama.block_count", 2);
 *     const char *toks[] = {"<unk>", "<s>", "</s>"};
 *     nt_gw_add_arr_str(w, "tokenizer.ggml.tokens", toks, 3);
 *     int64_t ne[2] = {32, 512};          // ne[0] is the contiguous dimension
 *     nt_gw_add_tensor_f32(w, "token_embd.weight", NT_TYPE_F16, 2, ne, values);
 *     size_t size;
 *     uint8_t *buf = nt_gw_write(w, &size, NULL);   // free() it
 *     nt_gw_free(w);
 *
 * Keys and tensors are written in the order added. Tensor data is placed in
 * that order, each at the next multiple of the alignment (32, or the value
 * given to nt_gw_set_alignment); the file ends right after the last tensor's
 * bytes. Values are written little-endian whatever the host.
 *
 * Malformed output, for the reader's tests: the knobs (nt_gw_knobs_get)
 * override the magic, version, header counts and padding; nt_gw_add_raw
 * writes any key bytes and value type with raw value bytes (empty keys, NUL
 * bytes, unknown types, nested arrays); nt_gw_add_tensor_dims writes any
 * dims (also more than 4, zero or huge); nt_gw_tensor_set_offset writes a
 * chosen offset. The layout returned by nt_gw_write gives the section
 * boundaries so tests can truncate or patch the bytes afterwards.
 *
 * The writer does not validate anything and aborts on out-of-memory.
 */
#ifndef NT_TEST_GGUF_WRITER_H
#define NT_TEST_GGUF_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gguf/gguf.h"

typedef struct nt_gw nt_gw;

nt_gw *nt_gw_new(void);
void nt_gw_free(nt_gw *w);

/* --- key-values -------------------------------------------------------- */
void nt_gw_add_u8(nt_gw *w, const char *key, uint8_t v);
void nt_gw_add_i8(nt_gw *w, const char *key, int8_t v);
void nt_gw_add_u16(nt_gw *w, const char *key, uint16_t v);
void nt_gw_add_i16(nt_gw *w, const char *key, int16_t v);
void nt_gw_add_u32(nt_gw *w, const char *key, uint32_t v);
void nt_gw_add_i32(nt_gw *w, const char *key, int32_t v);
void nt_gw_add_u64(nt_gw *w, const char *key, uint64_t v);
void nt_gw_add_i64(nt_gw *w, const char *key, int64_t v);
void nt_gw_add_f32(nt_gw *w, const char *key, float v);
void nt_gw_add_f64(nt_gw *w, const char *key, double v);
void nt_gw_add_bool(nt_gw *w, const char *key, bool v);
void nt_gw_add_str(nt_gw *w, const char *key, const char *v);
/* A string of `len` bytes (may hold NULs or invalid UTF-8). */
void nt_gw_add_strn(nt_gw *w, const char *key, const char *v, uint64_t len);

/* A numeric or bool array: `elems` holds n host values of elem_type's C
 * type (uint8_t, int16_t, float, double, bool as one byte, ...). */
void nt_gw_add_arr(nt_gw *w, const char *key, nt_gguf_vtype elem_type, const void *elems, uint64_t n);
/* An array of n NUL-terminated strings. */
void nt_gw_add_arr_str(nt_gw *w, const char *key, const char *const *strs, uint64_t n);

/* Raw entry: key of key_len bytes, value type `vtype` (any u32), then
 * `value` bytes exactly as given (already encoded). */
void nt_gw_add_raw(nt_gw *w, const char *key, uint64_t key_len, uint32_t vtype, const void *value,
                   size_t value_len);

/* Adds the u32 key general.alignment and pads the data section to it. */
void nt_gw_set_alignment(nt_gw *w, uint32_t alignment);

/* --- tensors ------------------------------------------------------------ */
/* A tensor of ggml `type` and n_dims (1..4) dims ne[] with nbytes of data
 * (NULL: zeros). Returns the tensor's index. */
size_t nt_gw_add_tensor(nt_gw *w, const char *name, uint32_t type, uint32_t n_dims, const int64_t *ne,
                        const void *data, size_t nbytes);
/* A tensor of F32, F16 or BF16 `type` from F32 values (converted with round
 * to nearest even); the data size follows from the shape. */
size_t nt_gw_add_tensor_f32(nt_gw *w, const char *name, uint32_t type, uint32_t n_dims, const int64_t *ne,
                            const float *values);
/* Like nt_gw_add_tensor with raw dims: any count and any u64 values. */
size_t nt_gw_add_tensor_dims(nt_gw *w, const char *name, uint32_t type, uint32_t n_dims,
                             const uint64_t *dims, const void *data, size_t nbytes);
/* Write `offset` as tensor idx's offset (its data stays where it was). */
void nt_gw_tensor_set_offset(nt_gw *w, size_t idx, uint64_t offset);

/* --- malformed output ----------------------------------------------------- */
typedef struct nt_gw_knobs {
    char magic[4];          /* "GGUF" */
    uint32_t version;       /* 3 */
    bool n_kv_set;          /* write n_kv instead of the real count */
    uint64_t n_kv;
    bool n_tensors_set;     /* write n_tensors instead of the real count */
    uint64_t n_tensors;
    uint64_t pad_alignment; /* 0: the alignment; else pad to this instead */
} nt_gw_knobs;

nt_gw_knobs *nt_gw_knobs_get(nt_gw *w);

/* --- output ----------------------------------------------------------------- */
typedef struct nt_gw_layout {
    size_t kv_start;   /* first key-value (24, after the header) */
    size_t ti_start;   /* first tensor info */
    size_t ti_end;     /* end of the tensor-info table */
    size_t data_start; /* data section (ti_end padded to the alignment) */
    size_t size;       /* whole file */
} nt_gw_layout;

/* The file as a malloc'd buffer (free() it); layout may be NULL. */
uint8_t *nt_gw_write(nt_gw *w, size_t *size_out, nt_gw_layout *layout);
/* Write the file to path; false on I/O failure. */
bool nt_gw_write_file(nt_gw *w, const char *path);

#endif
