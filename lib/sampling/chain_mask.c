/* The allowed-token mask stage: a bitset over the vocabulary, set
 * between draws (by a nexttok_constraint, say). */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "sampling/chain_impl.h"

void nt_run_mask(nexttok_sampler_chain *ch, const stage *s)
{
    if (s->all_allowed) return;
    const uint64_t *bits = s->bits;
    COMPACT(ch, (bits[(uint32_t)cd->id >> 6] >> ((uint32_t)cd->id & 63)) & 1u);
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_mask_add(nexttok_sampler_chain *ch)
{
    BEGIN_STAGE(ST_MASK, "nexttok_sampler_chain_mask_add");
    s->bits = nt_calloc(nt_chain_mask_words(ch->n_vocab), sizeof *s->bits);
    if (!s->bits) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "nexttok_sampler_chain_mask_add: out of memory");
    s->all_allowed = 1;
    return nt_chain_stage_commit(ch);
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_mask_set(nexttok_sampler_chain *ch, int32_t stage_i,
                                                          const uint64_t *bits, size_t n_words)
{
    static const char fn[] = "nexttok_sampler_chain_mask_set";
    stage *s;
    nexttok_status st = nt_chain_stage_at(ch, stage_i, ST_MASK, fn, &s);
    if (st != NEXTTOK_OK) return st;
    if (!bits) {
        if (n_words != 0) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: bits is NULL with n_words = %zu", fn, n_words);
        s->all_allowed = 1;
        return NEXTTOK_OK;
    }
    const size_t need = nt_chain_mask_words(ch->n_vocab);
    if (n_words != need)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: %zu words for a vocabulary of %d need %zu", fn, n_words,
                       ch->n_vocab, need);
    memcpy(s->bits, bits, need * sizeof *bits);
    s->all_allowed = 0;
    return NEXTTOK_OK;
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_mask_tokens_set(nexttok_sampler_chain *ch, int32_t stage_i,
                                                                 const int32_t *tokens, size_t n)
{
    static const char fn[] = "nexttok_sampler_chain_mask_tokens_set";
    stage *s;
    nexttok_status st = nt_chain_stage_at(ch, stage_i, ST_MASK, fn, &s);
    if (st != NEXTTOK_OK) return st;
    if (n && !tokens) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: tokens is NULL with n = %zu", fn, n);
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= ch->n_vocab)
            return nt_fail(NEXTTOK_ERR_TOKEN_RANGE, "%s: entry %zu: token %d outside the vocabulary of %d", fn, i,
                           tokens[i], ch->n_vocab);
    memset(s->bits, 0, nt_chain_mask_words(ch->n_vocab) * sizeof *s->bits);
    for (size_t i = 0; i < n; i++) s->bits[(uint32_t)tokens[i] >> 6] |= 1ull << ((uint32_t)tokens[i] & 63);
    s->all_allowed = 0;
    return NEXTTOK_OK;
}
