/* The session's next-token distribution: probabilities and top-k of its
 * current logits (the arithmetic is sampling's, in sampling/probs.c). */
#include "core/alloc.h"
#include "core/error.h"
#include "sampling/probs.h"
#include "session/session.h"

NEXTTOK_API nexttok_status nexttok_session_probs_get(const nexttok_session *s, float temperature,
                                                     float *probs_out, size_t n_probs)
{
    const float *logits;
    nexttok_status st = nexttok_session_logits_get(s, &logits);
    if (st != NEXTTOK_OK) return st;
    const int32_t n = s->model->hp.n_vocab;
    if (!probs_out || n_probs < (size_t)n)
        return nt_fail(NEXTTOK_ERR_BUFFER_TOO_SMALL, "nexttok_session_probs_get: buffer of %zu floats, need %d", n_probs, n);
    return nt_probs_compute(logits, n, temperature, probs_out);
}

NEXTTOK_API nexttok_status nexttok_session_topk_get(const nexttok_session *s, float temperature, size_t k,
                                                    nexttok_token_prob *out, size_t *n_out)
{
    const float *logits;
    if (n_out) *n_out = 0;
    nexttok_status st = nexttok_session_logits_get(s, &logits);
    if (st != NEXTTOK_OK) return st;
    if ((!out && k) || !n_out) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_session_topk_get: out and n_out must not be NULL");
    const int32_t n = s->model->hp.n_vocab;
    float *probs = nt_malloc_array((size_t)n, sizeof *probs);
    if (!probs) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory");
    st = nt_probs_compute(logits, n, temperature, probs);
    if (st == NEXTTOK_OK) *n_out = nt_topk_select(probs, n, k, out);
    nt_free(probs);
    return st;
}
