/* Forks: a session continuing from another's position, sharing its KV
 * pages copy-on-write. */
#include <string.h>

#include "core/error.h"
#include "core/params.h"
#include "kvcache/kvcache.h"
#include "session/session.h"

NEXTTOK_API nexttok_status nexttok_session_fork(const nexttok_session *src, const nexttok_session_params *params,
                                                nexttok_session **fork_out)
{
    nt_error_clear();
    if (fork_out) *fork_out = NULL;
    if (!src || !fork_out)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_session_fork: source and fork_out must not be NULL");
    /* What the shared rows depend on comes from the source: their row
     * type, the ring sizes (n_ctx and batch) and the RoPE factors the
     * context chose. The caller picks the threads and precision. */
    nexttok_session_params p;
    nexttok_session_params_init(&p, sizeof p);
    if (params) {
        nexttok_status st = nt_params_merge(&p, sizeof p, params, "nexttok_session_fork");
        if (st != NEXTTOK_OK) return st;
        if (p.n_ctx != 0 && p.n_ctx != src->n_ctx)
            return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_session_fork: n_ctx %d differs from the source's %d "
                           "(a fork shares its cache's layout; pass 0)", p.n_ctx, src->n_ctx);
        if (p.kv_type != NEXTTOK_KV_F32 && p.kv_type != src->kv_type)
            return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_session_fork: kv_type %d differs from the source's %d "
                           "(a fork shares its rows)", p.kv_type, src->kv_type);
        /* without sliding layers the batch shapes no row of the cache */
        if (p.n_batch != 0 && p.n_batch != src->run->batch && src->model->layer_windows)
            return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_session_fork: n_batch %d differs from the source's %d "
                           "(the sliding layers' rings depend on it; pass 0)", p.n_batch, src->run->batch);
        if (p.n_batch == 0) p.n_batch = src->run->batch;
        if (p.precision == NEXTTOK_PRECISION_DEFAULT) p.precision = src->precision;
    } else {
        /* a borrowed pool is the caller's choice for all its sessions; an
         * own pool is not shared, so forks may run on other threads */
        p.pool = src->owns_pool ? NULL : src->pool;
        p.n_threads = nt_pool_n_threads(src->pool);
        p.precision = src->precision;
        p.context_full = src->context_full;
        p.n_keep = src->n_keep;
        p.n_discard = src->n_discard;
        p.n_batch = src->run->batch;
    }
    p.n_ctx = src->n_ctx;
    p.kv_type = src->kv_type;

    nexttok_session *f = NULL;
    nexttok_status st = nexttok_session_create(src->model, &p, &f);
    if (st != NEXTTOK_OK) return st;
    st = nt_kvcache_share(&f->kv, &src->kv, src->pos);
    if (st != NEXTTOK_OK) {
        nexttok_session_free(f);
        return st;
    }
    f->pos = src->pos;
    f->kv_top = src->kv_top; /* rows a stopped pass of the source wrote past pos */
    memcpy(f->tokens, src->tokens, (size_t)src->pos * sizeof *f->tokens);
    f->has_logits = src->has_logits;
    if (src->has_logits) memcpy(f->logits, src->logits, (size_t)src->model->hp.n_vocab * sizeof *f->logits);
    *fork_out = f;
    return NEXTTOK_OK;
}
