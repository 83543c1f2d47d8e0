/* Splitting an input into text and raw stretches (see plan.h). */
#include "zip/plan.h"

#include <string.h>

#include "core/alloc.h"
#include "core/error.h"

static bool grow(void **p, size_t *cap, size_t want, size_t elem)
{
    if (want <= *cap) return true;
    size_t n = *cap ? *cap : 64;
    while (n < want) n *= 2;
    void *q = nt_realloc(*p, n * elem);
    if (!q) return false;
    *p = q;
    *cap = n;
    return true;
}

bool nt_zip_plan_tokens(const nexttok_tokenizer *tok, const unsigned char *s, size_t len, nt_zip_plan *plan,
                        size_t *n_out, nexttok_status *st)
{
    *st = NEXTTOK_OK;
    *n_out = 0;
    if (len == 0) return false;
    size_t n = 0;
    nexttok_status r = nexttok_tokenizer_encode(tok, (const char *)s, len, 0, plan->tokens, plan->tokens_cap, &n);
    if (r == NEXTTOK_ERR_BUFFER_TOO_SMALL) {
        if (!grow((void **)&plan->tokens, &plan->tokens_cap, n, sizeof *plan->tokens)) {
            *st = nt_fail(NEXTTOK_ERR_NO_MEMORY, "zip: out of memory for %zu tokens", n);
            return false;
        }
        r = nexttok_tokenizer_encode(tok, (const char *)s, len, 0, plan->tokens, plan->tokens_cap, &n);
    }
    if (r != NEXTTOK_OK) {
        *st = r;
        return false;
    }
    if (n == 0 || n > len) return false;
    if (!grow((void **)&plan->text, &plan->text_cap, len, 1)) {
        *st = nt_fail(NEXTTOK_ERR_NO_MEMORY, "zip: out of memory for %zu bytes", len);
        return false;
    }
    size_t got = 0;
    r = nexttok_tokenizer_decode(tok, plan->tokens, n, 0, plan->text, len, &got);
    if (r == NEXTTOK_ERR_BUFFER_TOO_SMALL) return false; /* decodes longer: not this text */
    if (r != NEXTTOK_OK) {
        *st = r;
        return false;
    }
    if (got != len || memcmp(plan->text, s, len) != 0) return false;
    *n_out = n;
    return true;
}

static nexttok_status add(nt_zip_plan *plan, size_t start, size_t len, bool text)
{
    if (len == 0) return NEXTTOK_OK;
    if (!text && plan->n > 0) { /* raw next to raw: one stretch */
        nt_zip_seg *last = &plan->segs[plan->n - 1];
        if (!last->text && last->start + last->len == start && last->len + len <= NT_ZIP_RAW_MAX) {
            last->len += len;
            return NEXTTOK_OK;
        }
    }
    if (!grow((void **)&plan->segs, &plan->cap, plan->n + 1, sizeof *plan->segs))
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "zip: out of memory for the plan");
    plan->segs[plan->n++] = (nt_zip_seg){start, len, text};
    return NEXTTOK_OK;
}

/* Where to cut [s, s + len) near its middle: after the line break or
 * space closest to it, else at the character boundary before it. */
static size_t cut_point(const unsigned char *in, size_t s, size_t len)
{
    const size_t mid = s + len / 2;
    for (int pass = 0; pass < 2; pass++) {
        const unsigned char c = pass == 0 ? '\n' : ' ';
        for (size_t d = 0; d < len / 2; d++) {
            if (mid - d > s && in[mid - d - 1] == c) return mid - d;
            if (mid + d < s + len - 1 && in[mid + d] == c) return mid + d + 1;
        }
    }
    size_t p = mid;
    for (int k = 0; k < 3 && p > s + 1 && (in[p] & 0xc0) == 0x80; k++) p--;
    return p;
}

static nexttok_status plan_range(const nexttok_tokenizer *tok, const unsigned char *in, size_t s, size_t len,
                                 nt_zip_plan *plan)
{
    if (len <= NT_ZIP_SEG_MAX) {
        size_t n;
        nexttok_status st;
        if (nt_zip_plan_tokens(tok, in + s, len, plan, &n, &st)) return add(plan, s, len, true);
        if (st != NEXTTOK_OK) return st;
        if (len <= NT_ZIP_RAW_MIN) return add(plan, s, len, false);
    }
    const size_t c = cut_point(in, s, len);
    nexttok_status st = plan_range(tok, in, s, c - s, plan);
    if (st == NEXTTOK_OK) st = plan_range(tok, in, c, s + len - c, plan);
    return st;
}

nexttok_status nt_zip_plan_make(const nexttok_tokenizer *tok, const unsigned char *in, size_t len, nt_zip_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    if (len == 0) return NEXTTOK_OK;
    return plan_range(tok, in, 0, len, plan);
}

void nt_zip_plan_free(nt_zip_plan *plan)
{
    nt_free(plan->segs);
    nt_free(plan->tokens);
    nt_free(plan->text);
    memset(plan, 0, sizeof *plan);
}
