/* The stages that move chosen tokens' logits: penalties over a window of
 * accepted tokens, and a fixed bias per token. */
#include <math.h>

#include "core/alloc.h"
#include "core/error.h"
#include "sampling/chain_impl.h"

void nt_run_penalties(nexttok_sampler_chain *ch, const stage *s)
{
    if (s->ring_len == 0) return;
    if (s->repeat == 1.0f && s->frequency == 0.0f && s->presence == 0.0f) return;
    const int32_t *counts = s->counts;
    for (size_t i = 0; i < ch->n; i++) {
        nt_cand *cd = &ch->c[i];
        const int32_t cnt = counts[cd->id];
        if (cnt <= 0) continue;
        float l = cd->logit;
        l = l > 0.0f ? l / s->repeat : l * s->repeat;
        cd->logit = l - ((float)cnt * s->frequency + s->presence);
    }
    ch->n_ranked = ch->n <= 1 ? ch->n : 0;
}

void nt_penalties_accept(stage *s, int32_t token)
{
    if (s->last_n == 0) return;
    if (s->ring_len == s->last_n) {
        s->counts[s->ring[s->ring_head]]--;
        s->ring[s->ring_head] = token;
        s->ring_head = (s->ring_head + 1) % s->last_n;
    } else {
        s->ring[(s->ring_head + s->ring_len) % s->last_n] = token;
        s->ring_len++;
    }
    s->counts[token]++;
}

void nt_penalties_clear(stage *s)
{
    /* Only the window's tokens have non-zero counts. */
    for (int32_t j = 0; j < s->ring_len; j++) s->counts[s->ring[(s->ring_head + j) % s->last_n]] = 0;
    s->ring_len = 0;
    s->ring_head = 0;
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_penalties_add(nexttok_sampler_chain *ch, int32_t last_n, float repeat,
                                                               float frequency, float presence)
{
    static const char fn[] = "nexttok_sampler_chain_penalties_add";
    BEGIN_STAGE(ST_PENALTIES, fn);
    if (last_n < 0) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: last_n %d is negative", fn, last_n);
    if (!(repeat > 0.0f) || !isfinite(repeat))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: repeat penalty %g must be finite and > 0 (1 = off)", fn,
                       (double)repeat);
    if (!isfinite(frequency))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: frequency penalty %g is not finite", fn, (double)frequency);
    if (!isfinite(presence))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: presence penalty %g is not finite", fn, (double)presence);
    s->last_n = last_n;
    s->repeat = repeat;
    s->frequency = frequency;
    s->presence = presence;
    s->ring = nt_malloc_array(last_n ? (size_t)last_n : 1, sizeof *s->ring);
    s->counts = nt_calloc((size_t)ch->n_vocab, sizeof *s->counts);
    if (!s->ring || !s->counts) {
        nt_chain_stage_release(s);
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "%s: out of memory", fn);
    }
    return nt_chain_stage_commit(ch);
}

void nt_run_logit_bias(nexttok_sampler_chain *ch, const stage *s)
{
    if (s->n_bias == 0) return;
    if (ch->by_id && ch->n == (size_t)ch->n_vocab) {
        /* Still the whole vocabulary in id order: candidate i is token i. */
        for (size_t j = 0; j < s->n_bias; j++) ch->c[s->bias_ids[j]].logit += s->bias[s->bias_ids[j]];
    } else {
        for (size_t i = 0; i < ch->n; i++) ch->c[i].logit += s->bias[ch->c[i].id];
    }
    ch->n_ranked = ch->n <= 1 ? ch->n : 0;
    if (s->banned) COMPACT(ch, cd->logit != -INFINITY);
}

/* Check biases against the vocabulary before anything changes. */
static nexttok_status bias_check(const nexttok_sampler_chain *ch, const nexttok_logit_bias *b, size_t n, const char *fn)
{
    if (n && !b) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: biases is NULL with n = %zu", fn, n);
    for (size_t i = 0; i < n; i++) {
        if (b[i].token < 0 || b[i].token >= ch->n_vocab)
            return nt_fail(NEXTTOK_ERR_TOKEN_RANGE, "%s: entry %zu: token %d outside the vocabulary of %d", fn, i,
                           b[i].token, ch->n_vocab);
        if (!isfinite(b[i].bias) && b[i].bias != -INFINITY)
            return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: entry %zu: bias %g of token %d must be finite or -inf", fn,
                           i, (double)b[i].bias, b[i].token);
    }
    return NEXTTOK_OK;
}

/* Replace a stage's biases; the stage's buffers hold n_vocab entries, so
 * this never allocates. `bits` marks the listed tokens. */
static void bias_fill(stage *s, const nexttok_logit_bias *b, size_t n)
{
    for (size_t j = 0; j < s->n_bias; j++) {
        const uint32_t t = (uint32_t)s->bias_ids[j];
        s->bias[t] = 0.0f;
        s->bits[t >> 6] &= ~(1ull << (t & 63));
    }
    s->n_bias = 0;
    s->banned = 0;
    for (size_t i = 0; i < n; i++) {
        const uint32_t t = (uint32_t)b[i].token;
        if (!((s->bits[t >> 6] >> (t & 63)) & 1u)) {
            s->bits[t >> 6] |= 1ull << (t & 63);
            s->bias_ids[s->n_bias++] = (int32_t)t;
        }
        s->bias[t] += b[i].bias;
    }
    for (size_t j = 0; j < s->n_bias; j++)
        if (s->bias[s->bias_ids[j]] == -INFINITY) s->banned = 1;
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_logit_bias_add(nexttok_sampler_chain *ch, const nexttok_logit_bias *b,
                                                                size_t n)
{
    static const char fn[] = "nexttok_sampler_chain_logit_bias_add";
    BEGIN_STAGE(ST_LOGIT_BIAS, fn);
    nexttok_status st = bias_check(ch, b, n, fn);
    if (st != NEXTTOK_OK) return st;
    s->bias = nt_calloc((size_t)ch->n_vocab, sizeof *s->bias);
    s->bias_ids = nt_malloc_array((size_t)ch->n_vocab, sizeof *s->bias_ids);
    s->bits = nt_calloc(nt_chain_mask_words(ch->n_vocab), sizeof *s->bits);
    if (!s->bias || !s->bias_ids || !s->bits) {
        nt_chain_stage_release(s);
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "%s: out of memory", fn);
    }
    bias_fill(s, b, n);
    return nt_chain_stage_commit(ch);
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_logit_bias_set(nexttok_sampler_chain *ch, int32_t stage_i,
                                                                const nexttok_logit_bias *b, size_t n)
{
    static const char fn[] = "nexttok_sampler_chain_logit_bias_set";
    stage *s;
    nexttok_status st = nt_chain_stage_at(ch, stage_i, ST_LOGIT_BIAS, fn, &s);
    if (st == NEXTTOK_OK) st = bias_check(ch, b, n, fn);
    if (st != NEXTTOK_OK) return st;
    bias_fill(s, b, n);
    return NEXTTOK_OK;
}
