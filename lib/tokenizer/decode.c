/* Token ids back to text: whole sequences, single pieces, and a streaming
 * decoder that only releases complete UTF-8 characters. */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "tokenizer/tokenizer.h"

static bool piece_skipped(const nexttok_tokenizer *t, int32_t id, uint32_t flags)
{
    uint8_t ty = t->types[id];
    return (flags & NEXTTOK_DECODE_SKIP_SPECIAL) &&
           (ty == NEXTTOK_TOKEN_CONTROL || ty == NEXTTOK_TOKEN_UNKNOWN);
}

/* The text of `id` within a decode. With a dummy-prefix vocabulary the
 * first piece loses one leading space, the one the encoder added (llama.cpp's
 * detokenize, and HF's Metaspace decoder); tokens skipped as special do not
 * count as first, as Hugging Face drops them before decoding. */
static const char *piece_in_decode(const nexttok_tokenizer *t, int32_t id, bool *at_start,
                                   size_t *len)
{
    const char *p = t->piece + t->piece_off[id];
    size_t n = t->piece_len[id];
    if (*at_start && t->add_space_prefix && n > 0 && p[0] == ' ') p++, n--;
    *at_start = false;
    *len = n;
    return p;
}

static nexttok_status check_args(const nexttok_tokenizer *t, const char *what, const void *text,
                                 size_t capacity, const size_t *len_out)
{
    if (!t || !len_out)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: %s is NULL", what, !t ? "tokenizer" : "len_out");
    if (!text && capacity > 0)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: text is NULL but capacity is %zu", what, capacity);
    return NEXTTOK_OK;
}

static nexttok_status check_token(const nexttok_tokenizer *t, const char *what, int32_t token)
{
    if (token < 0 || token >= t->n_vocab)
        return nt_fail(NEXTTOK_ERR_TOKEN_RANGE, "%s: token %d is outside the vocabulary (%d tokens)",
                       what, token, t->n_vocab);
    return NEXTTOK_OK;
}

NEXTTOK_API nexttok_status nexttok_tokenizer_piece_get(const nexttok_tokenizer *tokenizer,
                                                       int32_t token, char *text, size_t capacity,
                                                       size_t *len_out)
{
    nt_error_clear();
    if (len_out) *len_out = 0;
    nexttok_status st = check_args(tokenizer, "tokenizer_piece_get", text, capacity, len_out);
    if (st || (st = check_token(tokenizer, "tokenizer_piece_get", token))) return st;
    size_t n = tokenizer->piece_len[token];
    *len_out = n;
    if (n > capacity)
        return nt_fail(NEXTTOK_ERR_BUFFER_TOO_SMALL, "tokenizer_piece_get: %zu bytes do not fit in %zu",
                       n, capacity);
    if (n) memcpy(text, tokenizer->piece + tokenizer->piece_off[token], n);
    return NEXTTOK_OK;
}

NEXTTOK_API nexttok_status nexttok_tokenizer_decode(const nexttok_tokenizer *tokenizer,
                                                    const int32_t *tokens, size_t n_tokens,
                                                    uint32_t flags, char *text, size_t capacity,
                                                    size_t *len_out)
{
    nt_error_clear();
    if (len_out) *len_out = 0;
    nexttok_status st = check_args(tokenizer, "tokenizer_decode", text, capacity, len_out);
    if (st) return st;
    if (!tokens && n_tokens > 0)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "tokenizer_decode: tokens is NULL but n_tokens is %zu",
                       n_tokens);
    if (flags & ~NEXTTOK_DECODE_SKIP_SPECIAL)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "tokenizer_decode: unknown flags 0x%x", flags);
    for (size_t i = 0; i < n_tokens; i++)
        if ((st = check_token(tokenizer, "tokenizer_decode", tokens[i]))) return st;

    size_t total = 0;
    bool at_start = true;
    for (size_t i = 0; i < n_tokens; i++) {
        if (piece_skipped(tokenizer, tokens[i], flags)) continue;
        size_t n;
        const char *p = piece_in_decode(tokenizer, tokens[i], &at_start, &n);
        /* n > 0 first: a size query passes text NULL, and NULL + 0 or
         * memcpy(NULL, ..., 0) is undefined behaviour. */
        if (n > 0 && total + n <= capacity) memcpy(text + total, p, n);
        total += n;
    }
    *len_out = total;
    if (total > capacity)
        return nt_fail(NEXTTOK_ERR_BUFFER_TOO_SMALL, "tokenizer_decode: %zu bytes do not fit in %zu",
                       total, capacity);
    return NEXTTOK_OK;
}

/* --- streaming ------------------------------------------------------------- */

