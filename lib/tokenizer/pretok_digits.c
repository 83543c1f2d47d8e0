/* Digit groups of three from the right, without PCRE2's quadratic rescans.
 *
 * Why this is the same as the regex: at a digit, \d{1,3} takes k digits and
 * the look-ahead needs a multiple of three digits and then a word boundary.
 * Inside a run of \d the only place a boundary can be is the run's end
 * (digits are word characters), so a match exists iff the character after
 * the run is not a word character (or the piece ends there), and then k is
 * the run's length (from the match start) mod 3, or 3. If the run is
 * followed by a word character, no position in it matches. \d and \w are
 * PCRE2's own (UCP), so both agree on every character. */
#include "tokenizer/pretok_digits.h"

#include <stdint.h>

#include "core/alloc.h"
#include "core/error.h"

struct nt_pretok_digits {
    pcre2_code *run;  /* \d+ */
    pcre2_code *word; /* \w, anchored */
};

static pcre2_code *compile(const char *re, uint32_t extra, pcre2_general_context *gctx)
{
    pcre2_compile_context *cctx = pcre2_compile_context_create(gctx);
    if (!cctx)
        return NULL;
    int err;
    PCRE2_SIZE at;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP | extra,
                                  &err, &at, cctx);
    pcre2_compile_context_free(cctx);
    if (c)
        (void)pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
    return c;
}

nexttok_status nt_pretok_digits_create(pcre2_general_context *gctx, nt_pretok_digits **out)
{
    *out = NULL;
    nt_pretok_digits *d = nt_calloc(1, sizeof *d);
    if (!d)
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "pre-tokenizer: no memory");
    d->run = compile("\\d+", 0, gctx);
    d->word = compile("\\w", PCRE2_ANCHORED, gctx);
    if (!d->run || !d->word) {
        nt_pretok_digits_free(d);
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "pre-tokenizer: cannot compile the digit-group matcher");
    }
    *out = d;
    return NEXTTOK_OK;
}

void nt_pretok_digits_free(nt_pretok_digits *d)
{
    if (!d)
        return;
    pcre2_code_free(d->run);
    pcre2_code_free(d->word);
    nt_free(d);
}

/* The end of k code points from `at` (all inside [at, end)). */
static size_t skip_cps(PCRE2_SPTR s, size_t at, size_t end, size_t k)
{
    while (k > 0 && at < end) {
        at++;
        while (at < end && (s[at] & 0xC0) == 0x80)
            at++;
        k--;
    }
    return at;
}

int nt_pretok_digits_find(const nt_pretok_digits *d, nt_pretok_digits_state *st, PCRE2_SPTR subject,
                          size_t len, size_t start, pcre2_match_data *md, pcre2_match_context *mctx,
                          size_t *ms, size_t *me)
{
    /* Inside a run already cut: what is left is a multiple of three. */
    if (st->subject == subject && start < st->run_end) {
        *ms = start;
        *me = skip_cps(subject, start, st->run_end, 3);
        return 1;
    }
    size_t pos = start;
    while (pos < len) {
        int rc = pcre2_match(d->run, subject, len, pos, PCRE2_NO_UTF_CHECK, md, mctx);
        if (rc < 0)
            return rc;
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t a = ov[0], b = ov[1];
        if (b < len) {
            rc = pcre2_match(d->word, subject, len, b, PCRE2_NO_UTF_CHECK, md, mctx);
            if (rc >= 0) { /* a word character follows: no boundary */
                pos = b;
                continue;
            }
            if (rc != PCRE2_ERROR_NOMATCH)
                return rc;
        }
        size_t n = 0;
        for (size_t i = a; i < b; i++)
            n += (subject[i] & 0xC0) != 0x80;
        st->subject = subject;
        st->run_end = b;
        *ms = a;
        *me = skip_cps(subject, a, b, (n - 1) % 3 + 1);
        return 1;
    }
    return PCRE2_ERROR_NOMATCH;
}
