/* Multiple choice as lm-evaluation-harness scores it: the context fed
 * once, each ending scored after a rewind back to it, with the ending's
 * tokens those of tokenize(context + ending) after tokenize(context). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/params.h"
#include "nexttok.h"

/* Token ids of text with the vocabulary's BOS/EOS (nt_free them). */
static nexttok_status tokenize(const nexttok_tokenizer *tok, const char *text, size_t len, int32_t **ids, size_t *n)
{
    size_t cap = len + 8;
    for (int attempt = 0; attempt < 2; attempt++) {
        nt_free(*ids);
        *ids = nt_malloc_array(cap, sizeof **ids);
        if (!*ids) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory tokenizing %zu bytes", len);
        nexttok_status st = nexttok_tokenizer_encode(tok, text, len, NEXTTOK_ENCODE_ADD_SPECIAL, *ids, cap, n);
        if (st != NEXTTOK_ERR_BUFFER_TOO_SMALL || *n <= cap) return st;
        cap = *n;
    }
    return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "tokenizing: the token count kept growing");
}

/* Unicode code points of UTF-8 bytes (a byte that does not continue a
 * character starts one, as an invalid byte counts as one). */
static int64_t code_points(const char *s, size_t n)
{
    int64_t c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* lm-eval moves the context's trailing white space (ASCII's) to the
 * ending, so " Paris" is scored rather than "Paris" after a dangling
 * space. */
static size_t context_kept(const char *context, size_t len)
{
    while (len > 0 && strchr(" \t\n\r\v\f", context[len - 1]) && context[len - 1]) len--;
    return len;
}

typedef struct choice_work {
    int32_t *ctx, *whole;
    char *text;
    nexttok_token_score *scores;
} choice_work;

static void work_free(choice_work *w)
{
    nt_free(w->ctx);
    nt_free(w->whole);
    nt_free(w->text);
    nt_free(w->scores);
}

/* Score the text context + ending: its tokens after the context's `skip`,
 * from the context's position. */
static nexttok_status score_ending(nexttok_session *s, const nexttok_tokenizer *tok, const char *context, size_t clen,
                                   const char *ending, size_t elen, size_t e, size_t skip, int32_t n_ctx_pos,
                                   choice_work *w, nexttok_choice_score *out)
{
    static const char fn[] = "nexttok_session_choices_score";
    nt_free(w->text);
    w->text = nt_malloc(clen + elen + 1);
    if (!w->text) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "%s: out of memory", fn);
    memcpy(w->text, context, clen);
    memcpy(w->text + clen, ending, elen);
    size_t n_whole = 0;
    nexttok_status st = tokenize(tok, w->text, clen + elen, &w->whole, &n_whole);
    if (st != NEXTTOK_OK) return st;
    if (n_whole <= skip)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: ending %zu gives no tokens after the context's %zu", fn, e,
                       skip);
    const size_t n = n_whole - skip;
    nt_free(w->scores);
    w->scores = nt_malloc_array(n, sizeof *w->scores);
    if (!w->scores) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "%s: out of memory", fn);
    if ((st = nexttok_session_rewind(s, n_ctx_pos))) return st;
    nexttok_score_info info = {.struct_size = sizeof info};
    if ((st = nexttok_session_score(s, w->whole + skip, n, w->scores, n, &info))) {
        char why[512];
        snprintf(why, sizeof why, "%s", nexttok_error_message());
        return nt_fail(st, "%s: ending %zu (%zu tokens after the context's %zu): %s", fn, e, n, skip, why);
    }
    out->logprob_sum = info.logprob_sum;
    out->n_tokens = info.n_tokens;
    out->greedy = info.greedy;
    return NEXTTOK_OK;
}

NEXTTOK_API nexttok_status nexttok_session_choices_score(nexttok_session *s, const nexttok_tokenizer *tok,
                                                         const char *context, size_t context_len,
                                                         const char *const *endings, const size_t *ending_lens,
                                                         size_t n_endings, nexttok_choice_score *scores,
                                                         size_t capacity, nexttok_choices_info *info)
{
    static const char fn[] = "nexttok_session_choices_score";
    nt_error_clear();
    if (!s || !tok || (!context && context_len) || !endings || !ending_lens || !scores || !info)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT,
                       "%s: session, tokenizer, endings, ending_lens, scores and info must not be NULL", fn);
    if (n_endings == 0) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: no endings", fn);
    if (capacity < n_endings)
        return nt_fail(NEXTTOK_ERR_BUFFER_TOO_SMALL, "%s: room for %zu scores, need %zu", fn, capacity, n_endings);
    if (info->struct_size < sizeof(size_t))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: info->struct_size %zu is too small", fn, info->struct_size);
    for (size_t e = 0; e < n_endings; e++) {
        if (!endings[e] && ending_lens[e])
            return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: ending %zu is NULL", fn, e);
        if (code_points(endings[e], ending_lens[e]) == 0)
            return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: ending %zu is empty (acc_norm divides by its length)", fn, e);
    }

    const size_t kept = context_kept(context ? context : "", context_len), moved = context_len - kept;
    choice_work w = {0};
    size_t n_ctx = 0;
    nexttok_status st = tokenize(tok, context ? context : "", kept, &w.ctx, &n_ctx);
    /* A context that gives no tokens is replaced by an end-of-text token
     * (BOS, else EOS) that is not part of the text: nothing to skip. */
    const bool substituted = st == NEXTTOK_OK && n_ctx == 0;
    if (substituted) {
        const int32_t bos = nexttok_tokenizer_bos_get(tok), eos = nexttok_tokenizer_eos_get(tok);
        w.ctx[0] = bos >= 0 ? bos : eos;
        n_ctx = 1;
        if (w.ctx[0] < 0)
            st = nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: the context gives no tokens and the vocabulary has no BOS or EOS",
                         fn);
    }
    if (st == NEXTTOK_OK) st = nexttok_session_reset(s);
    if (st == NEXTTOK_OK) st = nexttok_session_feed(s, w.ctx, n_ctx, NULL);
    for (size_t e = 0; e < n_endings && st == NEXTTOK_OK; e++) {
        /* context + ending as one text: the context's kept part, its moved
         * white space, the ending */
        const size_t elen = ending_lens[e];
        char *joined = nt_malloc(moved + elen + 1);
        if (!joined) {
            st = nt_fail(NEXTTOK_ERR_NO_MEMORY, "%s: out of memory", fn);
            break;
        }
        memcpy(joined, context + kept, moved);
        if (elen) memcpy(joined + moved, endings[e], elen);
        st = score_ending(s, tok, context ? context : "", kept, joined, moved + elen, e, substituted ? 0 : n_ctx,
                          (int32_t)n_ctx, &w, &scores[e]);
        /* the characters counted are the ending's own, as lm-eval counts them */
        if (st == NEXTTOK_OK) {
            scores[e].n_chars = code_points(endings[e], elen);
            scores[e].logprob_norm = scores[e].logprob_sum / (double)scores[e].n_chars;
        }
        nt_free(joined);
    }
    work_free(&w);
    if (st != NEXTTOK_OK) return st;
    if ((st = nexttok_session_rewind(s, (int32_t)n_ctx))) return st;
    nexttok_choices_info full = {.struct_size = sizeof full, .n_context_tokens = (int32_t)n_ctx};
    for (size_t e = 1; e < n_endings; e++) {
        if (scores[e].logprob_sum > scores[full.best].logprob_sum) full.best = e;
        if (scores[e].logprob_norm > scores[full.best_norm].logprob_norm) full.best_norm = e;
    }
    return nt_info_fill(info, &full, sizeof full, fn);
}