struct nexttok_decoder {
    const nexttok_tokenizer *t;
    uint32_t flags;
    bool at_start;
    uint8_t held[4]; /* the start of a character still missing bytes */
    size_t n_held;
};

NEXTTOK_API nexttok_status nexttok_decoder_create(const nexttok_tokenizer *tokenizer, uint32_t flags,
                                                  nexttok_decoder **decoder_out)
{
    nt_error_clear();
    if (decoder_out) *decoder_out = NULL;
    if (!tokenizer || !decoder_out)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "decoder_create: %s is NULL",
                       !tokenizer ? "tokenizer" : "decoder_out");
    if (flags & ~NEXTTOK_DECODE_SKIP_SPECIAL)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "decoder_create: unknown flags 0x%x", flags);
    nexttok_decoder *d = nt_calloc(1, sizeof *d);
    if (!d) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "decoder_create: out of memory");
    d->t = tokenizer;
    d->flags = flags;
    d->at_start = true;
    *decoder_out = d;
    return NEXTTOK_OK;
}

NEXTTOK_API void nexttok_decoder_free(nexttok_decoder *decoder)
{
    nt_free(decoder);
}

/* Bytes of a[0..na) ++ b[0..nb) that end on a character boundary: an
 * unfinished multi-byte sequence at the end waits; bytes that can never
 * complete a character (stray continuations, invalid leads) go out as they
 * are, as they would from a whole decode. */
static size_t complete_prefix(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    size_t n = na + nb;
    size_t lo = n > 3 ? n - 3 : 0;
    for (size_t j = n; j-- > lo;) {
        uint8_t c = j < na ? a[j] : b[j - na];
        if ((c & 0xC0) == 0x80) continue;      /* continuation: look further back */
        if (c < 0xC0) return n;                /* ASCII ends the look-back */
        size_t need = nt_utf8_len_from_lead(c);
        if (c >= 0xF8) need = 1;               /* not a lead byte of any length */
        return j + need > n ? j : n;
    }
    return n;
}

NEXTTOK_API nexttok_status nexttok_decoder_push(nexttok_decoder *decoder, int32_t token, char *text,
                                                size_t capacity, size_t *len_out)
{
    nt_error_clear();
    if (len_out) *len_out = 0;
    if (!decoder) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "decoder_push: decoder is NULL");
    const nexttok_tokenizer *t = decoder->t;
    nexttok_status st = check_args(t, "decoder_push", text, capacity, len_out);
    if (st || (st = check_token(t, "decoder_push", token))) return st;

    const char *p = "";
    size_t n = 0;
    bool at_start = decoder->at_start;
    if (!piece_skipped(t, token, decoder->flags)) p = piece_in_decode(t, token, &at_start, &n);

    size_t out = complete_prefix(decoder->held, decoder->n_held, (const uint8_t *)p, n);
    *len_out = out;
    if (out > capacity)
        return nt_fail(NEXTTOK_ERR_BUFFER_TOO_SMALL, "decoder_push: %zu bytes do not fit in %zu",
                       out, capacity);
    /* Commit only now, so a too-small buffer leaves the decoder unchanged. */
    size_t from_held = out < decoder->n_held ? out : decoder->n_held;
    if (out > 0) { /* text may be NULL when nothing is written */
        memcpy(text, decoder->held, from_held);
        memcpy(text + from_held, p, out - from_held);
    }
    uint8_t rest[4];
    size_t n_rest = 0;
    for (size_t j = out; j < decoder->n_held + n; j++)
        rest[n_rest++] = j < decoder->n_held ? decoder->held[j] : (uint8_t)p[j - decoder->n_held];
    memcpy(decoder->held, rest, n_rest);
    decoder->n_held = n_rest;
    decoder->at_start = at_start;
    return NEXTTOK_OK;
}

NEXTTOK_API nexttok_status nexttok_decoder_flush(nexttok_decoder *decoder, char *text, size_t capacity,
                                                 size_t *len_out)
{
    nt_error_clear();
    if (len_out) *len_out = 0;
    if (!decoder) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "decoder_flush: decoder is NULL");
    nexttok_status st = check_args(decoder->t, "decoder_flush", text, capacity, len_out);
    if (st) return st;
    size_t out = decoder->n_held ? 3 : 0; /* one U+FFFD for the unfinished character */
    *len_out = out;
    if (out > capacity)
        return nt_fail(NEXTTOK_ERR_BUFFER_TOO_SMALL, "decoder_flush: %zu bytes do not fit in %zu",
                       out, capacity);
    if (out) memcpy(text, "\xEF\xBF\xBD", 3);
    decoder->n_held = 0;
    decoder->at_start = true;
    return NEXTTOK_OK;
}
