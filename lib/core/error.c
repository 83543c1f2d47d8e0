#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Long enough for a tensor name, two shapes and a file path. */
#define NT_ERROR_CAP 1024

static _Thread_local char nt_error_buf[NT_ERROR_CAP];

nexttok_status nt_fail(nexttok_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(nt_error_buf, sizeof nt_error_buf, fmt, ap);
    va_end(ap);
    return status;
}

void nt_error_clear(void) { nt_error_buf[0] = '\0'; }

void nt_error_prefix(const char *fmt, ...)
{
    char prefix[NT_ERROR_CAP];
    char old[NT_ERROR_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, nt_error_buf, sizeof old);
    /* Both halves may be long; the message is cut at the buffer's end. */
    size_t n = strlen(prefix);
    if (n > NT_ERROR_CAP - 3) n = NT_ERROR_CAP - 3;
    memcpy(nt_error_buf, prefix, n);
    memcpy(nt_error_buf + n, ": ", 2);
    n += 2;
    size_t rest = strnlen(old, NT_ERROR_CAP - 1 - n);
    memcpy(nt_error_buf + n, old, rest);
    nt_error_buf[n + rest] = '\0';
}

NEXTTOK_API const char *nexttok_error_message(void) { return nt_error_buf; }

NEXTTOK_API const char *nexttok_status_describe(nexttok_status status)
{
    switch (status) {
    case NEXTTOK_OK: return "ok";
    case NEXTTOK_ERR_INVALID_ARGUMENT: return "invalid argument";
    case NEXTTOK_ERR_IO: return "input/output error";
    case NEXTTOK_ERR_NO_MEMORY: return "out of memory";
    case NEXTTOK_ERR_FORMAT: return "malformed file";
    case NEXTTOK_ERR_UNSUPPORTED: return "unsupported";
    case NEXTTOK_ERR_CONTEXT_FULL: return "context full";
    case NEXTTOK_ERR_TOKEN_RANGE: return "token id out of range";
    case NEXTTOK_ERR_CHECKSUM: return "checksum mismatch";
    case NEXTTOK_ERR_CANCELLED: return "cancelled";
    case NEXTTOK_ERR_BUFFER_TOO_SMALL: return "buffer too small";
    case NEXTTOK_ERR_STATE: return "invalid state";
    case NEXTTOK_ERR_NOT_FOUND: return "not found";
    case NEXTTOK_ERR_MODEL_MISMATCH: return "made with another model";
    case NEXTTOK_ERR_DEADLINE: return "deadline passed";
    case NEXTTOK_ERR_TRUNCATED: return "truncated";
    }
    return "unknown status";
}
