/* Feeding a session: chunks of the run's batch through the forward pass,
 * each pass possibly stopped part-way by a deadline, the caller's callback
 * or nexttok_session_cancel, and resumed by the next feed of the same
 * tokens. */
#include <stdint.h>
#include <string.h>

#include "core/error.h"
#include "core/params.h"
#include "core/stop.h"
#include "forward/forward.h"
#include "kvcache/kvcache.h"
#include "session/session.h"

static const nexttok_feed_params nt_feed_defaults = {.struct_size = sizeof(nexttok_feed_params)};

NEXTTOK_API void nexttok_feed_params_init(nexttok_feed_params *params, size_t struct_size)
{
    nt_params_init(params, struct_size, &nt_feed_defaults, sizeof nt_feed_defaults);
}

NEXTTOK_API int64_t nexttok_clock_ns(void) { return nt_clock_ns(); }

NEXTTOK_API nexttok_status nexttok_session_cancel(nexttok_session *s)
{
    /* no nt_error_clear on success: a thread that cancels another's feed
     * keeps its own last message */
    if (!s) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_session_cancel: session must not be NULL");
    atomic_store_explicit(&s->cancel, 1, memory_order_release);
    return NEXTTOK_OK;
}

/* Whether the stopped pass in the run is a chunk that feeding tokens[0..n)
 * at the session's position with these rows would start with. */
static bool resumes(const nexttok_session *s, const int32_t *tokens, size_t n, const float *rows)
{
    const nt_cursor *c = &s->run->cur;
    return c->pending && c->pos0 == s->pos && (size_t)c->n_tok <= n && c->all_logits == (rows != NULL) &&
           (!rows || c->logits == rows) &&
           memcmp(s->tokens + s->pos, tokens, (size_t)c->n_tok * sizeof *tokens) == 0;
}

/* One chunk of n <= batch tokens: a pass, or the rest of a stopped one. 0
 * when it ran to the end, else the status that stopped it (the pass is
 * then pending in the run state). */
static int feed_chunk(nexttok_session *s, const int32_t *tokens, int32_t n, bool resume, float *rows, nt_stop *stop)
{
    nt_run *run = s->run;
    int32_t pos[NT_BATCH];
    for (int32_t i = 0; i < n; i++) pos[i] = s->pos + i;
    run->cur.resume = resume;
    memcpy(s->tokens + s->pos, tokens, (size_t)n * sizeof *tokens);
    const nt_batch b = {.n_tok = n, .tokens = tokens, .pos = pos, .logits = rows ? rows : s->logits_next,
                        .all_logits = rows != NULL};
    run->stop = stop;
    nt_session_pass(s, run, &s->view, &b);
    run->stop = NULL;
    run->cur.resume = false;
    const int why = atomic_load_explicit(&stop->stopped, memory_order_acquire);
    if (why) {
        if (s->pos + n > s->kv_top) s->kv_top = s->pos + n;
        nt_cursor *c = &run->cur;
        c->pending = true;
        c->pos0 = s->pos;
        c->n_tok = n;
        c->all_logits = rows != NULL;
        c->logits = rows;
        return why;
    }
    run->cur.pending = false;
    const size_t V = (size_t)s->model->hp.n_vocab;
    if (rows) {
        memcpy(s->logits, rows + (size_t)(n - 1) * V, V * sizeof *s->logits);
    } else {
        float *t = s->logits;
        s->logits = s->logits_next;
        s->logits_next = t;
    }
    s->pos += n;
    s->has_logits = true;
    return 0;
}

/* The deadline of a call starting now: the earlier of the two limits. */
static int64_t deadline_of(const nexttok_feed_params *p)
{
    int64_t d = p->deadline_ns > 0 ? p->deadline_ns : 0;
    if (p->budget_ns > 0) {
        const int64_t b = nt_clock_ns() + p->budget_ns;
        if (!d || b < d) d = b;
    }
    return d;
}

/* NEXTTOK_CONTEXT_SHIFT and more tokens than room: feed what fits, shift,
 * feed on. Each step feeds at most the room a shift made, so every shift
 * makes room for the next step; a deadline or cancel stops it between or
 * inside steps, with the tokens consumed so far counted. */
static nexttok_status feed_shifting(nexttok_session *s, const int32_t *tokens, size_t n_tokens, float *logits_out,
                                    const nexttok_feed_params *p, size_t *n_consumed_out)
{
    const size_t n_vocab = (size_t)s->model->hp.n_vocab;
    /* one deadline for all the steps, not a budget each */
    nexttok_feed_params step = *p;
    step.deadline_ns = deadline_of(p);
    step.budget_ns = 0;
    size_t done = 0;
    nexttok_status st = NEXTTOK_OK;
    while (done < n_tokens) {
        size_t room = (size_t)(s->n_ctx - s->pos);
        if (room == 0) {
            if ((st = nt_session_shift(s, 1)) != NEXTTOK_OK) break;
            room = (size_t)(s->n_ctx - s->pos);
        }
        const size_t n = n_tokens - done < room ? n_tokens - done : room;
        size_t fed = 0;
        float *rows = logits_out ? logits_out + done * n_vocab : NULL;
        st = nexttok_session_feed_ex(s, tokens + done, n, rows, rows ? n * n_vocab : 0, &step, &fed);
        done += fed;
        if (st != NEXTTOK_OK) break;
    }
    if (n_consumed_out) *n_consumed_out = done;
    return st;
}

