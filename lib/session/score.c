/* Scoring given tokens (log-softmax, rank, greedy) and sliding-window
 * perplexity built on it. */
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
    if ((st = nt_session_room_check(s, n_tokens)) || (st = nt_session_tokens_check(s, tokens, n_tokens))) return st;
    const int32_t n_vocab = s->model->hp.n_vocab;

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
        st = nexttok_session_feed(s, tokens + fed, c, rows, chunk * (size_t)n_vocab); /* checked above: only a cancel stops it */
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

static const nexttok_perplexity_params nt_perplexity_defaults = {.struct_size = sizeof(nexttok_perplexity_params)};

NEXTTOK_API void nexttok_perplexity_params_init(nexttok_perplexity_params *params, size_t struct_size)
{
    nt_params_init(params, struct_size, &nt_perplexity_defaults, sizeof nt_perplexity_defaults);
}

/* The windows' bounds, as the header defines them: window w is
 * [w*S, min(w*S + N, n)) and scores from max(end of the previous window,
 * its start + 1). The last window is the first to reach n. */
static size_t window_count(size_t n, size_t N, size_t S)
{
    return n <= N ? 1 : 1 + (n - N + S - 1) / S;
}

static nexttok_status perplexity_run(nexttok_session *s, const int32_t *tokens, size_t n_tokens, int64_t n_bytes,
                                     const nexttok_perplexity_params *params, nexttok_perplexity_info *info,
                                     const char *fn)
{
    nexttok_perplexity_params p = nt_perplexity_defaults;
    nexttok_status st = nt_params_merge(&p, sizeof p, params, fn);
    if (st == NEXTTOK_OK) st = check_info_size(info, fn);
    if (st != NEXTTOK_OK) return st;
    if (!info) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: info must not be NULL", fn);
    const int32_t N = p.n_window ? p.n_window : s->n_ctx;
    if (N < 2 || N > s->n_ctx)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: window of %d tokens outside [2, %d] (the session's n_ctx)", fn,
                       N, s->n_ctx);
    const int32_t S = p.stride ? p.stride : N / 2;
    if (S < 1 || S > N)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: stride %d outside [1, %d] (the window)", fn, S, N);
    if (n_tokens < 2)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: %zu token%s: nothing to score (the first token never is)", fn,
                       n_tokens, n_tokens == 1 ? "" : "s");
    st = nt_session_tokens_check(s, tokens, n_tokens);
    if (st != NEXTTOK_OK) return st;
    nexttok_token_score *scores = nt_malloc_array((size_t)N, sizeof *scores);
    if (!scores) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "%s: out of memory", fn);

    const size_t n_windows = window_count(n_tokens, (size_t)N, (size_t)S);
    /* Welford's running mean and squared deviations: a two-sums variance
     * cancels badly when the NLLs are large and close together. */
    double mean = 0.0, m2 = 0.0, sum = 0.0;
    int64_t count = 0;
    size_t prev_end = 0, w = 0;
    for (;;) {
        const size_t begin = w * (size_t)S;
        const size_t end = begin + (size_t)N < n_tokens ? begin + (size_t)N : n_tokens;
        const size_t first = prev_end > begin + 1 ? prev_end : begin + 1;
        if (first < end) {
            st = nexttok_session_reset(s);
            if (st == NEXTTOK_OK) st = nexttok_session_feed(s, tokens + begin, first - begin, NULL, 0);
            if (st == NEXTTOK_OK) st = nexttok_session_score(s, tokens + first, end - first, scores, (size_t)N, NULL);
            if (st != NEXTTOK_OK) break;
            for (size_t k = 0; k < end - first; k++) {
                const double x = -scores[k].logprob;
                count++;
                sum += x;
                const double d = x - mean;
                mean += d / (double)count;
                m2 += d * (x - mean);
            }
        }
        prev_end = end;
        w++;
        if (p.progress && p.progress((float)((double)w / (double)n_windows), p.progress_user_data)) {
            st = nt_fail(NEXTTOK_ERR_CANCELLED, "%s: cancelled by the progress callback after window %zu of %zu", fn, w,
                         n_windows);
            break;
        }
        if (end == n_tokens) break;
    }
    nt_free(scores);
    if (st != NEXTTOK_OK) return st;

    const double se = count > 1 ? sqrt(m2 / (double)(count - 1) / (double)count) : 0.0;
    const double ppl = exp(mean);
    const nexttok_perplexity_info full = {
        .struct_size = sizeof full,
        .perplexity = ppl,
        .perplexity_se = ppl * se,
        .nll_mean = mean,
        .nll_se = se,
        .nll_sum = sum,
        .bits_per_byte = n_bytes > 0 ? sum / log(2.0) / (double)n_bytes : 0.0,
        .n_tokens = (int64_t)n_tokens,
        .n_scored = count,
        .n_bytes = n_bytes,
        .n_windows = (int32_t)w,
        .n_window = N,
        .stride = S,
    };
    return nt_info_fill(info, &full, sizeof full, fn);
}

NEXTTOK_API nexttok_status nexttok_session_perplexity_compute(nexttok_session *s, const int32_t *tokens,
                                                              size_t n_tokens, const nexttok_perplexity_params *params,
                                                              nexttok_perplexity_info *info)
{
    static const char fn[] = "nexttok_session_perplexity_compute";
    nt_error_clear();
    if (!s || (!tokens && n_tokens))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: session and tokens must not be NULL", fn);
    return perplexity_run(s, tokens, n_tokens, 0, params, info, fn);
}

NEXTTOK_API nexttok_status nexttok_session_text_perplexity_compute(nexttok_session *s,
                                                                   const nexttok_tokenizer *tokenizer,
                                                                   const char *text, size_t len,
                                                                   const nexttok_perplexity_params *params,
                                                                   nexttok_perplexity_info *info)
{
    static const char fn[] = "nexttok_session_text_perplexity_compute";
    nt_error_clear();
    if (!s || !tokenizer || (!text && len))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: session, tokenizer and text must not be NULL", fn);
    /* A token covers at least one byte, plus BOS/EOS; the tokenizer says
     * when that is not enough and how much is. */
    size_t cap = len + 8, n = 0;
    int32_t *ids = nt_malloc_array(cap, sizeof *ids);
    if (!ids) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "%s: out of memory for %zu token ids", fn, cap);
    nexttok_status st = nexttok_tokenizer_encode(tokenizer, text ? text : "", len, NEXTTOK_ENCODE_ADD_SPECIAL, ids, cap, &n);
    if (st == NEXTTOK_ERR_BUFFER_TOO_SMALL && n > cap) {
        nt_free(ids);
        cap = n;
        ids = nt_malloc_array(cap, sizeof *ids);
        if (!ids) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "%s: out of memory for %zu token ids", fn, cap);
        st = nexttok_tokenizer_encode(tokenizer, text ? text : "", len, NEXTTOK_ENCODE_ADD_SPECIAL, ids, cap, &n);
    }
    if (st == NEXTTOK_OK) st = perplexity_run(s, ids, n, (int64_t)len, params, info, fn);
    else nt_error_prefix("%s: tokenizing the text", fn);
    nt_free(ids);
    return st;
}
