/* A linear-time matcher for the regex \d{1,3}(?=(?:\d{3})*\b) (digit groups
 * of three counted from the right, used by tiny_aya). Run by PCRE2 itself,
 * the look-ahead rescans the rest of the digit run at every match, which is
 * quadratic: minutes for a megabyte of digits. */
#ifndef NT_TOKENIZER_PRETOK_DIGITS_H
#define NT_TOKENIZER_PRETOK_DIGITS_H

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>
#include <stddef.h>

#include "nexttok.h"

/* The regex text this matcher stands in for, as in the type table. */
#define NT_PRETOK_RE_DIGIT_GROUPS "\\d{1,3}(?=(?:\\d{3})*\\b)"

typedef struct nt_pretok_digits nt_pretok_digits;

nexttok_status nt_pretok_digits_create(pcre2_general_context *gctx, nt_pretok_digits **out);
void nt_pretok_digits_free(nt_pretok_digits *d);

/* Remembers the digit run being cut, so each group costs O(1) after the
 * run was measured once. Zero it before a new subject. */
typedef struct nt_pretok_digits_state {
    PCRE2_SPTR subject;
    size_t run_end; /* the current run ends here and may be cut */
} nt_pretok_digits_state;

/* Like pcre2_match of the regex on subject[0..len) from `start`: returns 1
 * and sets [*ms, *me) for the first match, PCRE2_ERROR_NOMATCH, or another
 * PCRE2 error code. md must have room for one pair. */
int nt_pretok_digits_find(const nt_pretok_digits *d, nt_pretok_digits_state *st, PCRE2_SPTR subject,
                          size_t len, size_t start, pcre2_match_data *md, pcre2_match_context *mctx,
                          size_t *ms, size_t *me);

#endif
