/* Session lifecycle, feeding, rewinding, and the logits it exposes. */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/isa.h"
#include "core/params.h"
#include "forward/forward.h"
#include "kvcache/kvcache.h"
#include "types/types.h"
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
    if (s->owns_pool) nt_pool_free(s->pool);
    nt_run_free(s->run);
    nt_kvcache_release(&s->kv);
    nt_free(s->tokens);
    nt_free(s->logits);
    nt_free(s->batch_logits);
    nt_free(s->logits_next);
    nt_free(s);
}

/* True when some weight matrix of the model is of a quantized type. */
static bool has_quantized_weights(const nexttok_model *m)
{
    for (uint64_t i = 0; i < m->gguf->n_tensors; i++) {
        const nt_type_traits *tr = nt_type_traits_get(m->gguf->tensors[i].type);
        if (tr && tr->act != NT_ACT_F32 && m->gguf->tensors[i].n_dims >= 2) return true;
    }
    return false;
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
    if (p.precision < NEXTTOK_PRECISION_DEFAULT || p.precision > NEXTTOK_PRECISION_PORTABLE)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_session_create: precision %d is not a nexttok_precision",
                       p.precision);
    if (p.n_batch < 0 || p.n_batch > NT_BATCH)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_session_create: n_batch %d outside [0, %d]", p.n_batch,
                       NT_BATCH);
    bool kv_ok;
    const uint32_t kv_type = nt_kv_type_from_public(p.kv_type, &kv_ok);
    if (!kv_ok)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_session_create: kv_type %d is not a nexttok_kv_type", p.kv_type);

    if (p.context_full != NEXTTOK_CONTEXT_ERROR && p.context_full != NEXTTOK_CONTEXT_SHIFT)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_session_create: context_full %d is not a nexttok_context_full",
                       p.context_full);
    if (p.context_full == NEXTTOK_CONTEXT_SHIFT) {
        const int32_t n_ctx = p.n_ctx ? p.n_ctx : (hp->n_ctx_train < NEXTTOK_DEFAULT_N_CTX ? hp->n_ctx_train : NEXTTOK_DEFAULT_N_CTX);
        const char *why = nt_session_shift_refusal(m);
        if (why) return nt_fail(NEXTTOK_ERR_UNSUPPORTED, "nexttok_session_create: context shift: %s", why);
        if (p.n_keep < 0 || p.n_keep >= n_ctx)
            return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_session_create: n_keep %d outside [0, %d) (the context)",
                           p.n_keep, n_ctx);
        if (p.n_discard < 0 || p.n_discard > n_ctx - p.n_keep)
            return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_session_create: n_discard %d outside [0, %d] "
                           "(the context after n_keep)", p.n_discard, n_ctx - p.n_keep);
    }

    nexttok_session *s = nt_calloc(1, sizeof *s);
    if (!s) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory");
    s->model = m;
    s->n_ctx = p.n_ctx ? p.n_ctx : (hp->n_ctx_train < NEXTTOK_DEFAULT_N_CTX ? hp->n_ctx_train : NEXTTOK_DEFAULT_N_CTX);
    s->forward = nt_forward_for(m);
    s->kv_type = p.kv_type;
    s->context_full = p.context_full;
    s->n_keep = p.n_keep;
    s->n_discard = p.n_discard;
    s->precision = p.precision != NEXTTOK_PRECISION_DEFAULT ? (nexttok_precision)p.precision
                   : has_quantized_weights(m)             ? NEXTTOK_PRECISION_FAST
                                                          : NEXTTOK_PRECISION_EXACT;
    s->tokens = nt_malloc_array((size_t)s->n_ctx, sizeof *s->tokens);
    s->logits = nt_aligned_alloc(64, (size_t)hp->n_vocab * sizeof *s->logits);
    s->logits_next = nt_aligned_alloc(64, (size_t)hp->n_vocab * sizeof *s->logits_next);
    if (!s->tokens || !s->logits || !s->logits_next) {
        const int32_t n_ctx = s->n_ctx; /* not read from s once it is freed */
        nexttok_session_free(s);
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory for a session of %d positions", n_ctx);
    }
    nexttok_status st;
    if (p.pool) {
        s->pool = p.pool;
    } else {
        st = nt_pool_create(p.n_threads, &s->pool);
        if (st != NEXTTOK_OK) {
            nexttok_session_free(s);
            return st;
        }
        s->owns_pool = true;
    }
    st = nt_run_create(m, s->n_ctx, p.n_batch, s->pool, s->precision == NEXTTOK_PRECISION_FAST, &s->run);
    if (st == NEXTTOK_OK)
        st = nt_kvcache_init(&s->kv, kv_type, hp->n_layer, s->n_ctx, hp->n_head_kv, hp->head_dim, m->layer_windows,
                             s->run->batch);
    if (st != NEXTTOK_OK) {
        nexttok_session_free(s);
        return st;
    }
    s->view.cache = &s->kv;
    *session_out = s;
    return NEXTTOK_OK;
}

