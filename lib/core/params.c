#include "core/params.h"

#include <string.h>

#include "core/error.h"

nexttok_status nt_params_merge(void *defaults, size_t dst_size, const void *params, const char *fn)
{
    if (!params) return NEXTTOK_OK;
    size_t size;
    memcpy(&size, params, sizeof size); /* every params struct starts with struct_size */
    if (size < sizeof size || size > dst_size)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT,
                       "%s: params->struct_size %zu is not a known size (expected %zu to %zu)", fn, size,
                       sizeof size, dst_size);
    memcpy(defaults, params, size);
    memcpy(defaults, &dst_size, sizeof dst_size);
    return NEXTTOK_OK;
}
