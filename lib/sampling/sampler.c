/* The classic sampler: the default chain of its params
 * (nexttok_sampler_chain_default_create), made on the first draw because
 * only then is the vocabulary size known. */
#include "core/alloc.h"
#include "core/error.h"
#include "core/params.h"
#include "sampling/chain.h"
#include "sampling/probs.h"

struct nexttok_sampler {
    nexttok_sampler_params p;
    nexttok_sampler_chain *chain;
    nt_rng rng; /* the generator until the chain exists */
};

static const nexttok_sampler_params nt_sampler_defaults = {.struct_size = sizeof(nexttok_sampler_params), .temperature = 1.0f, .top_p = 1.0f};

NEXTTOK_API void nexttok_sampler_params_init(nexttok_sampler_params *params, size_t struct_size)
{
    nt_params_init(params, struct_size, &nt_sampler_defaults, sizeof nt_sampler_defaults);
}

NEXTTOK_API nexttok_status nexttok_sampler_create(const nexttok_sampler_params *params, nexttok_sampler **out)
{
    nt_error_clear();
    if (out) *out = NULL;
    if (!out) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_sampler_create: sampler_out must not be NULL");
    nexttok_sampler_params p = nt_sampler_defaults;
    nexttok_status pst = nt_params_merge(&p, sizeof p, params, "nexttok_sampler_create");
    if (pst == NEXTTOK_OK) pst = nt_sampler_params_check(&p, "sampler");
    if (pst != NEXTTOK_OK) return pst;
    nexttok_sampler *s = nt_calloc(1, sizeof *s);
    if (!s) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory");
    s->p = p;
    nt_rng_seed(&s->rng, p.seed);
    *out = s;
    return NEXTTOK_OK;
}

NEXTTOK_API void nexttok_sampler_free(nexttok_sampler *s)
{
    if (!s) return;
    nexttok_sampler_chain_free(s->chain);
    nt_free(s);
}

NEXTTOK_API nexttok_status nexttok_sampler_sample(nexttok_sampler *s, const nexttok_session *session, int32_t *token_out)
{
    nt_error_clear();
    if (!s || !token_out) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_sampler_sample: sampler and token_out must not be NULL");
    const float *logits;
    nexttok_status st = nexttok_session_logits_get(session, &logits);
    if (st != NEXTTOK_OK) return st;
    const int32_t n = nexttok_model_n_vocab_get(nt_session_model(session));
    if (!s->chain || nexttok_sampler_chain_n_vocab_get(s->chain) != n) {
        /* A session of another model: a chain of its width, continuing the
         * same random sequence. */
        nexttok_sampler_chain *ch = NULL;
        st = nexttok_sampler_chain_default_create(n, &s->p, &ch);
        if (st != NEXTTOK_OK) return st;
        if (s->chain) s->rng = *nt_sampler_chain_rng(s->chain);
        *nt_sampler_chain_rng(ch) = s->rng;
        nexttok_sampler_chain_free(s->chain);
        s->chain = ch;
    }
    return nexttok_sampler_chain_logits_sample(s->chain, logits, (size_t)n, token_out);
}
