/*
 * The sampler chain object: creating, cloning, resetting and freeing it,
 * its list of stages, and a draw, which fills the candidates from a row of
 * logits and runs each stage over them in order (chain_impl.h says what
 * the other chain_*.c files hold).
 */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/params.h"
#include "sampling/chain.h"
#include "sampling/chain_impl.h"
#include "sampling/probs.h"
#include "sampling/rng.h"

const char *const nt_chain_stage_names[] = {"temperature", "top-k",      "top-p", "min-p",  "typical",
                                            "penalties",   "logit-bias", "mask",  "greedy", "dist"};

static const nexttok_sampler_chain_params chain_defaults = {.struct_size = sizeof(nexttok_sampler_chain_params)};

NEXTTOK_API void nexttok_sampler_chain_params_init(nexttok_sampler_chain_params *params, size_t struct_size)
{
    nt_params_init(params, struct_size, &chain_defaults, sizeof chain_defaults);
}

void nt_chain_stage_release(stage *s)
{
    nt_free(s->ring);
    nt_free(s->counts);
    nt_free(s->bias);
    nt_free(s->bias_ids);
    nt_free(s->bits);
}

NEXTTOK_API void nexttok_sampler_chain_free(nexttok_sampler_chain *ch)
{
    if (!ch) return;
    for (int32_t i = 0; i < ch->n_stages; i++) nt_chain_stage_release(&ch->stages[i]);
    nt_free(ch->stages);
    nt_free(ch->c);
    nt_free(ch->seen);
    nt_free(ch->logit_by_id);
    nt_free(ch);
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_create(int32_t n_vocab, const nexttok_sampler_chain_params *params,
                                                        nexttok_sampler_chain **out)
{
    nt_error_clear();
    if (out) *out = NULL;
    if (!out) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_sampler_chain_create: chain_out must not be NULL");
    if (n_vocab < 1)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_sampler_chain_create: n_vocab %d must be >= 1", n_vocab);
    nexttok_sampler_chain_params p = chain_defaults;
    nexttok_status st = nt_params_merge(&p, sizeof p, params, "nexttok_sampler_chain_create");
    if (st != NEXTTOK_OK) return st;
    nexttok_sampler_chain *ch = nt_calloc(1, sizeof *ch);
    if (!ch) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory");
    ch->c = nt_malloc_array((size_t)n_vocab, sizeof *ch->c);
    ch->seen = nt_calloc(nt_chain_mask_words(n_vocab), sizeof *ch->seen);
    ch->logit_by_id = nt_malloc_array((size_t)n_vocab, sizeof *ch->logit_by_id);
    if (!ch->c || !ch->seen || !ch->logit_by_id) {
        nexttok_sampler_chain_free(ch);
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "sampler chain: out of memory for %d candidates", n_vocab);
    }
    ch->n_vocab = n_vocab;
    ch->seed = p.seed;
    nt_rng_seed(&ch->rng, p.seed);
    *out = ch;
    return NEXTTOK_OK;
}

nt_rng *nt_sampler_chain_rng(nexttok_sampler_chain *ch) { return &ch->rng; }

NEXTTOK_API int32_t nexttok_sampler_chain_n_stages_get(const nexttok_sampler_chain *ch) { return ch ? ch->n_stages : 0; }

NEXTTOK_API int32_t nexttok_sampler_chain_n_vocab_get(const nexttok_sampler_chain *ch) { return ch ? ch->n_vocab : 0; }

NEXTTOK_API const char *nexttok_sampler_chain_stage_name_get(const nexttok_sampler_chain *ch, int32_t stage_i)
{
    if (!ch || stage_i < 0 || stage_i >= ch->n_stages) return NULL;
    return nt_chain_stage_names[ch->stages[stage_i].kind];
}

static int is_selecting(stage_kind k) { return k == ST_GREEDY || k == ST_DIST; }

