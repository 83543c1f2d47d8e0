/* The table of pre-tokenizer types: which regexes each tokenizer.ggml.pre
 * value stands for. Internal to the pre-tokenizer. */
#ifndef NT_TOKENIZER_PRETOK_TYPES_H
#define NT_TOKENIZER_PRETOK_TYPES_H

#include <stdbool.h>
#include <stddef.h>

#define NT_PRETOK_MAX_REGEXES 8

typedef struct nt_pretok_type {
    const char *name;                               /* canonical name */
    const char *regexes[NT_PRETOK_MAX_REGEXES + 1]; /* applied in order; NULL-terminated */
} nt_pretok_type;

/* The type a tokenizer.ggml.pre value names (aliases resolved; NULL, "" and
 * "default" give GPT-2's), or NULL when the name is unknown. Sets
 * *ignore_merges (when not NULL) to llama.cpp's setting for that value. */
const nt_pretok_type *nt_pretok_type_find(const char *pre, bool *ignore_merges);

/* Every type, and every accepted tokenizer.ggml.pre value, by index
 * (NULL past the end): for tests that must cover them all. */
const nt_pretok_type *nt_pretok_type_at(size_t i);
const char *nt_pretok_alias_at(size_t i);

#endif
