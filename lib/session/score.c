/* Scoring given tokens: log-softmax, rank, greedy. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/params.h"
#include "session/session.h"

/* Rows of logits held at once while scoring: a 150k vocabulary at the
 * default batch of 512 would otherwise need 300 MB. */
#define NT_SCORE_ROWS_BYTES ((size_t)64 << 20)

/* Score `token` against one row of logits. The row's maximum is taken out
 * before exponentiating so the sum cannot overflow, and the sum runs in
 * double: with 100k+ terms float accumulation loses the digits a
 * log-likelihood comparison between endings depends on. */
static nexttok_token_score score_row(const float *row, int32_t n_vocab, int32_t token)
{
    float max = row[0];
    for (int32_t i = 1; i < n_vocab; i++)
        if (row[i] > max) max = row[i];
    const float x = row[token];
    double sum = 0.0;
    int32_t higher = 0;
    for (int32_t i = 0; i < n_vocab; i++) {
        sum += exp((double)row[i] - (double)max);
        higher += row[i] > x;
    }
    const nexttok_token_score sc = {
        .token = token,
        .rank = 1 + higher,
        .greedy = higher == 0,
        .logprob = ((double)x - (double)max) - log(sum),
    };
    return sc;
}

/* The running totals of a scoring call; scores may be NULL. */
typedef struct score_acc {
    nexttok_token_score *scores;
    size_t n;
    double sum;
    int32_t n_greedy;
} score_acc;

static void score_add(score_acc *a, nexttok_token_score sc)
{
    if (a->scores) a->scores[a->n] = sc;
    a->n++;
    a->sum += sc.logprob;
    a->n_greedy += sc.greedy;
}

/* The struct_size check of an info struct, done before anything changes
 * so that a bad one leaves the session as it was. */
static nexttok_status check_info_size(const void *info, const char *fn)
{
    size_t size;
    if (!info) return NEXTTOK_OK;
    memcpy(&size, info, sizeof size);
    if (size < sizeof(size_t))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: info->struct_size %zu is too small (set it to sizeof the struct)",
                       fn, size);
    return NEXTTOK_OK;
}

NEXTTOK_API nexttok_status nexttok_session_score(nexttok_session *s, const int32_t *tokens, size_t n_tokens,
                                                 nexttok_token_score *scores, size_t capacity,
                                                 nexttok_score_info *info)
{
    static const char fn[] = "nexttok_session_score";
    nt_error_clear();
    if (!s || (!tokens && n_tokens))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: session and tokens must not be NULL", fn);
    if (!scores && capacity)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: scores is NULL but capacity is %zu", fn, capacity);
    nexttok_status st = check_info_size(info, fn);
    if (st != NEXTTOK_OK) return st;
    if (scores && capacity < n_tokens)
        return nt_fail(NEXTTOK_ERR_BUFFER_TOO_SMALL, "%s: room for %zu scores, need %zu", fn, capacity, n_tokens);
    nexttok_score_info full = {.struct_size = sizeof full, .greedy = 1};
    if (n_tokens == 0) return info ? nt_info_fill(info, &full, sizeof full, fn) : NEXTTOK_OK;
    if (!s->has_logits)
        return nt_fail(NEXTTOK_ERR_STATE, "%s: the session holds no logits to score the first token with (feed a context, "
                                          "at least a BOS, first)", fn);
    if (n_tokens > (size_t)(s->n_ctx - s->pos))
        return nt_fail(NEXTTOK_ERR_CONTEXT_FULL, "context full: %zu tokens at position %d exceed the session's %d positions",
                       n_tokens, s->pos, s->n_ctx);
    const int32_t n_vocab = s->model->hp.n_vocab;
    for (size_t i = 0; i < n_tokens; i++)
        if (tokens[i] < 0 || tokens[i] >= n_vocab)
            return nt_fail(NEXTTOK_ERR_TOKEN_RANGE, "token %d at index %zu is outside the vocabulary [0, %d)", tokens[i], i,
                           n_vocab);

    size_t chunk = (size_t)s->run->batch;
    const size_t row_bytes = (size_t)n_vocab * sizeof(float);
    if (chunk * row_bytes > NT_SCORE_ROWS_BYTES) chunk = NT_SCORE_ROWS_BYTES / row_bytes ? NT_SCORE_ROWS_BYTES / row_bytes : 1;
    if (chunk > n_tokens) chunk = n_tokens;
    float *rows = nt_malloc_array(chunk, row_bytes);
    if (!rows) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "%s: out of memory for %zu rows of logits", fn, chunk);

    /* Token j is scored with the row before it: the session's logits for
     * j = 0, then the row that feeding token j - 1 gave. */
    score_acc acc = {.scores = scores};
    score_add(&acc, score_row(s->logits, n_vocab, tokens[0]));
    for (size_t fed = 0; fed < n_tokens && st == NEXTTOK_OK;) {
        const size_t c = n_tokens - fed < chunk ? n_tokens - fed : chunk;
        st = nexttok_session_feed(s, tokens + fed, c, rows); /* checked above: cannot fail */
        for (size_t k = 0; k < c && st == NEXTTOK_OK && fed + k + 1 < n_tokens; k++)
            score_add(&acc, score_row(rows + k * (size_t)n_vocab, n_vocab, tokens[fed + k + 1]));
        fed += c;
    }
    nt_free(rows);
    if (st != NEXTTOK_OK) return st;
    full.logprob_sum = acc.sum;
    full.n_tokens = (int32_t)n_tokens;
    full.n_greedy = acc.n_greedy;
    full.greedy = (size_t)acc.n_greedy == n_tokens;
    return info ? nt_info_fill(info, &full, sizeof full, fn) : NEXTTOK_OK;
}

