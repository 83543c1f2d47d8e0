/* UTF-8 checks for the pre-tokenizer: PCRE2 needs valid UTF-8, while model
 * input may be anything. Invalid input is rewritten into valid UTF-8 the way
 * llama.cpp decodes it, with a map back to the original byte offsets. */
#ifndef NT_TOKENIZER_PRETOK_UTF8_H
#define NT_TOKENIZER_PRETOK_UTF8_H

#include <stdbool.h>
#include <stddef.h>

#include "nexttok.h"

/* True when text[0..len) is well-formed UTF-8 (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF). */
bool nt_pretok_utf8_valid(const char *text, size_t len);

/* Where a rewritten sequence ends, in the sanitized and original text. */
typedef struct nt_pretok_fixup {
    size_t san_end;
    size_t orig_end;
} nt_pretok_fixup;

typedef struct nt_pretok_sanitized {
    char *text; /* valid UTF-8 */
    size_t len;
    nt_pretok_fixup *fixups; /* one per rewritten sequence, increasing */
    size_t n_fixups;
} nt_pretok_sanitized;

/* Decode text[0..len) as llama.cpp's unicode_cpts_from_utf8 does and write
 * the result as valid UTF-8:
 *  - a lead byte followed by enough continuation bytes is one code point,
 *    even when overlong (re-encoded in its shortest form); surrogates and
 *    values above U+10FFFF, which PCRE2 cannot take, become U+FFFD;
 *  - any other byte becomes one U+FFFD.
 * Well-formed sequences are copied unchanged. */
nexttok_status nt_pretok_utf8_sanitize(const char *text, size_t len, nt_pretok_sanitized *out);
void nt_pretok_sanitized_free(nt_pretok_sanitized *s);

/* Translates offsets of the sanitized text (at code point boundaries, in
 * non-decreasing order) back to the original text. */
typedef struct nt_pretok_offset_map {
    const nt_pretok_sanitized *s;
    size_t next; /* first fixup with san_end > the last offset asked */
} nt_pretok_offset_map;

static inline size_t nt_pretok_offset_map_orig(nt_pretok_offset_map *m, size_t san)
{
    const nt_pretok_fixup *f = m->s->fixups;
    while (m->next < m->s->n_fixups && f[m->next].san_end <= san)
        m->next++;
    if (m->next == 0)
        return san;
    return f[m->next - 1].orig_end + (san - f[m->next - 1].san_end);
}

#endif
