/*
 * Structs that carry their size, so the ABI can grow (the rule Linux uses
 * for extensible syscall structs). A caller built against an older, shorter
 * struct passes its own size, and the fields it does not know keep their
 * defaults; a caller built against a newer, longer struct works with an
 * older library as long as the fields that library does not know are zero.
 */
#ifndef NT_CORE_PARAMS_H
#define NT_CORE_PARAMS_H

#include <stddef.h>

#include "nexttok.h"

/* Fill the caller's params struct (caller_size bytes) with `defaults`
 * (lib_size bytes): fields beyond the library's struct become zero, and
 * struct_size becomes caller_size. NULL or a size too small for
 * struct_size does nothing. */
void nt_params_init(void *params, size_t caller_size, const void *defaults, size_t lib_size);

/* `defaults` (lib_size bytes, already filled by the *_params_init call)
 * takes the caller's fields when params is not NULL. A struct_size too
 * small to hold struct_size, or a larger struct with a non-zero byte beyond
 * what the library knows, is NEXTTOK_ERR_INVALID_ARGUMENT with a message
 * naming `fn`. The result's struct_size is lib_size. */
nexttok_status nt_params_merge(void *defaults, size_t lib_size, const void *params, const char *fn);

/* Write an info struct the caller sized with struct_size: the library's
 * `full` (lib_size bytes) up to that size, zeros beyond what the library
 * knows; struct_size keeps the caller's value. Fails like nt_params_merge
 * on a size too small to hold struct_size. */
nexttok_status nt_info_fill(void *info, const void *full, size_t lib_size, const char *fn);

#endif
