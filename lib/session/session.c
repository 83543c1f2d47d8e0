/* Session lifecycle, feeding, rewinding, and the logits it exposes. */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/params.h"
#include "forward/forward.h"
#include "sampling/probs.h"
#include "session/session.h"

static const nexttok_session_params nt_session_defaults = {.struct_size = sizeof(nexttok_session_params)};

NEXTTOK_API void nexttok_session_params_init(nexttok_session_params *params, size_t struct_size)
{
    nt_params_init(params, struct_size, &nt_session_defaults, sizeof nt_session_defaults);
}

NEXTTOK_API void nexttok_session_free(nexttok_session *s)
{
    if (!s) return;
    nt_pool_free(s->pool);
    nt_free(s->tokens);
    nt_free(s->k_cache);
    nt_free(s->v_cache);
    nt_free(s->logits);
    nt_scratch *sc = &s->scratch;
    nt_free(sc->x);
    nt_free(sc->xb);
    nt_free(sc->xb2);
    nt_free(sc->qkv);
    nt_free(sc->hb);
    nt_free(sc->hb2);
    nt_free(sc->att);
    nt_free(s);
}

/* count * width floats, 64-byte aligned for the SIMD kernels. */
static float *floats(int64_t count, int64_t width)
{
    if (count <= 0 || width <= 0 || (uint64_t)count > SIZE_MAX / sizeof(float) / (uint64_t)width) return NULL;
    return nt_aligned_alloc(64, (size_t)count * (size_t)width * sizeof(float));
}

NEXTTOK_API nexttok_status nexttok_session_create(const nexttok_model *m, const nexttok_session_params *params,
                                                  nexttok_session **session_out)
{
    nt_error_clear();
    if (session_out) *session_out = NULL;
    if (!m || !session_out) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_session_create: model and session_out must not be NULL");
    nexttok_session_params p = nt_session_defaults;
    nexttok_status pst = nt_params_merge(&p, sizeof p, params, "nexttok_session_create");
    if (pst != NEXTTOK_OK) return pst;
    if (!m->runnable)
        return nt_fail(NEXTTOK_ERR_STATE, "nexttok_session_create: the model was opened metadata-only and cannot run");
    const nt_hparams *hp = &m->hp;
    if (p.n_ctx < 0 || p.n_ctx > hp->n_ctx_train)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_session_create: n_ctx %d outside [1, %d] (the model's trained context)",
                       p.n_ctx, hp->n_ctx_train);
    if (p.n_threads < 0)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_session_create: n_threads %d is negative", p.n_threads);

    nexttok_session *s = nt_calloc(1, sizeof *s);
    if (!s) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory");
    s->model = m;
    s->n_ctx = p.n_ctx ? p.n_ctx : hp->n_ctx_train;
    s->kv_dim = hp->n_head_kv * hp->head_dim;
    const int64_t cache_rows = (int64_t)hp->n_layer * s->n_ctx;
    nt_scratch *sc = &s->scratch;
    s->tokens = nt_malloc_array((size_t)s->n_ctx, sizeof *s->tokens);
    s->k_cache = floats(cache_rows, s->kv_dim);
    s->v_cache = floats(cache_rows, s->kv_dim);
    s->logits = floats(1, hp->n_vocab);
    sc->x = floats(NT_BATCH, hp->n_embd);
    sc->xb = floats(NT_BATCH, hp->n_embd);
    sc->xb2 = floats(NT_BATCH, hp->n_embd);
    sc->qkv = floats(NT_BATCH, hp->n_embd + 2 * (int64_t)s->kv_dim);
    sc->hb = floats(NT_BATCH, hp->n_ff);
    sc->hb2 = floats(NT_BATCH, hp->n_ff);
    sc->att = floats(hp->n_head, s->n_ctx);
    if (!s->tokens || !s->k_cache || !s->v_cache || !s->logits || !sc->x || !sc->xb || !sc->xb2 ||
        !sc->qkv || !sc->hb || !sc->hb2 || !sc->att) {
        nexttok_session_free(s);
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory for a session of %d positions", p.n_ctx ? p.n_ctx : hp->n_ctx_train);
    }
    nexttok_status st = nt_pool_create(p.n_threads, &s->pool);
    if (st != NEXTTOK_OK) {
        nexttok_session_free(s);
        return st;
    }
    *session_out = s;
    return NEXTTOK_OK;
}

