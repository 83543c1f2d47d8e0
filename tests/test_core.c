/* Version, status strings and per-thread error messages. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "nexttok.h"

Test(core, version_matches_header)
{
    cr_assert_eq(nexttok_version_number(), NEXTTOK_VERSION_NUMBER);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", NEXTTOK_VERSION_MAJOR, NEXTTOK_VERSION_MINOR,
             NEXTTOK_VERSION_PATCH);
    cr_assert_str_eq(nexttok_version_string(), want);
}

Test(core, every_status_has_a_description)
{
    for (int s = NEXTTOK_OK; s <= NEXTTOK_ERR_TRUNCATED; s++)
        cr_assert_str_neq(nexttok_status_describe((nexttok_status)s), "unknown status", "status %d", s);
    cr_assert_str_eq(nexttok_status_describe((nexttok_status)999), "unknown status");
}

static void *other_thread(void *arg)
{
    (void)arg;
    cr_assert_str_empty(nexttok_error_message());
    nt_fail(NEXTTOK_ERR_IO, "thread message");
    return NULL;
}

Test(core, error_messages_are_per_thread)
{
    cr_assert_eq(nt_fail(NEXTTOK_ERR_FORMAT, "tensor %s: bad", "x"), NEXTTOK_ERR_FORMAT);
    cr_assert_str_eq(nexttok_error_message(), "tensor x: bad");
    pthread_t t;
    pthread_create(&t, NULL, other_thread, NULL);
    pthread_join(t, NULL);
    cr_assert_str_eq(nexttok_error_message(), "tensor x: bad");
    nt_error_prefix("file %s", "a.gguf");
    cr_assert_str_eq(nexttok_error_message(), "file a.gguf: tensor x: bad");
    nt_error_clear();
    cr_assert_str_empty(nexttok_error_message());
}

Test(core, isa_name_names_a_supported_set)
{
    const char *name = nexttok_isa_name_get();
    cr_assert(strcmp(name, "avx512") == 0 || strcmp(name, "avx2") == 0 || strcmp(name, "neon") == 0 ||
              strcmp(name, "scalar") == 0, "%s", name);
}
