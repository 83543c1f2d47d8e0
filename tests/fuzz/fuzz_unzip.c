/* libFuzzer target: nexttok_zip_info_get and nexttok_zip_decompress on
 * arbitrary bytes, against the fixture model aidreams260K
 * (NEXTTOK_FIXTURES; without it only the header is checked). Each input
 * runs twice: as given, and with its model digest set to the model's and
 * its header digest recomputed, so mutated fields and payloads get past
 * the header's own checks into the range decoder. A refusal must come
 * with a message and leave the output zeroed; a success must write
 * exactly the length the header claims (a range coder's last bits may
 * carry nothing, so a success need not be the file compression makes,
 * but its text matched the header's checksum). The output buffer is capped so a header claiming a huge length is refused
 * (BUFFER_TOO_SMALL) rather than allocated. */
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexttok.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_CAP (1u << 16)

static nexttok_model *model;
static int tried;

static const nexttok_model *fixture_model(void)
{
    if (tried) return model;
    tried = 1;
    const char *dir = getenv("NEXTTOK_FIXTURES");
    char path[4096];
    snprintf(path, sizeof path, "%s/models/aidreams260K.gguf", dir ? dir : "../shared/fixtures");
    if (nexttok_model_load(path, NULL, &model) != NEXTTOK_OK) model = NULL;
    return model;
}

static void check(const nexttok_model *m, const uint8_t *buf, size_t size)
{
    nexttok_zip_info info = {.struct_size = sizeof info};
    const nexttok_status hst = nexttok_zip_info_get(buf, size, &info);
    if (hst != NEXTTOK_OK && nexttok_error_message()[0] == '\0') abort();
    if (!m) return;
    static unsigned char out[OUT_CAP];
    size_t n = 0;
    nexttok_zip_params p;
    nexttok_zip_params_init(&p, sizeof p);
    p.n_threads = 1;
    const nexttok_status st = nexttok_zip_decompress(m, NULL, &p, buf, size, out, sizeof out, &n);
    if (st != NEXTTOK_OK) {
        if (nexttok_error_message()[0] == '\0') abort();
        if (st == NEXTTOK_ERR_BUFFER_TOO_SMALL) return;
        for (size_t i = 0; i < sizeof out; i++)
            if (out[i]) abort(); /* something half-written */
        return;
    }
    if (hst != NEXTTOK_OK || n != info.original_len) abort();
    memset(out, 0, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const nexttok_model *m = fixture_model();
    uint8_t *copy = malloc(size ? size : 1); /* exactly sized: ASan sees reads past it */
    if (!copy) return 0;
    memcpy(copy, data, size);
    check(m, copy, size);
    /* resealed: the model's digest at 40, the header digest at 104 over
     * bytes 0..104 (lib/zip/header.h) */
    if (m && size >= NEXTTOK_ZIP_HEADER_BYTES && sodium_init() >= 0) {
        static uint8_t digest[NEXTTOK_DIGEST_BYTES];
        static int have;
        if (!have) have = nexttok_model_digest_get(m, digest) == NEXTTOK_OK ? 1 : -1;
        if (have > 0) {
            memcpy(copy + 40, digest, NEXTTOK_DIGEST_BYTES);
            crypto_generichash(copy + 104, 16, copy, 104, NULL, 0);
            check(m, copy, size);
        }
    }
    free(copy);
    return 0;
}
