/*
 * A stand-in for the few Criterion macros the kernel tests use, so those
 * tests also build without Criterion (cross-compiled for aarch64 and run
 * under qemu, where no arm64 Criterion may be installable). Like Criterion,
 * each test runs in a forked child, so process-wide state (the chosen ISA)
 * starts fresh in every test.
 */
#ifndef NT_TEST_MINI_TEST_H
#define NT_TEST_MINI_TEST_H

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

/* Failing assertions end the (forked) test with status 1. */
#define cr_assert(cond, ...)                                                         \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: assertion failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, "" __VA_ARGS__);                                         \
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
#define cr_log_info(...) (fprintf(stderr, __VA_ARGS__), fputc('\n', stderr))

#endif
