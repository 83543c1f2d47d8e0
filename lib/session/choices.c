/* Multiple choice as lm-evaluation-harness scores it: the context fed
 * once, each ending scored after a rewind back to it, with the ending's
 * tokens those of tokenize(context + ending) after tokenize(context)
 * (sampling/choice_split.h). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/params.h"
#include "nexttok.h"
#include "sampling/choice_split.h"

/* Unicode code points of UTF-8 bytes (a byte that does not continue a
 * character starts one, as an invalid byte counts as one). */
static int64_t code_points(const char *s, size_t n)
{
    int64_t c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
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

/* Score ending e: the tokens of context + ending after the context's
 * `skip`, from the context's position. */
static nexttok_status score_ending(nexttok_session *s, const nexttok_tokenizer *tok, const char *context, size_t clen,
                                   const char *ending, size_t elen, size_t e, size_t skip, int32_t n_ctx_pos,
                                   choice_work *w, nexttok_choice_score *out)
{
    static const char fn[] = "nexttok_session_choices_score";
    size_t n_whole = 0;
    nexttok_status st = nt_choice_joined_tokenize(tok, context, clen, ending, elen, &w->text, &w->whole, &n_whole);
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
    /* the characters counted are the ending's own, as lm-eval counts them */
    out->n_chars = code_points(ending, elen);
    out->logprob_norm = out->logprob_sum / (double)out->n_chars;
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

    const char *ctx = context ? context : "";
    choice_work w = {0};
    size_t n_ctx = 0;
    nexttok_status st = nt_choice_tokenize(tok, ctx, nt_choice_context_kept(ctx, context_len), &w.ctx, &n_ctx);
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
    if (st == NEXTTOK_OK) st = nexttok_session_feed(s, w.ctx, n_ctx, NULL, 0);
    for (size_t e = 0; e < n_endings && st == NEXTTOK_OK; e++)
        st = score_ending(s, tok, ctx, context_len, endings[e], ending_lens[e], e, substituted ? 0 : n_ctx,
                          (int32_t)n_ctx, &w, &scores[e]);
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
