/* libFuzzer target: nexttok_session_restore on arbitrary bytes, against
 * the fixture model aidreams260K (NEXTTOK_FIXTURES; without it every input
 * passes unchecked). Each input runs twice: as given, and with its header
 * and payload checksums recomputed, so mutated fields reach the checks
 * behind the checksums. A refusal must leave no session and a message; a
 * restored session must snapshot back to the input's exact bytes and run.
 * Seeds: fuzz_snapshot_seeds. */
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexttok.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    nexttok_session_params p;
    nexttok_session_params_init(&p, sizeof p);
    p.n_threads = 1;
    nexttok_session *s = (nexttok_session *)1;
    nexttok_status st = nexttok_session_restore(m, buf, size, &p, &s);
    if (st != NEXTTOK_OK) {
        if (s != NULL || nexttok_error_message()[0] == '\0') abort(); /* half-made or unexplained */
        return;
    }
    size_t n = 0;
    if (nexttok_session_snapshot_write(s, NULL, 0, &n) != NEXTTOK_OK || n != size) abort();
    uint8_t *again = malloc(n);
    if (!again || nexttok_session_snapshot_write(s, again, n, &n) != NEXTTOK_OK || memcmp(again, buf, n) != 0) abort();
    free(again);
    const int32_t tok = 1;
    st = nexttok_session_feed(s, &tok, 1, NULL, 0);
    if (st != NEXTTOK_OK && st != NEXTTOK_ERR_CONTEXT_FULL) abort();
    if (nexttok_session_rewind(s, 0) != NEXTTOK_OK) abort();
    nexttok_session_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const nexttok_model *m = fixture_model();
    if (!m) return 0;
    uint8_t *copy = malloc(size ? size : 1); /* exactly sized: ASan sees reads past it */
    if (!copy) return 0;
    memcpy(copy, data, size);
    check(m, copy, size);
    /* resealed: payload checksum over what follows the 160-byte header,
     * header checksum over its first 144 bytes (snapshot.c's layout) */
    if (size >= 160 && sodium_init() >= 0) {
        crypto_generichash(copy + 112, 32, copy + 160, size - 160, NULL, 0);
        crypto_generichash(copy + 144, 16, copy, 144, NULL, 0);
        check(m, copy, size);
    }
    free(copy);
    return 0;
}
