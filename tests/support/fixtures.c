#include "fixtures.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

const char *nt_test_fixtures_dir(void)
{
    const char *d = getenv("NEXTTOK_FIXTURES");
    struct stat st;
    if (!d || stat(d, &st) != 0 || !S_ISDIR(st.st_mode)) return NULL;
    return d;
}

bool nt_test_fixture_path(const char *rel, char *buf, size_t size)
{
    const char *d = nt_test_fixtures_dir();
    struct stat st;
    if (!d) return false;
    int n = snprintf(buf, size, "%s/%s", d, rel);
    if (n < 0 || (size_t)n >= size) return false;
    return stat(buf, &st) == 0;
}

char *nt_test_read_file(const char *path, size_t *size_out)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return NULL; }
    long n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) { fclose(f); return NULL; }
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (size_out) *size_out = (size_t)n;
    }
    return buf;
}
