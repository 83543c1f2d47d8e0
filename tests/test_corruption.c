/* Corruption of a model file: every single flipped byte of its tensor data
 * is caught by nexttok_model_verify (and by the digest of the tensor that
 * holds it), and a file truncated while mapped is reported by verify
 * instead of faulting. The fixture is a tiny model the test writes. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nexttok.h"
#include "support/tiny_model.h"

static nexttok_model *load(const char *path)
{
    nexttok_model *m = NULL;
    cr_assert_eq(nexttok_model_load(path, NULL, &m), NEXTTOK_OK, "%s", nexttok_error_message());
    return m;
}

static void poke(int fd, uint64_t at, uint8_t v)
{
    cr_assert_eq(pwrite(fd, &v, 1, (off_t)at), 1);
}

/* Every byte of every tensor, one at a time: flipped in the file, the
 * model loaded afresh fails verify against the digest of the intact file,
 * the tensor holding the byte changes its digest, and the others do not
 * (checked for every 97th byte: hashing all tensors per byte is slow). */
Test(corruption, every_flipped_tensor_byte_fails_verify, .timeout = 600)
{
    nt_tiny_spec sp = nt_tiny_spec_default("llama");
    sp.n_layer = 1;
    char *path = nt_tiny_model_file(&sp);
    cr_assert_not_null(path);
    nexttok_model *m = load(path);
    uint8_t want[NEXTTOK_DIGEST_BYTES];
    cr_assert_eq(nexttok_model_digest_get(m, want), NEXTTOK_OK);
    cr_assert_eq(nexttok_model_verify(m, want), NEXTTOK_OK);
    const size_t n_t = nexttok_model_tensor_count_get(m);
    cr_assert_gt(n_t, 0);
    nexttok_tensor_info *ti = calloc(n_t, sizeof *ti);
    uint8_t(*tdig)[NEXTTOK_DIGEST_BYTES] = calloc(n_t, sizeof *tdig);
    uint64_t total = 0;
    for (size_t i = 0; i < n_t; i++) {
        ti[i].struct_size = sizeof ti[i];
        cr_assert_eq(nexttok_model_tensor_info_get(m, i, &ti[i]), NEXTTOK_OK);
        cr_assert_eq(nexttok_model_tensor_digest_get(m, i, tdig[i]), NEXTTOK_OK);
        total += ti[i].n_bytes;
    }
    nexttok_model_free(m);

    int fd = open(path, O_RDWR);
    cr_assert_geq(fd, 0);
    uint64_t checked = 0;
    for (size_t i = 0; i < n_t; i++) {
        for (uint64_t b = 0; b < ti[i].n_bytes; b++) {
            const uint64_t at = ti[i].offset + b;
            uint8_t orig;
            cr_assert_eq(pread(fd, &orig, 1, (off_t)at), 1);
            /* a different bit each time, so every bit position is hit */
            poke(fd, at, (uint8_t)(orig ^ (1u << (at % 8))));
            m = load(path);
            cr_assert_eq(nexttok_model_verify(m, want), NEXTTOK_ERR_CHECKSUM, "flipped byte %llu of tensor %s passed",
                         (unsigned long long)b, ti[i].name);
            cr_assert(strstr(nexttok_error_message(), "digest mismatch") != NULL, "%s", nexttok_error_message());
            if (at % 97 == 0) {
                for (size_t k = 0; k < n_t; k++) {
                    uint8_t d[NEXTTOK_DIGEST_BYTES];
                    cr_assert_eq(nexttok_model_tensor_digest_get(m, k, d), NEXTTOK_OK);
                    cr_assert_eq(memcmp(d, tdig[k], sizeof d) != 0, k == i,
                                 "byte %llu of %s: digest of tensor %zu %s", (unsigned long long)b, ti[i].name, k,
                                 k == i ? "unchanged" : "changed");
                }
            }
            nexttok_model_free(m);
            poke(fd, at, orig);
            checked++;
        }
    }
    cr_assert_eq(checked, total);
    cr_log_info("flipped each of %llu tensor bytes in turn", (unsigned long long)checked);
    m = load(path);
    cr_assert_eq(nexttok_model_verify(m, want), NEXTTOK_OK, "restored file: %s", nexttok_error_message());
    nexttok_model_free(m);
    close(fd);
    unlink(path);
    free(path);
    free(ti);
    free(tdig);
}

/* Cut while loaded: verify and the digests say so (NEXTTOK_ERR_TRUNCATED)
 * rather than reading the mapping past the file's new end (SIGBUS). */
Test(corruption, file_truncated_while_mapped_is_reported)
{
    nt_tiny_spec sp = nt_tiny_spec_default("llama");
    char *path = nt_tiny_model_file(&sp);
    cr_assert_not_null(path);
    nexttok_model *m = load(path);
    uint8_t want[NEXTTOK_DIGEST_BYTES], d[NEXTTOK_DIGEST_BYTES];
    cr_assert_eq(nexttok_model_digest_get(m, want), NEXTTOK_OK);
    nexttok_model_info info = {.struct_size = sizeof info};
    cr_assert_eq(nexttok_model_info_get(m, &info), NEXTTOK_OK);
    cr_assert_eq(truncate(path, (off_t)(info.file_size / 2)), 0);
    cr_assert_eq(nexttok_model_verify(m, want), NEXTTOK_ERR_TRUNCATED);
    cr_assert(strstr(nexttok_error_message(), "shrank") != NULL, "%s", nexttok_error_message());
    cr_assert_eq(nexttok_model_digest_get(m, d), NEXTTOK_ERR_TRUNCATED);
    cr_assert_eq(nexttok_model_tensor_digest_get(m, 0, d), NEXTTOK_ERR_TRUNCATED);
    /* grown back to its size (zeros): readable again, and verify sees the change */
    cr_assert_eq(truncate(path, (off_t)info.file_size), 0);
    cr_assert_eq(nexttok_model_verify(m, want), NEXTTOK_ERR_CHECKSUM);
    nexttok_model_free(m);
    unlink(path);
    free(path);
}
