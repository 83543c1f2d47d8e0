/* Batched decode: one token to each of many sessions of one model in one
 * forward pass, so each weight row is read once for all of them. The pass
 * computes every token's row on its own (products, norms and attention
 * never mix rows), which is why each session's logits are bitwise those of
 * feeding it alone. */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "forward/forward.h"
#include "session/session.h"

/* The session whose run state (scratch, pool, fast-mode buffers) the batch
 * borrows: the one with the longest context, so its attention scratch
 * holds every session's keys; the first such. */
static size_t host_index(nexttok_session *const *ss, size_t n)
{
    size_t h = 0;
    for (size_t i = 1; i < n; i++)
        if (ss[i]->n_ctx > ss[h]->n_ctx) h = i;
    return h;
}

/* Everything that makes the batch refuse, checked before anything runs. */
static nexttok_status batch_check(nexttok_session *const *ss, const int32_t *tokens, size_t n)
{
    const nexttok_session *s0 = ss[0];
    for (size_t i = 0; i < n; i++) {
        const nexttok_session *s = ss[i];
        if (!s) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_sessions_feed: sessions[%zu] is NULL", i);
        for (size_t j = 0; j < i; j++)
            if (ss[j] == s)
                return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT,
                               "nexttok_sessions_feed: sessions[%zu] and sessions[%zu] are the same session", j, i);
        if (s->model != s0->model)
            return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT,
                           "nexttok_sessions_feed: sessions[%zu] is over another model than sessions[0]", i);
        if (s->precision != s0->precision)
            return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT,
                           "nexttok_sessions_feed: sessions[%zu] has precision %d, sessions[0] precision %d", i,
                           (int)s->precision, (int)s0->precision);
        if (s->kv.type != s0->kv.type)
            return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT,
                           "nexttok_sessions_feed: sessions[%zu] has kv_type %d, sessions[0] kv_type %d", i,
                           (int)s->kv_type, (int)s0->kv_type);
        if (s->run->long_rope != s0->run->long_rope)
            return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT,
                           "nexttok_sessions_feed: sessions[%zu] (n_ctx %d) and sessions[0] (n_ctx %d) lie on "
                           "different sides of the model's original context, so they rotate keys differently",
                           i, s->n_ctx, s0->n_ctx);
        /* a full session that shifts makes its room before the pass */
        nexttok_status st = s->context_full == NEXTTOK_CONTEXT_SHIFT ? NEXTTOK_OK : nt_session_room_check(s, 1);
        if (st == NEXTTOK_OK) st = nt_session_tokens_check(s, tokens + i, 1);
        if (st != NEXTTOK_OK) {
            nt_error_prefix("nexttok_sessions_feed: sessions[%zu]", i);
            return st;
        }
    }
    return NEXTTOK_OK;
}

/* Rows for n logits rows in the host's buffer, grown when the batch is
 * wider than any before (so steady decoding allocates nothing). */
static float *host_rows(nexttok_session *h, size_t n)
{
    const size_t V = (size_t)h->model->hp.n_vocab;
    if (h->batch_logits_rows < n) {
        if (n > SIZE_MAX / sizeof(float) / V) return NULL;
        float *rows = nt_aligned_alloc(64, n * V * sizeof *rows);
        if (!rows) return NULL;
        nt_free(h->batch_logits);
        h->batch_logits = rows;
        h->batch_logits_rows = n;
    }
    return h->batch_logits;
}

NEXTTOK_API nexttok_status nexttok_sessions_feed(nexttok_session *const *sessions, const int32_t *tokens,
                                                 size_t n_sessions, float *logits_out, size_t logits_capacity)
{
    nt_error_clear();
    if (!logits_out && logits_capacity)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT,
                       "nexttok_sessions_feed: logits_out is NULL but logits_capacity is %zu", logits_capacity);
    if (n_sessions == 0) return NEXTTOK_OK;
    if (!sessions || !tokens)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_sessions_feed: sessions and tokens must not be NULL");
    nexttok_status st = batch_check(sessions, tokens, n_sessions);
    if (st != NEXTTOK_OK) return st;
    const size_t n_vocab = (size_t)sessions[0]->model->hp.n_vocab;
    if (logits_out && (n_sessions > SIZE_MAX / n_vocab || logits_capacity < n_sessions * n_vocab))
        return nt_fail(NEXTTOK_ERR_BUFFER_TOO_SMALL,
                       "nexttok_sessions_feed: logits_out holds %zu floats, %zu sessions x %zu logits need more",
                       logits_capacity, n_sessions, n_vocab);

    nexttok_session *host = sessions[host_index(sessions, n_sessions)];
    const size_t V = (size_t)host->model->hp.n_vocab;
    const size_t B = (size_t)host->run->batch;
    float *rows = logits_out ? logits_out : host_rows(host, n_sessions < B ? n_sessions : B);
    if (!rows)
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "nexttok_sessions_feed: out of memory for %zu rows of logits",
                       n_sessions < B ? n_sessions : B);

    /* Room and KV pages for every session before any is fed (a fork's
     * shared page is copied here, the one place that can run out of
     * memory); a session shifted here stays shifted if a later one fails. */
    for (size_t i = 0; i < n_sessions; i++) {
        nexttok_session *s = sessions[i];
        if (s->pos == s->n_ctx && (st = nt_session_shift(s, 1)) != NEXTTOK_OK) {
            nt_error_prefix("nexttok_sessions_feed: sessions[%zu]", i);
            return st;
        }
        if ((st = nt_kv_prepare(&s->kv, s->pos, 1)) != NEXTTOK_OK) {
            nt_error_prefix("nexttok_sessions_feed: sessions[%zu]", i);
            return st;
        }
    }

    int32_t pos[NT_BATCH], seq[NT_BATCH];
    nt_kv_view views[NT_BATCH];
    for (size_t done = 0; done < n_sessions;) {
        const size_t n = n_sessions - done < B ? n_sessions - done : B;
        nexttok_session *const *ss = sessions + done;
        for (size_t i = 0; i < n; i++) {
            pos[i] = ss[i]->pos;
            seq[i] = (int32_t)i;
            views[i] = ss[i]->view;
        }
        float *out = logits_out ? logits_out + done * V : rows;
        const nt_batch b = {.n_tok = (int32_t)n, .tokens = tokens + done, .pos = pos, .seq = seq, .logits = out,
                            .all_logits = true};
        nt_session_pass(host, host->run, views, &b);
        for (size_t i = 0; i < n; i++) {
            nexttok_session *s = ss[i];
            memcpy(s->logits, out + i * V, V * sizeof *s->logits);
            s->tokens[s->pos] = tokens[done + i];
            s->pos++;
            s->has_logits = true;
        }
        done += n;
    }
    return NEXTTOK_OK;
}
