#include "core/params.h"

#include <string.h>

#include "core/error.h"

void nt_params_init(void *params, size_t caller_size, const void *defaults, size_t lib_size)
{
    if (!params || caller_size < sizeof(size_t)) return;
    memset(params, 0, caller_size);
    memcpy(params, defaults, caller_size < lib_size ? caller_size : lib_size);
    memcpy(params, &caller_size, sizeof caller_size);
}

static size_t struct_size_of(const void *s)
{
    size_t size;
    memcpy(&size, s, sizeof size); /* every such struct starts with struct_size */
    return size;
}

nexttok_status nt_params_merge(void *defaults, size_t lib_size, const void *params, const char *fn)
{
    if (!params) return NEXTTOK_OK;
    const size_t size = struct_size_of(params);
    if (size < sizeof(size_t))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT,
                       "%s: params->struct_size %zu is too small (set it with the *_params_init call)", fn, size);
    const unsigned char *bytes = params;
    for (size_t i = lib_size; i < size; i++)
        if (bytes[i] != 0)
            return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT,
                           "%s: params set a field at byte %zu, beyond the %zu bytes this library version knows",
                           fn, i, lib_size);
    memcpy(defaults, params, size < lib_size ? size : lib_size);
    memcpy(defaults, &lib_size, sizeof lib_size);
    return NEXTTOK_OK;
}

nexttok_status nt_info_fill(void *info, const void *full, size_t lib_size, const char *fn)
{
    const size_t size = struct_size_of(info);
    if (size < sizeof(size_t))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT,
                       "%s: info->struct_size %zu is too small (set it to sizeof the struct)", fn, size);
    unsigned char *bytes = info;
    memcpy(bytes + sizeof size, (const unsigned char *)full + sizeof size,
           (size < lib_size ? size : lib_size) - sizeof size);
    if (size > lib_size) memset(bytes + lib_size, 0, size - lib_size);
    return NEXTTOK_OK;
}
