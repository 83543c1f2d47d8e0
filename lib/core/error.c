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
    /* The cases come from the header's list, so a new status is described
     * where it is declared. */
    switch (status) {
#define NT_STATUS_CASE(name, value, description) \
    case name: return description;
        NEXTTOK_STATUS_LIST(NT_STATUS_CASE)
#undef NT_STATUS_CASE
    }
    return "unknown status"; /* a value cast from outside the list */
}