NEXTTOK_API nexttok_status nexttok_session_feed_ex(nexttok_session *s, const int32_t *tokens, size_t n_tokens,
                                                   float *logits_out, size_t logits_capacity,
                                                   const nexttok_feed_params *params, size_t *n_consumed_out)
{
    nt_error_clear();
    if (n_consumed_out) *n_consumed_out = 0;
    if (!s || (!tokens && n_tokens))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_session_feed: session and tokens must not be NULL");
    if (!logits_out && logits_capacity)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_session_feed: logits_out is NULL but logits_capacity is %zu",
                       logits_capacity);
    nexttok_feed_params p = nt_feed_defaults;
    nexttok_status st = nt_params_merge(&p, sizeof p, params, "nexttok_session_feed_ex");
    if (st != NEXTTOK_OK) return st;
    if (p.deadline_ns < 0 || p.budget_ns < 0)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_session_feed_ex: deadline_ns %lld and budget_ns %lld must not be negative",
                       (long long)p.deadline_ns, (long long)p.budget_ns);
    if (n_tokens == 0) return NEXTTOK_OK;
    const bool shifting = s->context_full == NEXTTOK_CONTEXT_SHIFT && n_tokens > (size_t)(s->n_ctx - s->pos);
    st = shifting ? NEXTTOK_OK : nt_session_room_check(s, n_tokens);
    if (st == NEXTTOK_OK) st = nt_session_tokens_check(s, tokens, n_tokens);
    if (st != NEXTTOK_OK) return st;
    const size_t n_vocab = (size_t)s->model->hp.n_vocab;
    if (logits_out && (n_tokens > SIZE_MAX / n_vocab || logits_capacity / n_vocab < n_tokens))
        return nt_fail(NEXTTOK_ERR_BUFFER_TOO_SMALL,
                       "nexttok_session_feed: logits_out holds %zu floats, %zu tokens x %zu logits need more",
                       logits_capacity, n_tokens, n_vocab);
    if (shifting) return feed_shifting(s, tokens, n_tokens, logits_out, &p, n_consumed_out);
    /* every page the feed writes, before anything is fed: all or nothing */
    st = nt_kv_prepare(&s->kv, s->pos, (int32_t)n_tokens);
    if (st != NEXTTOK_OK) return st;

    nt_stop stop = {.deadline_ns = deadline_of(&p), .cancel = &s->cancel, .check = p.check, .user = p.user_data};
    stop.part_ns = nt_stop_part_ns(&stop, nt_clock_ns());
    const size_t V = (size_t)s->model->hp.n_vocab;
    /* passes of the run's batch, or of NT_PART_TOKENS under a deadline */
    size_t B = (size_t)s->run->batch;
    if (stop.deadline_ns && B > NT_PART_TOKENS) B = NT_PART_TOKENS;
    size_t done = 0;
    int why = 0;
    while (done < n_tokens && !why) {
        float *rows = logits_out ? logits_out + done * V : NULL;
        /* a stopped chunk these tokens begin with goes on, whatever its size */
        const bool resume = resumes(s, tokens + done, n_tokens - done, rows);
        const int32_t n = resume ? s->run->cur.n_tok : (int32_t)(n_tokens - done < B ? n_tokens - done : B);
        why = feed_chunk(s, tokens + done, n, resume, rows, &stop);
        if (!why) done += (size_t)n;
    }
    if (n_consumed_out) *n_consumed_out = done;
    if (why == NEXTTOK_ERR_DEADLINE)
        return nt_fail(NEXTTOK_ERR_DEADLINE,
                       "the time budget ran out after %zu of %zu tokens (position %d); feed the rest to resume",
                       done, n_tokens, s->pos);
    if (why == NEXTTOK_ERR_CANCELLED) {
        atomic_store_explicit(&s->cancel, 0, memory_order_release);
        return nt_fail(NEXTTOK_ERR_CANCELLED, "the feed was cancelled after %zu of %zu tokens (position %d)", done,
                       n_tokens, s->pos);
    }
    return NEXTTOK_OK;
}

NEXTTOK_API nexttok_status nexttok_session_feed(nexttok_session *s, const int32_t *tokens, size_t n_tokens,
                                                float *logits_out, size_t logits_capacity)
{
    return nexttok_session_feed_ex(s, tokens, n_tokens, logits_out, logits_capacity, NULL, NULL);
}
