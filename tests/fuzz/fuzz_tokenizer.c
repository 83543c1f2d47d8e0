/* libFuzzer target: encode and decode arbitrary bytes with the fixture
 * vocabularies (GPT-2 and StarCoder byte-level BPE, Llama SentencePiece),
 * loaded once from $NEXTTOK_FIXTURES/vocab.
 *
 * Checked, as documented: encode never fails on any bytes (apart from a too
 * small buffer, which must report the size that then works) and gives ids in
 * range; decode takes every id encode produced; the streaming decoder's
 * pieces, concatenated, are a prefix of the whole decode and, with the flush,
 * equal it when the decode is valid UTF-8; valid UTF-8 without U+2581 round
 * trips exactly with flags 0 (as the tokenizer suite asserts) when every
 * byte of it has a token of its own: a byte-level vocabulary without some
 * bytes (StarCoder lacks C0 C1 F1 F5..FF) drops them, as llama.cpp does. */
#define _GNU_SOURCE /* memmem */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexttok.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static nexttok_tokenizer *toks[3];
static bool has_byte[3][256]; /* a token whose piece is just this byte */
static size_t n_toks;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "fuzz_tokenizer: " __VA_ARGS__);               \
            fprintf(stderr, " (%s)\n", nexttok_error_message());           \
            abort();                                                       \
        }                                                                  \
    } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("NEXTTOK_FIXTURES");
    if (!dir) dir = "/work/shared/fixtures";
    static const char *const names[] = {"ggml-vocab-gpt-2.gguf", "ggml-vocab-llama-spm.gguf",
                                        "ggml-vocab-starcoder.gguf"};
    for (size_t i = 0; i < 3; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/vocab/%s", dir, names[i]);
        if (nexttok_tokenizer_load(path, &toks[n_toks]) == NEXTTOK_OK) {
            for (int32_t id = 0; id < nexttok_tokenizer_n_vocab_get(toks[n_toks]); id++) {
                char piece[8];
                size_t len = 0;
                if (nexttok_tokenizer_piece_get(toks[n_toks], id, piece, sizeof piece, &len) == NEXTTOK_OK &&
                    len == 1)
                    has_byte[n_toks][(uint8_t)piece[0]] = true;
            }
            n_toks++;
        } else fprintf(stderr, "fuzz_tokenizer: skipping %s: %s\n", path, nexttok_error_message());
    }
    return 0;
}

static bool utf8_valid(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t k = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (k == 0 || i + k > n) return false;
        uint32_t cp = k == 1 ? c : (uint32_t)(c & (0x7F >> k));
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if ((k == 2 && cp < 0x80) || (k == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return false;
        i += k;
    }
    return true;
}

static void stream_check(const nexttok_tokenizer *t, const int32_t *ids, size_t n, uint32_t flags,
                         const char *whole, size_t whole_len)
{
    nexttok_decoder *d;
    CHECK(nexttok_decoder_create(t, flags, &d) == NEXTTOK_OK, "decoder_create");
    char *out = malloc(whole_len + 8);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        char piece[64];
        size_t len = 0;
        nexttok_status st = nexttok_decoder_push(d, ids[i], piece, sizeof piece, &len);
        if (st == NEXTTOK_ERR_BUFFER_TOO_SMALL) {
            /* The decoder is unchanged: retry with the size it asked for. */
            char *big = malloc(len);
            size_t len2 = 0;
            CHECK(nexttok_decoder_push(d, ids[i], big, len, &len2) == NEXTTOK_OK && len2 == len,
                  "decoder_push retry");
            CHECK(at + len <= whole_len, "stream longer than decode");
            memcpy(out + at, big, len);
            free(big);
        } else {
            CHECK(st == NEXTTOK_OK, "decoder_push of id %d", ids[i]);
            CHECK(at + len <= whole_len, "stream longer than decode");
            memcpy(out + at, piece, len);
        }
        at += len;
        CHECK(memcmp(out, whole, at) == 0, "stream is not a prefix of decode");
    }
    char tail[8];
    size_t tail_len = 0;
    CHECK(nexttok_decoder_flush(d, tail, sizeof tail, &tail_len) == NEXTTOK_OK, "decoder_flush");
    if (utf8_valid((const uint8_t *)whole, whole_len))
        CHECK(tail_len == 0 && at == whole_len, "stream differs from decode of valid UTF-8");
    nexttok_decoder_free(d);
    free(out);
}

static void run(size_t which, const char *text, size_t size)
{
    const nexttok_tokenizer *t = toks[which];
    bool every_byte = true;
    for (size_t i = 0; i < size; i++) every_byte &= has_byte[which][(uint8_t)text[i]];
    int32_t n_vocab = nexttok_tokenizer_n_vocab_get(t);
    for (uint32_t flags = 0; flags < 4; flags++) {
        size_t cap = 8, n = 0;
        int32_t *ids = malloc(cap * sizeof *ids);
        nexttok_status st = nexttok_tokenizer_encode(t, text, size, flags, ids, cap, &n);
        if (st == NEXTTOK_ERR_BUFFER_TOO_SMALL) {
            CHECK(n > cap, "too small but needs %zu <= %zu", n, cap);
            cap = n;
            ids = realloc(ids, cap * sizeof *ids);
            size_t n2 = 0;
            st = nexttok_tokenizer_encode(t, text, size, flags, ids, cap, &n2);
            CHECK(st == NEXTTOK_OK && n2 == n, "encode again with the size asked for");
        }
        CHECK(st == NEXTTOK_OK, "encode flags %u", flags);
        for (size_t i = 0; i < n; i++) CHECK(ids[i] >= 0 && ids[i] < n_vocab, "id %d out of range", ids[i]);

        for (uint32_t dflags = 0; dflags < 2; dflags++) {
            size_t len = 0;
            st = nexttok_tokenizer_decode(t, ids, n, dflags, NULL, 0, &len);
            CHECK(st == NEXTTOK_OK || st == NEXTTOK_ERR_BUFFER_TOO_SMALL, "decode size");
            char *back = malloc(len ? len : 1);
            size_t len2 = 0;
            CHECK(nexttok_tokenizer_decode(t, ids, n, dflags, back, len, &len2) == NEXTTOK_OK && len2 == len,
                  "decode");
            if (flags == 0 && dflags == 0 && every_byte && utf8_valid((const uint8_t *)text, size) &&
                !memmem(text, size, "\xE2\x96\x81", 3))
                CHECK(len == size && memcmp(back, text, size) == 0, "round trip differs (%zu vs %zu bytes)",
                      len, size);
            stream_check(t, ids, n, dflags, back, len);
            free(back);
        }
        free(ids);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    if (!text) return 0;
    memcpy(text, data, size);
    for (size_t i = 0; i < n_toks; i++) run(i, text, size);
    free(text);
    return 0;
}
