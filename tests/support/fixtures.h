/* Where the conformance fixtures are, for tests. */
#ifndef NT_TEST_FIXTURES_H
#define NT_TEST_FIXTURES_H

#include <stdbool.h>
#include <stddef.h>

/* The fixtures folder (NEXTTOK_FIXTURES, set by meson), or NULL when it
 * does not exist: callers then cr_skip with "fixtures not found". */
const char *nt_test_fixtures_dir(void);

/* Join the fixtures folder and a relative path into buf; false if absent. */
bool nt_test_fixture_path(const char *rel, char *buf, size_t size);

/* Read a whole file into a malloc'd buffer (NUL added); NULL on failure. */
char *nt_test_read_file(const char *path, size_t *size_out);

#define NT_SKIP_MSG "fixtures not found: ../shared/fixtures is absent, conformance test skipped"

#endif
