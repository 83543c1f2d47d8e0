/* The stages that filter by probability or rank (temperature, top-k,
 * top-p, min-p, typical-p) and the selecting ones (greedy, dist): their
 * constructors and what each does at draw time (nexttok.h gives the
 * rules). */
#include <math.h>

#include "core/error.h"
#include "sampling/chain_impl.h"

void nt_run_temperature(nexttok_sampler_chain *ch, const stage *s)
{
    if (s->value == 0.0f) {
        nt_cands_rank_prefix(ch, 1);
        nt_cands_truncate(ch, 1);
        return;
    }
    if (s->value == 1.0f) return;
    for (size_t i = 0; i < ch->n; i++) ch->c[i].logit /= s->value;
    /* Division rounds, so two logits may become equal and trade places. */
    ch->n_ranked = ch->n <= 1 ? ch->n : 0;
}

void nt_run_top_k(nexttok_sampler_chain *ch, const stage *s)
{
    if ((size_t)s->k >= ch->n) return;
    nt_cands_rank_prefix(ch, (size_t)s->k);
    nt_cands_truncate(ch, (size_t)s->k);
}

void nt_run_top_p(nexttok_sampler_chain *ch, const stage *s)
{
    if (s->value >= 1.0f || ch->n <= 1) return;
    nt_cands_softmax(ch);
    const double p = s->value;
    /* Rank a prefix and widen it until its mass reaches p: a peaked
     * distribution then costs O(n), not a full sort of the vocabulary. */
    for (size_t m = 64;; m *= 8) {
        if (m > ch->n) m = ch->n;
        nt_cands_rank_prefix(ch, m);
        double cum = 0.0;
        for (size_t i = 0; i < m; i++) {
            cum += ch->c[i].p;
            if (cum >= p) {
                nt_cands_truncate(ch, i + 1);
                return;
            }
        }
        if (m == ch->n) return; /* rounding kept the sum just below p */
    }
}

void nt_run_min_p(nexttok_sampler_chain *ch, const stage *s)
{
    if (s->value <= 0.0f || ch->n <= 1) return;
    float max = ch->c[0].logit;
    for (size_t i = 1; i < ch->n; i++)
        if (ch->c[i].logit > max) max = ch->c[i].logit;
    const double floor_p = s->value, m = max;
    COMPACT(ch, exp((double)cd->logit - m) >= floor_p);
}

void nt_run_typical(nexttok_sampler_chain *ch, const stage *s)
{
    if (s->value >= 1.0f || ch->n <= 1) return;
    nt_cands_softmax(ch);
    double h = 0.0;
    for (size_t i = 0; i < ch->n; i++)
        if (ch->c[i].p > 0.0) h -= ch->c[i].p * log(ch->c[i].p);
    for (size_t i = 0; i < ch->n; i++) {
        nt_cand *cd = &ch->c[i];
        cd->key = cd->p > 0.0 ? fabs(-log(cd->p) - h) : INFINITY;
    }
    nt_cands_sort_by_key(ch->c, ch->n);
    ch->by_id = 0;
    ch->n_ranked = 0;
    double cum = 0.0;
    for (size_t i = 0; i < ch->n; i++) {
        cum += ch->c[i].p;
        if (cum >= s->value) {
            nt_cands_truncate(ch, i + 1);
            break;
        }
    }
    ch->n_ranked = ch->n <= 1 ? ch->n : 0;
}

int32_t nt_pick_greedy(nexttok_sampler_chain *ch)
{
    nt_cands_rank_prefix(ch, 1);
    return ch->c[0].id;
}

int32_t nt_pick_dist(nexttok_sampler_chain *ch)
{
    nt_cands_sort_by_id(ch);
    nt_cand *c = ch->c;
    float max = c[0].logit;
    for (size_t i = 1; i < ch->n; i++)
        if (c[i].logit > max) max = c[i].logit;
    double total = 0.0;
    for (size_t i = 0; i < ch->n; i++) total += c[i].p = exp((double)c[i].logit - (double)max);
    const double target = nt_rng_unit(&ch->rng) * total;
    double acc = 0.0;
    size_t last = 0;
    for (size_t i = 0; i < ch->n; i++) {
        if (c[i].p > 0.0) last = i;
        acc += c[i].p;
        if (acc > target) return c[i].id;
    }
    return c[last].id; /* acc fell short of target by rounding */
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_temperature_add(nexttok_sampler_chain *ch, float t)
{
    BEGIN_STAGE(ST_TEMPERATURE, "nexttok_sampler_chain_temperature_add");
    if (!(t >= 0.0f) || !isfinite(t))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT,
                       "nexttok_sampler_chain_temperature_add: temperature %g must be finite and >= 0", (double)t);
    s->value = t;
    return nt_chain_stage_commit(ch);
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_top_k_add(nexttok_sampler_chain *ch, int32_t k)
{
    BEGIN_STAGE(ST_TOP_K, "nexttok_sampler_chain_top_k_add");
    if (k < 1)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT,
                       "nexttok_sampler_chain_top_k_add: top_k %d must be >= 1 (leave the stage out to keep all)", k);
    s->k = k;
    return nt_chain_stage_commit(ch);
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_top_p_add(nexttok_sampler_chain *ch, float p)
{
    BEGIN_STAGE(ST_TOP_P, "nexttok_sampler_chain_top_p_add");
    if (!(p > 0.0f && p <= 1.0f))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_sampler_chain_top_p_add: top_p %g outside (0, 1]", (double)p);
    s->value = p;
    return nt_chain_stage_commit(ch);
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_min_p_add(nexttok_sampler_chain *ch, float p)
{
    BEGIN_STAGE(ST_MIN_P, "nexttok_sampler_chain_min_p_add");
    if (!(p >= 0.0f && p <= 1.0f))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_sampler_chain_min_p_add: min_p %g outside [0, 1]", (double)p);
    s->value = p;
    return nt_chain_stage_commit(ch);
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_typical_add(nexttok_sampler_chain *ch, float p)
{
    BEGIN_STAGE(ST_TYPICAL, "nexttok_sampler_chain_typical_add");
    if (!(p > 0.0f && p <= 1.0f))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_sampler_chain_typical_add: typical_p %g outside (0, 1]",
                       (double)p);
    s->value = p;
    return nt_chain_stage_commit(ch);
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_greedy_add(nexttok_sampler_chain *ch)
{
    BEGIN_STAGE(ST_GREEDY, "nexttok_sampler_chain_greedy_add");
    return nt_chain_stage_commit(ch);
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_dist_add(nexttok_sampler_chain *ch)
{
    BEGIN_STAGE(ST_DIST, "nexttok_sampler_chain_dist_add");
    return nt_chain_stage_commit(ch);
}