void nt_session_pass(const nexttok_session *s, nt_run *run, const nt_kv_view *views, const nt_batch *b)
{
    /* Portable: every kernel this pass looks up is the scalar one. */
    const int prev = s->precision == NEXTTOK_PRECISION_PORTABLE ? nt_isa_thread_set(NT_ISA_SCALAR) : -2;
    s->forward(s->model, run, views, b);
    if (prev != -2) nt_isa_thread_set(prev);
}

/* Run tokens[0..n) at positions pos .. pos + n - 1 (n <= the run's batch). */
static void forward(nexttok_session *s, const int32_t *tokens, int32_t n, float *rows)
{
    int32_t pos[NT_BATCH];
    for (int32_t i = 0; i < n; i++) pos[i] = s->pos + i;
    const nt_batch b = {.n_tok = n, .tokens = tokens, .pos = pos, .logits = rows ? rows : s->logits, .all_logits = rows != NULL};
    nt_session_pass(s, s->run, &s->view, &b);
    if (rows) memcpy(s->logits, rows + (size_t)(n - 1) * (size_t)s->model->hp.n_vocab,
                     (size_t)s->model->hp.n_vocab * sizeof *s->logits);
}

nexttok_status nt_session_room_check(const nexttok_session *s, size_t n)
{
    if (n > (size_t)(s->n_ctx - s->pos))
        return nt_fail(NEXTTOK_ERR_CONTEXT_FULL, "context full: %zu tokens at position %d exceed the session's %d positions",
                       n, s->pos, s->n_ctx);
    return NEXTTOK_OK;
}

nexttok_status nt_session_tokens_check(const nexttok_session *s, const int32_t *tokens, size_t n)
{
    const int32_t n_vocab = s->model->hp.n_vocab;
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= n_vocab)
            return nt_fail(NEXTTOK_ERR_TOKEN_RANGE, "token %d at index %zu is outside the vocabulary [0, %d)",
                           tokens[i], i, n_vocab);
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

NEXTTOK_API nexttok_status nexttok_session_info_get(const nexttok_session *s, nexttok_session_info *info)
{
    nt_error_clear();
    if (!s || !info)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_session_info_get: session and info must not be NULL");
    const nt_hparams *hp = &s->model->hp;
    const uint64_t per_pos = nt_kvcache_bytes_per_pos(s->kv.type, hp->n_layer, hp->n_head_kv, hp->head_dim);
    nexttok_session_info full = {
        .struct_size = sizeof full,
        .n_ctx = s->n_ctx,
        .n_threads = nt_pool_n_threads(s->pool),
        .precision = s->precision,
        .kv_type = s->kv_type,
        .kv_bytes = s->kv.bytes,
        .kv_bytes_per_pos = per_pos,
        .scratch_bytes = nt_run_bytes(s->run) + (uint64_t)s->n_ctx * sizeof *s->tokens +
                         2 * (uint64_t)hp->n_vocab * sizeof *s->logits,
        .n_shifted = s->n_shifted,
        .context_full = s->context_full,
    };
    nt_kvcache_held(&s->kv, s->pos, &full.kv_bytes_held, &full.kv_bytes_shared);
    return nt_info_fill(info, &full, sizeof full, "nexttok_session_info_get");
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
    /* a stopped feed may have written rows past the position (kv_top) */
    const int32_t top = s->kv_top > s->pos ? s->kv_top : s->pos;
    const bool kept = nt_kvcache_rewind_keeps(&s->kv, s->model->layer_windows, top, n_pos);
    /* the rows rewritten below (a fork's may be shared) */
    if (n_pos > 0) {
        nexttok_status st = kept ? nt_kv_prepare(&s->kv, n_pos - 1, 1) : nt_kv_prepare(&s->kv, 0, n_pos);
        if (st != NEXTTOK_OK) return st;
    }
    s->pos = n_pos;
    s->has_logits = false;
    if (n_pos == 0) {
        s->kv_top = 0;
        return NEXTTOK_OK;
    }
    if (!kept) {
        /* A sliding layer's ring has overwritten keys the window before
         * n_pos needs: feed the kept tokens again, which gives the same
         * rows and logits (feeding is bit-exact whatever the chunking). */
        for (s->pos = 0; s->pos < n_pos;) {
            const int32_t n = n_pos - s->pos < s->run->batch ? n_pos - s->pos : s->run->batch;
            forward(s, s->tokens + s->pos, n, NULL);
            s->pos += n;
        }
        s->kv_top = 0; /* every ring row the windows need is rewritten */
        s->has_logits = true;
        return NEXTTOK_OK;
    }
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
