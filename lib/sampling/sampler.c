/* Token sampling: temperature, then top-k, top-p and min-p filters over the
 * candidates ranked by probability, then one draw from a seeded generator
 * (xoshiro256**, seeded through splitmix64), so runs are reproducible. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/params.h"
#include "sampling/probs.h"

struct nexttok_sampler {
    nexttok_sampler_params p;
    uint64_t rng[4];
};

static const nexttok_sampler_params nt_sampler_defaults = {.struct_size = sizeof(nexttok_sampler_params), .temperature = 1.0f, .top_p = 1.0f};

NEXTTOK_API void nexttok_sampler_params_init(nexttok_sampler_params *params, size_t struct_size)
{
    nt_params_init(params, struct_size, &nt_sampler_defaults, sizeof nt_sampler_defaults);
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next_u64(uint64_t s[4])
{
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

/* Uniform in [0, 1) with 53 random bits. */
static double next_unit(uint64_t s[4]) { return (double)(next_u64(s) >> 11) * 0x1.0p-53; }

NEXTTOK_API nexttok_status nexttok_sampler_create(const nexttok_sampler_params *params, nexttok_sampler **out)
{
    nt_error_clear();
    if (out) *out = NULL;
    if (!out) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_sampler_create: sampler_out must not be NULL");
    nexttok_sampler_params p = nt_sampler_defaults;
    nexttok_status pst = nt_params_merge(&p, sizeof p, params, "nexttok_sampler_create");
    if (pst != NEXTTOK_OK) return pst;
    if (!(p.temperature >= 0.0f) || !isfinite(p.temperature))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "sampler: temperature %g must be finite and >= 0", (double)p.temperature);
    if (p.top_k < 0) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "sampler: top_k %d is negative", p.top_k);
    if (!(p.top_p > 0.0f && p.top_p <= 1.0f))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "sampler: top_p %g outside (0, 1]", (double)p.top_p);
    if (!(p.min_p >= 0.0f && p.min_p <= 1.0f))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "sampler: min_p %g outside [0, 1]", (double)p.min_p);
    nexttok_sampler *s = nt_calloc(1, sizeof *s);
    if (!s) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory");
    s->p = p;
    uint64_t seed = p.seed;
    for (int i = 0; i < 4; i++) s->rng[i] = splitmix64(&seed);
    *out = s;
    return NEXTTOK_OK;
}

NEXTTOK_API void nexttok_sampler_free(nexttok_sampler *s) { nt_free(s); }

NEXTTOK_API nexttok_status nexttok_sampler_sample(nexttok_sampler *s, const nexttok_session *session, int32_t *token_out)
{
    nt_error_clear();
    if (!s || !token_out) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_sampler_sample: sampler and token_out must not be NULL");
    const float *logits;
    nexttok_status st = nexttok_session_logits_get(session, &logits);
    if (st != NEXTTOK_OK) return st;
    const int32_t n = nexttok_model_n_vocab_get(nt_session_model(session));

    float *probs = nt_malloc_array((size_t)n, sizeof *probs);
    size_t k = s->p.top_k > 0 && s->p.top_k < n ? (size_t)s->p.top_k : (size_t)n;
    nexttok_token_prob *cand = nt_malloc_array(k, sizeof *cand);
    if (!probs || !cand) {
        nt_free(probs);
        nt_free(cand);
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory");
    }
    st = nt_probs_compute(logits, n, s->p.temperature, probs);
    if (st == NEXTTOK_OK) {
        k = nt_topk_select(probs, n, k, cand);
        /* top-p: the smallest prefix whose mass reaches top_p. */
        double mass = 0.0;
        size_t keep = 0;
        while (keep < k) {
            mass += cand[keep].prob;
            keep++;
            if (mass >= s->p.top_p) break;
        }
        /* min-p: drop candidates below min_p times the best. */
        const float floor_p = s->p.min_p * cand[0].prob;
        while (keep > 1 && cand[keep - 1].prob < floor_p) keep--;
        double total = 0.0;
        for (size_t i = 0; i < keep; i++) total += cand[i].prob;
        double r = next_unit(s->rng) * total;
        size_t pick = 0;
        for (double acc = cand[0].prob; pick + 1 < keep && acc <= r; acc += cand[++pick].prob) {}
        *token_out = cand[pick].id;
    }
    nt_free(probs);
    nt_free(cand);
    return st;
}
