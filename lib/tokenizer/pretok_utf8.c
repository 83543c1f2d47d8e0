/* UTF-8 validation and llama.cpp-style repair for the pre-tokenizer. */
#include "tokenizer/pretok_utf8.h"

#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"

static inline bool is_cont(uint8_t b)
{
    return (b & 0xC0) == 0x80;
}

bool nt_pretok_utf8_valid(const char *text, size_t len)
{
    const uint8_t *s = (const uint8_t *)text;
    size_t i = 0;
    while (i < len) {
        /* ASCII runs dominate real text: test 8 bytes at a time. */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i >= len)
            break;
        uint8_t b = s[i];
        if (b < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
        if (b >= 0xC2 && b <= 0xDF) {
            n = 2;
        } else if (b >= 0xE0 && b <= 0xEF) {
            n = 3;
            if (b == 0xE0)
                lo = 0xA0; /* overlong */
            else if (b == 0xED)
                hi = 0x9F; /* surrogates */
        } else if (b >= 0xF0 && b <= 0xF4) {
            n = 4;
            if (b == 0xF0)
                lo = 0x90; /* overlong */
            else if (b == 0xF4)
                hi = 0x8F; /* above U+10FFFF */
        } else {
            return false;
        }
        if (len - i < n)
            return false;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k < n; k++)
            if (!is_cont(s[i + k]))
                return false;
        i += n;
    }
    return true;
}

/* One code point of llama.cpp's lax decoding at s[i]: its value and byte
 * length, or length 1 and value UINT32_MAX for a byte that starts nothing. */
static uint32_t decode_lax(const uint8_t *s, size_t len, size_t i, size_t *n_out)
{
    uint8_t b = s[i];
    size_t avail = len - i;
    *n_out = 1;
    if (b < 0x80)
        return b;
    if (!(b & 0x40))
        return UINT32_MAX;
    if (!(b & 0x20)) {
        if (avail < 2 || !is_cont(s[i + 1]))
            return UINT32_MAX;
        *n_out = 2;
        return ((uint32_t)(b & 0x1F) << 6) | (s[i + 1] & 0x3F);
    }
    if (!(b & 0x10)) {
        if (avail < 3 || !is_cont(s[i + 1]) || !is_cont(s[i + 2]))
            return UINT32_MAX;
        *n_out = 3;
        return ((uint32_t)(b & 0x0F) << 12) | ((uint32_t)(s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
    }
    if (!(b & 0x08)) {
        if (avail < 4 || !is_cont(s[i + 1]) || !is_cont(s[i + 2]) || !is_cont(s[i + 3]))
            return UINT32_MAX;
        *n_out = 4;
        return ((uint32_t)(b & 0x07) << 18) | ((uint32_t)(s[i + 1] & 0x3F) << 12) |
               ((uint32_t)(s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F);
    }
    return UINT32_MAX;
}

static size_t encode(uint32_t cp, uint8_t *out)
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

nexttok_status nt_pretok_utf8_sanitize(const char *text, size_t len, nt_pretok_sanitized *out)
{
    memset(out, 0, sizeof *out);
    const uint8_t *s = (const uint8_t *)text;
    /* Every original byte yields at most 3 bytes (U+FFFD) and one fixup. */
    if (len > (SIZE_MAX - 1) / 3)
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "pre-tokenizer: text of %zu bytes is too long", len);
    uint8_t *dst = nt_malloc(3 * len + 1);
    nt_pretok_fixup *fix = nt_malloc_array(len ? len : 1, sizeof *fix);
    if (!dst || !fix) {
        nt_free(dst);
        nt_free(fix);
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "pre-tokenizer: no memory to repair %zu bytes of invalid UTF-8", len);
    }
    size_t d = 0, n_fix = 0;
    for (size_t i = 0; i < len;) {
        size_t n;
        uint32_t cp = decode_lax(s, len, i, &n);
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            cp = 0xFFFD;
        uint8_t enc[4];
        size_t m = encode(cp, enc);
        memcpy(dst + d, enc, m);
        d += m;
        i += n;
        if (m != n || memcmp(enc, s + i - n, n) != 0) {
            fix[n_fix].san_end = d;
            fix[n_fix].orig_end = i;
            n_fix++;
        }
    }
    dst[d] = 0;
    out->text = (char *)dst;
    out->len = d;
    out->fixups = fix;
    out->n_fixups = n_fix;
    return NEXTTOK_OK;
}

void nt_pretok_sanitized_free(nt_pretok_sanitized *s)
{
    if (!s)
        return;
    nt_free(s->text);
    nt_free(s->fixups);
    memset(s, 0, sizeof *s);
}