static void forward(nexttok_session *s, const int32_t *tokens, int32_t n, float *rows)
{
    if (s->model->arch == NT_ARCH_GPT2) nt_forward_gpt2(s, tokens, n, rows);
    else nt_forward_llama(s, tokens, n, rows);
}

NEXTTOK_API nexttok_status nexttok_session_feed(nexttok_session *s, const int32_t *tokens, size_t n_tokens,
                                                float *logits_out)
{
    nt_error_clear();
    if (!s || (!tokens && n_tokens))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_session_feed: session and tokens must not be NULL");
    if (n_tokens == 0) return NEXTTOK_OK;
    if (n_tokens > (size_t)(s->n_ctx - s->pos))
        return nt_fail(NEXTTOK_ERR_CONTEXT_FULL, "context full: %zu tokens at position %d exceed the session's %d positions",
                       n_tokens, s->pos, s->n_ctx);
    const int32_t n_vocab = s->model->hp.n_vocab;
    for (size_t i = 0; i < n_tokens; i++)
        if (tokens[i] < 0 || tokens[i] >= n_vocab)
            return nt_fail(NEXTTOK_ERR_TOKEN_RANGE, "token %d at index %zu is outside the vocabulary [0, %d)",
                           tokens[i], i, n_vocab);

    for (size_t done = 0; done < n_tokens;) {
        int32_t n = (int32_t)(n_tokens - done < NT_BATCH ? n_tokens - done : NT_BATCH);
        memcpy(s->tokens + s->pos, tokens + done, (size_t)n * sizeof *tokens);
        forward(s, tokens + done, n, logits_out ? logits_out + done * (size_t)n_vocab : NULL);
        s->pos += n;
        done += (size_t)n;
    }
    s->has_logits = true;
    return NEXTTOK_OK;
}

NEXTTOK_API nexttok_status nexttok_session_logits_get(const nexttok_session *s, const float **logits_out)
{
    nt_error_clear();
    if (logits_out) *logits_out = NULL;
    if (!s || !logits_out) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_session_logits_get: session and logits_out must not be NULL");
    if (!s->has_logits) return nt_fail(NEXTTOK_ERR_STATE, "no logits: nothing has been fed to the session");
    *logits_out = s->logits;
    return NEXTTOK_OK;
}

NEXTTOK_API int32_t nexttok_session_position_get(const nexttok_session *s) { return s ? s->pos : 0; }
NEXTTOK_API int32_t nexttok_session_n_ctx_get(const nexttok_session *s) { return s ? s->n_ctx : 0; }

NEXTTOK_API nexttok_status nexttok_session_rewind(nexttok_session *s, int32_t n_pos)
{
    nt_error_clear();
    if (!s) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_session_rewind: session must not be NULL");
    if (n_pos < 0 || n_pos > s->pos)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_session_rewind: position %d outside [0, %d]", n_pos, s->pos);
    if (n_pos == s->pos) return NEXTTOK_OK;
    s->pos = n_pos;
    s->has_logits = false;
    if (n_pos == 0) return NEXTTOK_OK;
    /* Recompute the logits after token n_pos-1: its K/V row is rewritten with
     * the same values, since the forward pass is deterministic. */
    s->pos = n_pos - 1;
    forward(s, s->tokens + n_pos - 1, 1, NULL);
    s->pos = n_pos;
    s->has_logits = true;
    return NEXTTOK_OK;
}

NEXTTOK_API nexttok_status nexttok_session_reset(nexttok_session *s)
{
    return nexttok_session_rewind(s, 0);
}

const nexttok_model *nt_session_model(const nexttok_session *s) { return s ? s->model : NULL; }
