/* Per-thread error messages behind nexttok_error_message(). */
#ifndef NT_CORE_ERROR_H
#define NT_CORE_ERROR_H

#include "nexttok.h"

/* Record a formatted message for this thread and return `status`, so that
 * failure paths read `return nt_fail(NEXTTOK_ERR_FORMAT, "...", ...);`. */
nexttok_status nt_fail(nexttok_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Clear this thread's message; every public entry point calls it first. */
void nt_error_clear(void);

/* Prefix the current message with "prefix: " (for context added by callers). */
void nt_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
