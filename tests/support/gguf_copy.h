/* Copy a GGUF file with edits, for tests of variants the fixtures do not
 * ship: other weight types (matrices re-encoded from F32, or rounded
 * through a type but kept F32), an untied output, a tensor or key left
 * out, a tensor mis-shaped, a key set to another value. */
#ifndef NT_TEST_GGUF_COPY_H
#define NT_TEST_GGUF_COPY_H

#include <stdbool.h>
#include <stdint.h>

typedef struct nt_gguf_edit {
    uint32_t matrix_type;  /* F32 weight matrices become this type (F32, F16, BF16, Q8_0, Q4_0) */
    uint32_t round_to;     /* ... or stay F32 holding the values this type would decode to */
    bool untie;            /* add output.weight as a copy of token_embd.weight when absent */
    const char *drop_tensor;
    const char *short_tensor; /* written with its last dimension one short */
    const char *grow_tensor[2]; /* 1-D F32 tensors written grow_by values longer (the new ones 1.0) */
    int64_t grow_by;
    const char *drop_key;
    const char *set_key;   /* an integer, float or string key to set (added when absent) */
    double set_num;
    const char *set_str;   /* for a string key */
    const bool *set_flags; /* for a bool array key of n_flags elements */
    uint64_t n_flags;
} nt_gguf_edit;

/* Write src, edited, to a temporary file; returns its malloc'd path
 * (unlink and free it), or NULL when src cannot be read. */
char *nt_gguf_copy_temp(const char *src, const nt_gguf_edit *edit);

#endif
