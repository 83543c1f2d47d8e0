/*
 * A stand-in for the few Criterion macros the kernel tests use, so those
 * tests also build without Criterion (cross-compiled for aarch64 and run
 * under qemu, where no arm64 Criterion may be installable; and under
 * ThreadSanitizer, where Criterion aborts at start-up). Like Criterion,
 * each test runs in a forked child, so process-wide state (the chosen ISA)
 * starts fresh in every test.
 */
#ifndef NT_TEST_MINI_TEST_H
#define NT_TEST_MINI_TEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void nt_mini_register(const char *suite, const char *name, void (*fn)(void));

#define Test(suite, name)                                                            \
    static void suite##_##name(void);                                                \
    __attribute__((constructor)) static void suite##_##name##_register(void)        \
    {                                                                                \
        nt_mini_register(#suite, #name, suite##_##name);                             \
    }                                                                                \
    static void suite##_##name(void)

/* The optional message of an assertion ("" when none: no format
 * attribute, so an empty one draws no -Wformat-zero-length). */
static inline void nt_mini_message(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

/* Failing assertions end the (forked) test with status 1. */
#define cr_assert(cond, ...)                                                         \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: assertion failed: %s: ", __FILE__, __LINE__, #cond); \
            nt_mini_message("" __VA_ARGS__);                                         \
            fputc('\n', stderr);                                                     \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)
#define cr_expect cr_assert
#define cr_skip(...)                                                                 \
    do {                                                                             \
        fprintf(stderr, "skipped: " __VA_ARGS__);                                    \
        fputc('\n', stderr);                                                         \
        exit(0);                                                                     \
    } while (0)
#define cr_skip_test cr_skip
#define cr_log_info(...) (fprintf(stderr, __VA_ARGS__), fputc('\n', stderr))

/* The comparison forms the session tests use (standalone in the TSan
 * build, where Criterion cannot start). */
#define cr_assert_eq(a, b, ...) cr_assert((a) == (b), __VA_ARGS__)
#define cr_assert_neq(a, b, ...) cr_assert((a) != (b), __VA_ARGS__)
#define cr_assert_gt(a, b, ...) cr_assert((a) > (b), __VA_ARGS__)
#define cr_assert_geq(a, b, ...) cr_assert((a) >= (b), __VA_ARGS__)
#define cr_assert_lt(a, b, ...) cr_assert((a) < (b), __VA_ARGS__)
#define cr_assert_leq(a, b, ...) cr_assert((a) <= (b), __VA_ARGS__)
#define cr_assert_null(p, ...) cr_assert((p) == NULL, __VA_ARGS__)
#define cr_assert_not_null(p, ...) cr_assert((p) != NULL, __VA_ARGS__)
#define cr_assert_arr_eq(a, b, size, ...) cr_assert(memcmp((a), (b), (size)) == 0, __VA_ARGS__)
#define cr_assert_float_eq(a, b, eps, ...)                                           \
    cr_assert((a) - (b) <= (eps) && (b) - (a) <= (eps), __VA_ARGS__)

#endif