nexttok_status nt_chain_stage_new(nexttok_sampler_chain *ch, stage_kind kind, const char *fn, stage **out)
{
    nt_error_clear();
    *out = NULL;
    if (!ch) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: chain must not be NULL", fn);
    if (ch->n_stages > 0 && is_selecting(ch->stages[ch->n_stages - 1].kind))
        return nt_fail(NEXTTOK_ERR_STATE, "%s: the chain already ends with its %s stage; a selecting stage must be last",
                       fn, nt_chain_stage_names[ch->stages[ch->n_stages - 1].kind]);
    if (ch->n_stages == ch->cap_stages) {
        int32_t cap = ch->cap_stages ? 2 * ch->cap_stages : 8;
        stage *grown = nt_realloc_array(ch->stages, (size_t)cap, sizeof *grown);
        if (!grown) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory");
        ch->stages = grown;
        ch->cap_stages = cap;
    }
    stage *s = &ch->stages[ch->n_stages];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    *out = s;
    return NEXTTOK_OK;
}

nexttok_status nt_chain_stage_commit(nexttok_sampler_chain *ch)
{
    ch->n_stages++;
    ch->drawn = 0;
    return NEXTTOK_OK;
}

nexttok_status nt_chain_stage_at(nexttok_sampler_chain *ch, int32_t stage_i, stage_kind kind, const char *fn, stage **out)
{
    nt_error_clear();
    *out = NULL;
    if (!ch) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: chain must not be NULL", fn);
    if (stage_i < 0 || stage_i >= ch->n_stages)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: stage %d does not exist (the chain has %d)", fn, stage_i,
                       ch->n_stages);
    if (ch->stages[stage_i].kind != kind)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: stage %d is %s, not %s", fn, stage_i,
                       nt_chain_stage_names[ch->stages[stage_i].kind], nt_chain_stage_names[kind]);
    *out = &ch->stages[stage_i];
    return NEXTTOK_OK;
}

/* ---- drawing --------------------------------------------------------------- */

