/* Params structs that carry their size: a caller built against an older,
 * shorter struct passes its own size, and the fields it does not know keep
 * their defaults. */
#ifndef NT_CORE_PARAMS_H
#define NT_CORE_PARAMS_H

#include <stddef.h>

#include "nexttok.h"

/* `defaults` (dst_size bytes, already filled by the *_params_init call)
 * takes the first struct_size bytes of `params` when params is not NULL.
 * A struct_size of 0 or beyond dst_size is NEXTTOK_ERR_INVALID_ARGUMENT,
 * with a message naming `fn`. The result's struct_size is dst_size. */
nexttok_status nt_params_merge(void *defaults, size_t dst_size, const void *params, const char *fn);

#endif