static nexttok_status run(nexttok_sampler_chain *ch, const float *logits, int32_t *token_out)
{
    static const char fn[] = "nexttok_sampler_chain: draw";
    if (ch->n_stages == 0 || !is_selecting(ch->stages[ch->n_stages - 1].kind))
        return nt_fail(NEXTTOK_ERR_STATE, "%s: the chain has no selecting stage (add greedy or dist last)", fn);
    nt_cand *c = ch->c;
    const size_t nv = (size_t)ch->n_vocab;
    size_t n = 0;
    for (size_t i = 0; i < nv; i++) {
        const float l = logits[i];
        if (isnan(l) || l == INFINITY)
            return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: logit of token %zu is %g", fn, i, (double)l);
        if (l == -INFINITY) continue;
        c[n].id = (int32_t)i;
        c[n].logit = l;
        n++;
    }
    ch->n = n;
    ch->by_id = 1;
    ch->n_ranked = n <= 1 ? n : 0;
    ch->drawn = 0;
    for (int32_t k = 0; k < ch->n_stages; k++) {
        if (ch->n == 0)
            return nt_fail(NEXTTOK_ERR_STATE, "%s: no candidate left before stage %d (%s)", fn, k,
                           nt_chain_stage_names[ch->stages[k].kind]);
        const stage *s = &ch->stages[k];
        switch (s->kind) {
        case ST_TEMPERATURE: nt_run_temperature(ch, s); break;
        case ST_TOP_K: nt_run_top_k(ch, s); break;
        case ST_TOP_P: nt_run_top_p(ch, s); break;
        case ST_MIN_P: nt_run_min_p(ch, s); break;
        case ST_TYPICAL: nt_run_typical(ch, s); break;
        case ST_PENALTIES: nt_run_penalties(ch, s); break;
        case ST_LOGIT_BIAS: nt_run_logit_bias(ch, s); break;
        case ST_MASK: nt_run_mask(ch, s); break;
        case ST_GREEDY: *token_out = nt_pick_greedy(ch); break;
        case ST_DIST: *token_out = nt_pick_dist(ch); break;
        }
    }
    ch->drawn = 1;
    return NEXTTOK_OK;
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_logits_sample(nexttok_sampler_chain *ch, const float *logits,
                                                               size_t n_vocab, int32_t *token_out)
{
    nt_error_clear();
    if (token_out) *token_out = -1;
    if (!ch || !logits || !token_out)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT,
                       "nexttok_sampler_chain_logits_sample: chain, logits and token_out must not be NULL");
    if (n_vocab != (size_t)ch->n_vocab)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT,
                       "nexttok_sampler_chain_logits_sample: a row of %zu logits, the chain was made for %d", n_vocab,
                       ch->n_vocab);
    return run(ch, logits, token_out);
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_sample(nexttok_sampler_chain *ch, const nexttok_session *session,
                                                        int32_t *token_out)
{
    nt_error_clear();
    if (token_out) *token_out = -1;
    if (!ch || !session || !token_out)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT,
                       "nexttok_sampler_chain_sample: chain, session and token_out must not be NULL");
    const float *logits;
    nexttok_status st = nexttok_session_logits_get(session, &logits);
    if (st != NEXTTOK_OK) return st;
    const int32_t nv = nexttok_model_n_vocab_get(nt_session_model(session));
    if (nv != ch->n_vocab)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT,
                       "nexttok_sampler_chain_sample: the session's model has %d tokens, the chain was made for %d", nv,
                       ch->n_vocab);
    return run(ch, logits, token_out);
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_accept(nexttok_sampler_chain *ch, int32_t token)
{
    nt_error_clear();
    if (!ch) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_sampler_chain_accept: chain must not be NULL");
    if (token < 0 || token >= ch->n_vocab)
        return nt_fail(NEXTTOK_ERR_TOKEN_RANGE, "nexttok_sampler_chain_accept: token %d outside the vocabulary of %d",
                       token, ch->n_vocab);
    for (int32_t k = 0; k < ch->n_stages; k++)
        if (ch->stages[k].kind == ST_PENALTIES) nt_penalties_accept(&ch->stages[k], token);
    return NEXTTOK_OK;
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_reset(nexttok_sampler_chain *ch)
{
    nt_error_clear();
    if (!ch) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_sampler_chain_reset: chain must not be NULL");
    nt_rng_seed(&ch->rng, ch->seed);
    for (int32_t k = 0; k < ch->n_stages; k++)
        if (ch->stages[k].kind == ST_PENALTIES) nt_penalties_clear(&ch->stages[k]);
    ch->drawn = 0;
    return NEXTTOK_OK;
}

static void *dup_array(const void *src, size_t count, size_t size, int *failed)
{
    if (!src) return NULL;
    void *d = nt_malloc_array(count ? count : 1, size);
    if (!d) {
        *failed = 1;
        return NULL;
    }
    memcpy(d, src, count * size);
    return d;
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_clone(const nexttok_sampler_chain *ch, nexttok_sampler_chain **out)
{
    nt_error_clear();
    if (out) *out = NULL;
    if (!ch || !out)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_sampler_chain_clone: chain and clone_out must not be NULL");
    nexttok_sampler_chain *d = nt_calloc(1, sizeof *d);
    if (!d) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory");
    *d = *ch;
    d->stages = NULL;
    d->n_stages = d->cap_stages = 0;
    int failed = 0;
    d->c = dup_array(ch->c, (size_t)ch->n_vocab, sizeof *ch->c, &failed);
    d->seen = dup_array(ch->seen, nt_chain_mask_words(ch->n_vocab), sizeof *ch->seen, &failed);
    d->logit_by_id = nt_malloc_array((size_t)ch->n_vocab, sizeof *d->logit_by_id);
    if (!d->logit_by_id) failed = 1;
    if (ch->n_stages) {
        d->stages = nt_calloc((size_t)ch->n_stages, sizeof *d->stages);
        if (!d->stages) failed = 1;
    }
    for (int32_t k = 0; k < ch->n_stages && !failed; k++) {
        const stage *s = &ch->stages[k];
        stage *t = &d->stages[k];
        *t = *s;
        t->ring = dup_array(s->ring, s->last_n ? (size_t)s->last_n : 1, sizeof *s->ring, &failed);
        t->counts = dup_array(s->counts, (size_t)ch->n_vocab, sizeof *s->counts, &failed);
        t->bias = dup_array(s->bias, (size_t)ch->n_vocab, sizeof *s->bias, &failed);
        t->bias_ids = dup_array(s->bias_ids, (size_t)ch->n_vocab, sizeof *s->bias_ids, &failed);
        t->bits = dup_array(s->bits, nt_chain_mask_words(ch->n_vocab), sizeof *s->bits, &failed);
        d->n_stages = d->cap_stages = k + 1;
    }
    if (failed) {
        nexttok_sampler_chain_free(d);
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "nexttok_sampler_chain_clone: out of memory");
    }
    *out = d;
    return NEXTTOK_OK;
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_candidates_get(nexttok_sampler_chain *ch, nexttok_token_prob *out,
                                                                size_t capacity, size_t *n_out)
{
    nt_error_clear();
    if (n_out) *n_out = 0;
    if (!ch || !n_out || (capacity && !out))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT,
                       "nexttok_sampler_chain_candidates_get: chain, n_out and out (when capacity > 0) must not be NULL");
    if (!ch->drawn) return nt_fail(NEXTTOK_ERR_STATE, "nexttok_sampler_chain_candidates_get: no draw since the chain was made, reset or changed");
    nt_cands_rank_prefix(ch, ch->n);
    nt_cands_softmax(ch);
    const size_t m = capacity < ch->n ? capacity : ch->n;
    for (size_t i = 0; i < m; i++) out[i] = (nexttok_token_prob){ch->c[i].id, (float)ch->c[i].p};
    *n_out = ch->n;
    if (ch->n > capacity)
        return nt_fail(NEXTTOK_ERR_BUFFER_TOO_SMALL, "nexttok_sampler_chain_candidates_get: %zu candidates, room for %zu",
                       ch->n, capacity);
    return NEXTTOK_OK;
}

/* ---- the chain nexttok_sampler_params describe ------------------------------ */

nexttok_status nt_sampler_params_check(const nexttok_sampler_params *p, const char *fn)
{
    if (!(p->temperature >= 0.0f) || !isfinite(p->temperature))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: temperature %g must be finite and >= 0", fn,
                       (double)p->temperature);
    if (p->top_k < 0) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: top_k %d is negative", fn, p->top_k);
    if (!(p->top_p > 0.0f && p->top_p <= 1.0f))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: top_p %g outside (0, 1]", fn, (double)p->top_p);
    if (!(p->min_p >= 0.0f && p->min_p <= 1.0f))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: min_p %g outside [0, 1]", fn, (double)p->min_p);
    return NEXTTOK_OK;
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_default_create(int32_t n_vocab, const nexttok_sampler_params *params,
                                                                nexttok_sampler_chain **out)
{
    static const char fn[] = "nexttok_sampler_chain_default_create";
    nt_error_clear();
    if (out) *out = NULL;
    if (!out) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: chain_out must not be NULL", fn);
    nexttok_sampler_params p;
    nexttok_sampler_params_init(&p, sizeof p);
    nexttok_status st = nt_params_merge(&p, sizeof p, params, fn);
    if (st == NEXTTOK_OK) st = nt_sampler_params_check(&p, fn);
    if (st != NEXTTOK_OK) return st;
    nexttok_sampler_chain_params cp;
    nexttok_sampler_chain_params_init(&cp, sizeof cp);
    cp.seed = p.seed;
    nexttok_sampler_chain *ch = NULL;
    st = nexttok_sampler_chain_create(n_vocab, &cp, &ch);
    if (st != NEXTTOK_OK) return st;
    if (p.temperature == 0.0f) {
        st = nexttok_sampler_chain_greedy_add(ch);
    } else {
        st = nexttok_sampler_chain_temperature_add(ch, p.temperature);
        if (st == NEXTTOK_OK && p.top_k > 0) st = nexttok_sampler_chain_top_k_add(ch, p.top_k);
        if (st == NEXTTOK_OK && p.top_p < 1.0f) st = nexttok_sampler_chain_top_p_add(ch, p.top_p);
        if (st == NEXTTOK_OK && p.min_p > 0.0f) st = nexttok_sampler_chain_min_p_add(ch, p.min_p);
        if (st == NEXTTOK_OK) st = nexttok_sampler_chain_dist_add(ch);
    }
    if (st != NEXTTOK_OK) {
        nexttok_sampler_chain_free(ch);
        return st;
    }
    *out = ch;
    return NEXTTOK_OK;
}
