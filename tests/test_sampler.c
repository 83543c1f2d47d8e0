/*
 * Sampler chains. Each stage is checked on small rows whose outcome is
 * worked out by hand in the comments; the generator against its published
 * and hand-derived outputs; seeded draws on a fixture model against the
 * documented rule recomputed here, independently of the library's code.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "nexttok.h"
#include "sampling/rng.h"
#include "support/fixtures.h"
#include "support/sessions.h"
#include "support/harness.h"

static nexttok_sampler_chain *chain_new(int32_t n_vocab, uint64_t seed)
{
    nexttok_sampler_chain_params p;
    nexttok_sampler_chain_params_init(&p, sizeof p);
    p.seed = seed;
    nexttok_sampler_chain *c = NULL;
    cr_assert_eq(nexttok_sampler_chain_create(n_vocab, &p, &c), NEXTTOK_OK, "%s", nexttok_error_message());
    return c;
}

#define OK(call) cr_assert_eq((call), NEXTTOK_OK, "%s: %s", #call, nexttok_error_message())

/* Draw once with greedy appended by the caller; return the candidates the
 * greedy stage saw, most probable first. */
static size_t survivors(nexttok_sampler_chain *c, const float *logits, size_t n_vocab, nexttok_token_prob *out,
                        size_t cap, int32_t *token)
{
    int32_t t = -1;
    OK(nexttok_sampler_chain_logits_sample(c, logits, n_vocab, &t));
    size_t n = 0;
    OK(nexttok_sampler_chain_candidates_get(c, out, cap, &n));
    if (token) *token = t;
    return n;
}

static void expect(const nexttok_token_prob *got, size_t n_got, const int32_t *ids, const double *probs, size_t n,
                   const char *what)
{
    cr_assert_eq(n_got, n, "%s: %zu candidates, want %zu", what, n_got, n);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(got[i].id, ids[i], "%s: candidate %zu is token %d, want %d", what, i, got[i].id, ids[i]);
        cr_assert(fabs(got[i].prob - probs[i]) < 2e-6, "%s: p(token %d) = %.7f, want %.7f", what, ids[i],
                  (double)got[i].prob, probs[i]);
    }
}

/* ---- the generator --------------------------------------------------------- */

Test(sampler, splitmix64_gives_its_published_outputs)
{
    /* Seed 1234567: the sequence published on Rosetta Code
     * ("Pseudo-random numbers/Splitmix64") from Vigna's splitmix64.c. */
    const uint64_t want[5] = {6457827717110365317ull, 3203168211198807973ull, 9817491932198370423ull,
                              4593380528125082431ull, 16408922859458223821ull};
    uint64_t x = 1234567;
    for (int i = 0; i < 5; i++) cr_assert_eq(nt_splitmix64(&x), want[i], "output %d", i);
    /* Seeding takes exactly those four as the state. */
    nt_rng r;
    nt_rng_seed(&r, 1234567);
    for (int i = 0; i < 4; i++) cr_assert_eq(r.s[i], want[i], "state word %d", i);
}

/* xoshiro256** as the reference code writes it, kept apart from the
 * library's version: result = rotl(s1 * 5, 7) * 9, then the linear step. */
static uint64_t ref_rotl(uint64_t x, unsigned k) { return (x << k) | (x >> (64u - k)); }

static uint64_t ref_next(uint64_t s[4])
{
    const uint64_t result = ref_rotl(s[1] * 5u, 7) * 9u;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = ref_rotl(s[3], 45);
    return result;
}

Test(sampler, xoshiro256starstar_matches_its_definition)
{
    /* From state (1, 2, 3, 4), by hand:
     *  1: rotl(2*5, 7)*9 = 1280*9 = 11520; the state becomes
     *     s2 = 3^1 = 2, s3 = 4^2 = 6, s1 = 2^2 = 0, s0 = 1^6 = 7,
     *     s2 ^= 2<<17 -> 262146, s3 = rotl(6, 45) = 6<<45.
     *  2: rotl(0*5, 7)*9 = 0; s2 = 262146^7 = 262149, s1 = 0^262149 = 262149.
     *  3: rotl(262149*5, 7)*9 = (1310745<<7)*9 = 167775360*9 = 1509978240.
     * The fourth, 1215971899390074240, is the value other implementations
     * publish for this state. */
    nt_rng r = {{1, 2, 3, 4}};
    cr_assert_eq(nt_rng_next(&r), 11520u);
    cr_assert_eq(nt_rng_next(&r), 0u);
    cr_assert_eq(nt_rng_next(&r), 1509978240u);
    cr_assert_eq(nt_rng_next(&r), 1215971899390074240ull);
    /* And a long run from a seeded state against the reference form. */
    nt_rng_seed(&r, 42);
    uint64_t s[4];
    memcpy(s, r.s, sizeof s);
    for (int i = 0; i < 10000; i++) cr_assert_eq(nt_rng_next(&r), ref_next(s), "output %d", i);
    /* A unit draw is the top 53 bits times 2^-53. */
    nt_rng a, b;
    nt_rng_seed(&a, 9);
    b = a;
    for (int i = 0; i < 100; i++) {
        const double u = nt_rng_unit(&a);
        cr_assert_eq(u, (double)(nt_rng_next(&b) >> 11) / 9007199254740992.0);
        cr_assert(u >= 0.0 && u < 1.0);
    }
}

/* ---- each stage on hand-worked rows ----------------------------------------- */

Test(sampler, temperature_divides_logits_and_zero_keeps_the_arg_max)
{
    /* {1, 2, 3, 0} / 2 = {0.5, 1, 1.5, 0}: weights e^.5 = 1.6487213,
     * e^1 = 2.7182818, e^1.5 = 4.4816891, e^0 = 1; sum 9.8486922, so
     * p = .4550553 (id 2), .2760043 (1), .1674061 (0), .1015363 (3). */
    const float row[4] = {1, 2, 3, 0};
    nexttok_token_prob out[4];
    nexttok_sampler_chain *c = chain_new(4, 0);
    OK(nexttok_sampler_chain_temperature_add(c, 2.0f));
    OK(nexttok_sampler_chain_greedy_add(c));
    int32_t tok;
    size_t n = survivors(c, row, 4, out, 4, &tok);
    expect(out, n, (const int32_t[]){2, 1, 0, 3}, (const double[]){.4550553, .2760043, .1674061, .1015363}, 4, "T=2");
    cr_assert_eq(tok, 2);
    nexttok_sampler_chain_free(c);
    /* T = 0 keeps one candidate, the lower id of the tied maxima. */
    const float tied[3] = {3, 1, 3};
    c = chain_new(3, 0);
    OK(nexttok_sampler_chain_temperature_add(c, 0.0f));
    OK(nexttok_sampler_chain_dist_add(c));
    n = survivors(c, tied, 3, out, 4, &tok);
    expect(out, n, (const int32_t[]){0}, (const double[]){1.0}, 1, "T=0");
    cr_assert_eq(tok, 0);
    nexttok_sampler_chain_free(c);
}

Test(sampler, top_k_keeps_the_k_best_with_ties_by_lower_id)
{
    /* {1, 2, 1, 0}, k = 2: token 1 (2), then of the tied 0 and 2 (1) the
     * lower id 0. Renormalized: e^2 / (e^2 + e^1) = 1 / (1 + e^-1) =
     * .7310586, and .2689414. */
    const float row[4] = {1, 2, 1, 0};
    nexttok_token_prob out[4];
    nexttok_sampler_chain *c = chain_new(4, 0);
    OK(nexttok_sampler_chain_top_k_add(c, 2));
    OK(nexttok_sampler_chain_greedy_add(c));
    size_t n = survivors(c, row, 4, out, 4, NULL);
    expect(out, n, (const int32_t[]){1, 0}, (const double[]){.7310586, .2689414}, 2, "k=2");
    nexttok_sampler_chain_free(c);
    /* k beyond the vocabulary keeps all. */
    c = chain_new(4, 0);
    OK(nexttok_sampler_chain_top_k_add(c, 100));
    OK(nexttok_sampler_chain_greedy_add(c));
    cr_assert_eq(survivors(c, row, 4, out, 4, NULL), 4u);
    nexttok_sampler_chain_free(c);
}

Test(sampler, top_p_threshold_is_inclusive)
{
    /* Equal logits: p = .25 each, exactly. top_p .5: the running sum is
     * .25, then .5 >= .5, so two are kept (an exclusive rule would keep
     * three); ties rank by lower id, so tokens 0 and 1. */
    const float flat[4] = {0, 0, 0, 0};
    nexttok_token_prob out[4];
    nexttok_sampler_chain *c = chain_new(4, 0);
    OK(nexttok_sampler_chain_top_p_add(c, 0.5f));
    OK(nexttok_sampler_chain_greedy_add(c));
    size_t n = survivors(c, flat, 4, out, 4, NULL);
    expect(out, n, (const int32_t[]){0, 1}, (const double[]){.5, .5}, 2, "p=.5");
    nexttok_sampler_chain_free(c);
    /* {2, 1, 0, -1}: weights e^2 = 7.3890561, e^1 = 2.7182818, 1,
     * e^-1 = .3678794; sum 11.4752173; p = .6439142, .2368828, .0871443,
     * .0320586. top_p .85: .6439 < .85, .8808 >= .85: tokens 0 and 1,
     * renormalized to .7310586 and .2689414. */
    const float row[4] = {2, 1, 0, -1};
    c = chain_new(4, 0);
    OK(nexttok_sampler_chain_top_p_add(c, 0.85f));
    OK(nexttok_sampler_chain_greedy_add(c));
    n = survivors(c, row, 4, out, 4, NULL);
    expect(out, n, (const int32_t[]){0, 1}, (const double[]){.7310586, .2689414}, 2, "p=.85");
    nexttok_sampler_chain_free(c);
    /* p = 1 keeps everything. */
    c = chain_new(4, 0);
    OK(nexttok_sampler_chain_top_p_add(c, 1.0f));
    OK(nexttok_sampler_chain_greedy_add(c));
    cr_assert_eq(survivors(c, row, 4, out, 4, NULL), 4u);
    nexttok_sampler_chain_free(c);
}

Test(sampler, top_p_over_a_large_flat_tail_ranks_far_enough)
{
    /* 1000 equal logits and one higher: the nucleus must reach past the
     * first ranked block. Token 500 has logit ln 100, so p = 100/1099 =
     * .0909918 and each other 1/1099. top_p .5 needs 100 + 450 = 550/1099
     * = .50045 >= .5 (449 others give .49954): 451 candidates, token 500
     * first, then tokens 0..449. */
    enum { V = 1001 };
    static float row[V];
    for (int i = 0; i < V; i++) row[i] = 0.0f;
    row[500] = logf(100.0f);
    static nexttok_token_prob out[V];
    nexttok_sampler_chain *c = chain_new(V, 0);
    OK(nexttok_sampler_chain_top_p_add(c, 0.5f));
    OK(nexttok_sampler_chain_greedy_add(c));
    size_t n = survivors(c, row, V, out, V, NULL);
    cr_assert_eq(n, 451u);
    cr_assert_eq(out[0].id, 500);
    for (size_t i = 1; i < n; i++) cr_assert_eq(out[i].id, (int32_t)i - 1);
    nexttok_sampler_chain_free(c);
}

Test(sampler, min_p_is_relative_to_the_best)
{
    /* {0, -1, -2, -3}: p_i / p_max = 1, e^-1 = .368, e^-2 = .135,
     * e^-3 = .0498. min_p .1 keeps 0, 1, 2; renormalized over
     * 1 + .3678794 + .1353353 = 1.5032147: .6652410, .2447285, .0900306. */
    const float row[4] = {0, -1, -2, -3};
    nexttok_token_prob out[4];
    nexttok_sampler_chain *c = chain_new(4, 0);
    OK(nexttok_sampler_chain_min_p_add(c, 0.1f));
    OK(nexttok_sampler_chain_greedy_add(c));
    size_t n = survivors(c, row, 4, out, 4, NULL);
    expect(out, n, (const int32_t[]){0, 1, 2}, (const double[]){.6652410, .2447285, .0900306}, 3, "min_p .1");
    nexttok_sampler_chain_free(c);
    /* min_p 1 keeps the candidates tied with the best. */
    const float tied[3] = {2, 1, 2};
    c = chain_new(3, 0);
    OK(nexttok_sampler_chain_min_p_add(c, 1.0f));
    OK(nexttok_sampler_chain_greedy_add(c));
    n = survivors(c, tied, 3, out, 3, NULL);
    expect(out, n, (const int32_t[]){0, 2}, (const double[]){.5, .5}, 2, "min_p 1");
    nexttok_sampler_chain_free(c);
}

Test(sampler, typical_keeps_the_most_typical_not_the_most_probable)
{
    /* p = {.4, .3, .2, .1} (logits ln p). -ln p = .9162907, 1.2039728,
     * 1.6094379, 2.3025851; H = .4*.9162907 + .3*1.2039728 +
     * .2*1.6094379 + .1*2.3025851 = 1.2798542. Scores |-ln p - H| =
     * .3635635, .0758814, .3295837, 1.0227309: most typical first is
     * token 1 (.3), then 2 (.2), then 0 (.4), then 3.
     * typical .45: .3 < .45, .5 >= .45: tokens 1 and 2, renormalized .6
     * and .4 (top-p .45 would have kept token 0 alone). */
    const float row[4] = {logf(.4f), logf(.3f), logf(.2f), logf(.1f)};
    nexttok_token_prob out[4];
    nexttok_sampler_chain *c = chain_new(4, 0);
    OK(nexttok_sampler_chain_typical_add(c, 0.45f));
    OK(nexttok_sampler_chain_greedy_add(c));
    int32_t tok;
    size_t n = survivors(c, row, 4, out, 4, &tok);
    expect(out, n, (const int32_t[]){1, 2}, (const double[]){.6, .4}, 2, "typical .45");
    cr_assert_eq(tok, 1);
    nexttok_sampler_chain_free(c);
    /* typical .85: .3, .5, .9 >= .85: tokens 1, 2, 0; by probability
     * 0 (.4/.9 = .4444444), 1 (.3333333), 2 (.2222222). */
    c = chain_new(4, 0);
    OK(nexttok_sampler_chain_typical_add(c, 0.85f));
    OK(nexttok_sampler_chain_greedy_add(c));
    n = survivors(c, row, 4, out, 4, &tok);
    expect(out, n, (const int32_t[]){0, 1, 2}, (const double[]){.4444444, .3333333, .2222222}, 3, "typical .85");
    nexttok_sampler_chain_free(c);
}

/* Probabilities of `logits` in rank order, for comparing with survivors. */
static void softmax_ranked(const float *logits, int32_t n, int32_t *ids, double *probs)
{
    double max = -INFINITY, sum = 0.0;
    for (int32_t i = 0; i < n; i++) max = fmax(max, logits[i]);
    for (int32_t i = 0; i < n; i++) sum += exp(logits[i] - max);
    for (int32_t i = 0; i < n; i++) ids[i] = i;
    for (int32_t i = 1; i < n; i++)
        for (int32_t j = i; j > 0 && (logits[ids[j]] > logits[ids[j - 1]] ||
                                      (logits[ids[j]] == logits[ids[j - 1]] && ids[j] < ids[j - 1]));
             j--) {
            int32_t t = ids[j];
            ids[j] = ids[j - 1];
            ids[j - 1] = t;
        }
    for (int32_t i = 0; i < n; i++) probs[i] = exp(logits[ids[i]] - max) / sum;
}

static void expect_logits(nexttok_sampler_chain *c, const float *row, const float *want, int32_t n, const char *what)
{
    nexttok_token_prob out[8];
    int32_t ids[8];
    double probs[8];
    size_t got = survivors(c, row, (size_t)n, out, 8, NULL);
    softmax_ranked(want, n, ids, probs);
    expect(out, got, ids, probs, (size_t)n, what);
}

Test(sampler, penalties_apply_over_the_window_as_llama_cpp_does)
{
    /* Window of 3; accepted 0, 1, 0, 3, so the window holds 1, 0, 3 (the
     * first 0 left it): counts 0:1, 1:1, 3:1. repeat 2, frequency .5,
     * presence .25 (each penalized token loses 1*.5 + .25 = .75):
     *   token 0:  2   -> 2/2 = 1    -> .25
     *   token 1: -1   -> -1*2 = -2  -> -2.75
     *   token 3:  1   -> 1/2 = .5   -> -.25
     * others unchanged. */
    const float row[6] = {2, -1, .5f, 1, 3, -2};
    nexttok_sampler_chain *c = chain_new(6, 0);
    OK(nexttok_sampler_chain_penalties_add(c, 3, 2.0f, 0.5f, 0.25f));
    OK(nexttok_sampler_chain_greedy_add(c));
    expect_logits(c, row, row, 6, "empty history");
    const int32_t hist[4] = {0, 1, 0, 3};
    for (int i = 0; i < 4; i++) OK(nexttok_sampler_chain_accept(c, hist[i]));
    expect_logits(c, row, (const float[]){.25f, -2.75f, .5f, -.25f, 3, -2}, 6, "window 1 0 3");
    /* After a reset: accept 0, 0: count 2, so token 0 loses 2*.5 + .25:
     * 2/2 - 1.25 = -.25. */
    OK(nexttok_sampler_chain_reset(c));
    OK(nexttok_sampler_chain_accept(c, 0));
    OK(nexttok_sampler_chain_accept(c, 0));
    expect_logits(c, row, (const float[]){-.25f, -1, .5f, 1, 3, -2}, 6, "token 0 twice");
    /* Three more tokens push both 0s out: 4 loses 3/2 - .75 -> .75, 5
     * (once) -2*2 - .75 = -4.75, 2 (once) .25 - .75 = -.5. */
    OK(nexttok_sampler_chain_accept(c, 4));
    OK(nexttok_sampler_chain_accept(c, 5));
    OK(nexttok_sampler_chain_accept(c, 2));
    expect_logits(c, row, (const float[]){2, -1, -.5f, 1, .75f, -4.75f}, 6, "0s left the window");
    nexttok_sampler_chain_free(c);
    /* last_n 0 remembers nothing. */
    c = chain_new(6, 0);
    OK(nexttok_sampler_chain_penalties_add(c, 0, 2.0f, 1.0f, 1.0f));
    OK(nexttok_sampler_chain_greedy_add(c));
    OK(nexttok_sampler_chain_accept(c, 4));
    expect_logits(c, row, row, 6, "last_n 0");
    nexttok_sampler_chain_free(c);
}

Test(sampler, logit_bias_adds_sums_duplicates_and_bans)
{
    /* Equal logits; token 1 gets ln 3 in two halves, token 2 ln 2, token 3
     * -inf. Weights 1, 3, 2 for tokens 0, 1, 2: p = 1/2 (1), 1/3 (2),
     * 1/6 (0); token 3 is gone. */
    const float row[4] = {0, 0, 0, 0};
    const float half_ln3 = 0.5f * logf(3.0f);
    const nexttok_logit_bias b[4] = {{1, half_ln3}, {3, -INFINITY}, {2, logf(2.0f)}, {1, half_ln3}};
    nexttok_token_prob out[4];
    nexttok_sampler_chain *c = chain_new(4, 0);
    OK(nexttok_sampler_chain_logit_bias_add(c, b, 4));
    OK(nexttok_sampler_chain_dist_add(c));
    size_t n = survivors(c, row, 4, out, 4, NULL);
    expect(out, n, (const int32_t[]){1, 2, 0}, (const double[]){.5, 1.0 / 3, 1.0 / 6}, 3, "bias");
    /* Replacing the entries: only token 0 +ln 3 now: 3/6, then 1/6 each. */
    const nexttok_logit_bias b2[1] = {{0, logf(3.0f)}};
    OK(nexttok_sampler_chain_logit_bias_set(c, 0, b2, 1));
    n = survivors(c, row, 4, out, 4, NULL);
    expect(out, n, (const int32_t[]){0, 1, 2, 3}, (const double[]){.5, 1.0 / 6, 1.0 / 6, 1.0 / 6}, 4, "bias set");
    nexttok_sampler_chain_free(c);
    /* Once the candidates are no longer the whole vocabulary in id order
     * (after top-k), the bias finds tokens by id: top-2 of {0, 5, 4, 1} is
     * tokens 1 and 2; +1 on token 2 makes them 5 and 5, tie to token 1. */
    const float row2[4] = {0, 5, 4, 1};
    c = chain_new(4, 0);
    OK(nexttok_sampler_chain_top_k_add(c, 2));
    OK(nexttok_sampler_chain_logit_bias_add(c, (const nexttok_logit_bias[]){{2, 1.0f}, {0, 9.0f}}, 2));
    OK(nexttok_sampler_chain_greedy_add(c));
    n = survivors(c, row2, 4, out, 4, NULL);
    expect(out, n, (const int32_t[]){1, 2}, (const double[]){.5, .5}, 2, "bias after top-k");
    nexttok_sampler_chain_free(c);
}

Test(sampler, mask_allows_only_the_given_tokens)
{
    /* 70 tokens (two bitset words), logit = id / 10: greedy picks the
     * highest allowed id. */
    enum { V = 70 };
    float row[V];
    for (int i = 0; i < V; i++) row[i] = (float)i / 10.0f;
    nexttok_sampler_chain *c = chain_new(V, 0);
    OK(nexttok_sampler_chain_mask_add(c));
    OK(nexttok_sampler_chain_greedy_add(c));
    int32_t tok;
    OK(nexttok_sampler_chain_logits_sample(c, row, V, &tok));
    cr_assert_eq(tok, 69, "everything allowed before the mask is set");
    OK(nexttok_sampler_chain_mask_tokens_set(c, 0, (const int32_t[]){3, 65, 10, 3}, 4));
    OK(nexttok_sampler_chain_logits_sample(c, row, V, &tok));
    cr_assert_eq(tok, 65);
    uint64_t bits[2] = {(1ull << 7) | (1ull << 20), 1ull << (66 - 64)};
    OK(nexttok_sampler_chain_mask_set(c, 0, bits, 2));
    nexttok_token_prob out[V];
    size_t n = survivors(c, row, V, out, V, &tok);
    cr_assert_eq(tok, 66);
    cr_assert_eq(n, 3u);
    cr_assert_eq(out[1].id, 20);
    cr_assert_eq(out[2].id, 7);
    /* Nothing allowed: the draw says which stage left nothing. */
    OK(nexttok_sampler_chain_mask_tokens_set(c, 0, NULL, 0));
    cr_assert_eq(nexttok_sampler_chain_logits_sample(c, row, V, &tok), NEXTTOK_ERR_STATE);
    cr_assert(strstr(nexttok_error_message(), "greedy"), "%s", nexttok_error_message());
    OK(nexttok_sampler_chain_mask_set(c, 0, NULL, 0));
    OK(nexttok_sampler_chain_logits_sample(c, row, V, &tok));
    cr_assert_eq(tok, 69);
    nexttok_sampler_chain_free(c);
}

Test(sampler, greedy_takes_the_lower_id_on_ties)
{
    const float row[4] = {1, 5, 5, 2};
    nexttok_sampler_chain *c = chain_new(4, 0);
    OK(nexttok_sampler_chain_greedy_add(c));
    int32_t tok;
    OK(nexttok_sampler_chain_logits_sample(c, row, 4, &tok));
    cr_assert_eq(tok, 1);
    nexttok_sampler_chain_free(c);
}

Test(sampler, the_order_of_stages_matters)
{
    /* {2, 1, 0, -1}. top-p .8 first: p = .6439, .2369 (see top_p test):
     * .8808 >= .8 keeps tokens 0 and 1; then T = .5 makes them 4 and 2:
     * p = 1/(1 + e^-2) = .8807971 and .1192029.
     * T = .5 first: logits 4, 2, 0, -2, weights 54.59815, 7.389056, 1,
     * .1353353, sum 63.12254: p(0) = .8649548 >= .8 keeps token 0 alone. */
    const float row[4] = {2, 1, 0, -1};
    nexttok_token_prob out[4];
    nexttok_sampler_chain *a = chain_new(4, 0), *b = chain_new(4, 0);
    OK(nexttok_sampler_chain_top_p_add(a, 0.8f));
    OK(nexttok_sampler_chain_temperature_add(a, 0.5f));
    OK(nexttok_sampler_chain_dist_add(a));
    OK(nexttok_sampler_chain_temperature_add(b, 0.5f));
    OK(nexttok_sampler_chain_top_p_add(b, 0.8f));
    OK(nexttok_sampler_chain_dist_add(b));
    size_t n = survivors(a, row, 4, out, 4, NULL);
    expect(out, n, (const int32_t[]){0, 1}, (const double[]){.8807971, .1192029}, 2, "top-p then T");
    n = survivors(b, row, 4, out, 4, NULL);
    expect(out, n, (const int32_t[]){0}, (const double[]){1.0}, 1, "T then top-p");
    nexttok_sampler_chain_free(a);
    nexttok_sampler_chain_free(b);
}

/* ---- drawing against the documented rule ------------------------------------ */

/* The dist rule of nexttok.h, written from its text: candidates in id
 * order, w = exp(l - max) in double, u = top 53 bits * 2^-53, the first
 * whose running sum exceeds u * sum. `keep` marks the candidates. */
static int32_t ref_dist(const float *l, const unsigned char *keep, int32_t n, uint64_t s[4])
{
    double max = -INFINITY, sum = 0.0;
    for (int32_t i = 0; i < n; i++)
        if (keep[i] && l[i] > max) max = l[i];
    for (int32_t i = 0; i < n; i++)
        if (keep[i]) sum += exp((double)l[i] - max);
    const double target = (double)(ref_next(s) >> 11) / 9007199254740992.0 * sum;
    double acc = 0.0;
    for (int32_t i = 0; i < n; i++) {
        if (!keep[i]) continue;
        acc += exp((double)l[i] - max);
        if (acc > target) return i;
    }
    return -1;
}

static void ref_seed(uint64_t seed, uint64_t s[4])
{
    /* splitmix64 as its reference code has it */
    for (int i = 0; i < 4; i++) {
        uint64_t z = (seed += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        s[i] = z ^ (z >> 31);
    }
}

Test(sampler, dist_draws_by_the_documented_rule)
{
    const float row[5] = {1.0f, 0.5f, -0.3f, 2.0f, 0.0f};
    const float t = 0.7f;
    float scaled[5];
    for (int i = 0; i < 5; i++) scaled[i] = row[i] / t;
    const unsigned char all[5] = {1, 1, 1, 1, 1};
    nexttok_sampler_chain *c = chain_new(5, 1234);
    OK(nexttok_sampler_chain_temperature_add(c, t));
    OK(nexttok_sampler_chain_dist_add(c));
    uint64_t s[4];
    ref_seed(1234, s);
    int hits[5] = {0};
    for (int i = 0; i < 2000; i++) {
        int32_t tok;
        OK(nexttok_sampler_chain_logits_sample(c, row, 5, &tok));
        cr_assert_eq(tok, ref_dist(scaled, all, 5, s), "draw %d", i);
        hits[tok]++;
    }
    for (int i = 0; i < 5; i++) cr_assert_gt(hits[i], 0, "token %d never drawn", i);
    nexttok_sampler_chain_free(c);
}

/* One step of the chain the golden test uses, recomputed from the header's
 * rules: penalties (window 16, repeat 1.3, frequency .1, presence .2),
 * temperature .8, top-k 40, top-p .95, dist. */
typedef struct ref_ctx {
    int32_t V;
    int32_t window[16], n_window;
    float *l;
    int32_t *order;
    unsigned char *keep;
    uint64_t s[4];
} ref_ctx;

static const float *rank_logits;
static int rank_cmp(const void *a, const void *b)
{
    const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (rank_logits[x] != rank_logits[y]) return rank_logits[x] > rank_logits[y] ? -1 : 1;
    return (x > y) - (x < y);
}

static int32_t ref_step(ref_ctx *r, const float *logits)
{
    const int32_t V = r->V;
    for (int32_t i = 0; i < V; i++) {
        int32_t cnt = 0;
        for (int32_t j = 0; j < r->n_window; j++) cnt += r->window[j] == i;
        float x = logits[i];
        if (cnt > 0) {
            x = x > 0.0f ? x / 1.3f : x * 1.3f;
            x -= (float)cnt * 0.1f + 0.2f;
        }
        r->l[i] = x / 0.8f;
        r->order[i] = i;
        r->keep[i] = 0;
    }
    rank_logits = r->l;
    qsort(r->order, (size_t)V, sizeof *r->order, rank_cmp);
    const int32_t k = 40;
    double max = r->l[r->order[0]], sum = 0.0;
    for (int32_t i = 0; i < k; i++) sum += exp((double)r->l[r->order[i]] - max);
    double cum = 0.0;
    for (int32_t i = 0; i < k; i++) {
        r->keep[r->order[i]] = 1;
        cum += exp((double)r->l[r->order[i]] - max) / sum;
        if (cum >= 0.95) break;
    }
    return ref_dist(r->l, r->keep, V, r->s);
}

static void ref_accept(ref_ctx *r, int32_t tok)
{
    if (r->n_window == 16) {
        memmove(r->window, r->window + 1, 15 * sizeof *r->window);
        r->n_window--;
    }
    r->window[r->n_window++] = tok;
}

static nexttok_sampler_chain *golden_chain(int32_t V, uint64_t seed)
{
    nexttok_sampler_chain *c = chain_new(V, seed);
    OK(nexttok_sampler_chain_penalties_add(c, 16, 1.3f, 0.1f, 0.2f));
    OK(nexttok_sampler_chain_temperature_add(c, 0.8f));
    OK(nexttok_sampler_chain_top_k_add(c, 40));
    OK(nexttok_sampler_chain_top_p_add(c, 0.95f));
    OK(nexttok_sampler_chain_dist_add(c));
    return c;
}

static const int32_t prompt[] = {1, 403, 261, 300, 265, 270, 289, 261};

/* Generate n tokens after the prompt with `c` on a session of n_threads;
 * the prompt's tokens enter the penalties' window too. */
static void generate(const nexttok_model *m, int32_t n_threads, nexttok_sampler_chain *c, int32_t *out, int n,
                     float *logits_copy)
{
    nexttok_session_params sp;
    nexttok_session_params_init(&sp, sizeof sp);
    sp.n_ctx = 64;
    sp.n_threads = n_threads;
    nexttok_session *s = NULL;
    OK(nexttok_session_create(m, &sp, &s));
    const int32_t V = nexttok_model_n_vocab_get(m);
    OK(nexttok_session_feed(s, prompt, 8, NULL, 0));
    for (int i = 0; i < 8; i++) OK(nexttok_sampler_chain_accept(c, prompt[i]));
    for (int i = 0; i < n; i++) {
        if (logits_copy) {
            const float *lg;
            OK(nexttok_session_logits_get(s, &lg));
            memcpy(logits_copy + (size_t)i * V, lg, (size_t)V * sizeof *lg);
        }
        OK(nexttok_sampler_chain_sample(c, s, &out[i]));
        OK(nexttok_sampler_chain_accept(c, out[i]));
        OK(nexttok_session_feed(s, &out[i], 1, NULL, 0));
    }
    nexttok_session_free(s);
}

Test(sampler, seeded_generation_on_a_fixture_follows_the_rules)
{
    nexttok_model *m = nt_test_model_load("models/aidreams260K.gguf");
    const int32_t V = nexttok_model_n_vocab_get(m);
    enum { N = 40 };
    float *rows = malloc((size_t)N * V * sizeof *rows);
    ref_ctx r = {.V = V, .l = malloc((size_t)V * sizeof(float)), .order = malloc((size_t)V * sizeof(int32_t)),
                 .keep = malloc((size_t)V)};
    cr_assert(rows && r.l && r.order && r.keep);
    int32_t got[N];
    nexttok_sampler_chain *c = golden_chain(V, 2024);
    generate(m, 1, c, got, N, rows);
    ref_seed(2024, r.s);
    for (int i = 0; i < 8; i++) ref_accept(&r, prompt[i]);
    int distinct = 0;
    for (int i = 0; i < N; i++) {
        const int32_t want = ref_step(&r, rows + (size_t)i * V);
        cr_assert_eq(got[i], want, "token %d: chain drew %d, the rules give %d", i, got[i], want);
        ref_accept(&r, want);
        distinct += i == 0 || got[i] != got[i - 1];
    }
    cr_assert_gt(distinct, N / 4, "a sampled run should not be one token repeated");
    nexttok_sampler_chain_free(c);
    free(rows);
    free(r.l);
    free(r.order);
    free(r.keep);
    nexttok_model_free(m);
}

Test(sampler, draws_are_identical_across_thread_counts)
{
    nexttok_model *m = nt_test_model_load("models/llama-tiny-f32.gguf");
    const int32_t V = nexttok_model_n_vocab_get(m);
    enum { N = 24 };
    float *rows1 = malloc((size_t)N * V * sizeof(float)), *rows2 = malloc((size_t)N * V * sizeof(float));
    int32_t t1[N], t2[N];
    nexttok_sampler_chain *a = golden_chain(V, 5), *b = golden_chain(V, 5);
    generate(m, 1, a, t1, N, rows1);
    generate(m, 2, b, t2, N, rows2);
    cr_assert(memcmp(rows1, rows2, (size_t)N * V * sizeof(float)) == 0, "logits differ between 1 and 2 threads");
    cr_assert(memcmp(t1, t2, sizeof t1) == 0, "tokens differ between 1 and 2 threads");
    nexttok_sampler_chain_free(a);
    nexttok_sampler_chain_free(b);
    free(rows1);
    free(rows2);
    nexttok_model_free(m);
}

/* Wide filters: thousands of survivors, so the library's full sorts and
 * its bitset return to id order run; the rules are recomputed here with
 * qsort. The probabilities are formed as the header says (softmax over the
 * candidates in double; the sum taken in the order the candidates are in,
 * which for a first stage is id order). */
static const double *sort_keys;
static int key_cmp(const void *a, const void *b)
{
    const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (sort_keys[x] != sort_keys[y]) return sort_keys[x] < sort_keys[y] ? -1 : 1;
    return (x > y) - (x < y);
}

static void ref_softmax(const float *l, int32_t n, double *p)
{
    double max = -INFINITY, sum = 0.0;
    for (int32_t i = 0; i < n; i++) max = fmax(max, (double)l[i]);
    for (int32_t i = 0; i < n; i++) sum += p[i] = exp((double)l[i] - max);
    const double inv = 1.0 / sum;
    for (int32_t i = 0; i < n; i++) p[i] *= inv;
}

/* Which tokens top-p (or typical-p) at `mass` keeps of `row`, by the
 * header's rules; returns how many. */
static int32_t ref_wide_keep(const float *row, int32_t V, int typical, double mass, unsigned char *keep)
{
    double *p = malloc((size_t)V * sizeof *p), *key = malloc((size_t)V * sizeof *key);
    int32_t *order = malloc((size_t)V * sizeof *order);
    cr_assert(p && key && order);
    ref_softmax(row, V, p);
    if (typical) {
        double h = 0.0;
        for (int32_t i = 0; i < V; i++)
            if (p[i] > 0.0) h -= p[i] * log(p[i]);
        for (int32_t i = 0; i < V; i++) key[i] = fabs(-log(p[i]) - h);
    } else {
        for (int32_t i = 0; i < V; i++) key[i] = -(double)row[i]; /* rank order: higher logit first */
    }
    for (int32_t i = 0; i < V; i++) order[i] = i;
    sort_keys = key;
    qsort(order, (size_t)V, sizeof *order, key_cmp);
    memset(keep, 0, (size_t)V);
    double cum = 0.0;
    int32_t kept = 0;
    for (int32_t i = 0; i < V; i++) {
        keep[order[i]] = 1;
        kept++;
        cum += p[order[i]];
        if (cum >= mass) break;
    }
    free(p);
    free(key);
    free(order);
    return kept;
}

static void wide_filter_case(int typical)
{
    /* Two rows drawn from in turn, so survivors change between draws. */
    enum { V = 3000, DRAWS = 300 };
    static float rows[2][V];
    static unsigned char keep[2][V];
    for (int32_t i = 0; i < V; i++) {
        rows[0][i] = 1.5f * sinf((float)i * 0.731f) + 0.8f * cosf((float)i * 0.0123f);
        rows[1][V - 1 - i] = 1.2f * rows[0][i];
    }
    const double mass = 0.9;
    int32_t kept[2];
    for (int r = 0; r < 2; r++) {
        kept[r] = ref_wide_keep(rows[r], V, typical, mass, keep[r]);
        cr_assert_gt(kept[r], 1000, "the case should keep thousands (%d)", kept[r]);
    }
    nexttok_sampler_chain *c = chain_new(V, 404);
    if (typical) OK(nexttok_sampler_chain_typical_add(c, (float)mass));
    else OK(nexttok_sampler_chain_top_p_add(c, (float)mass));
    OK(nexttok_sampler_chain_dist_add(c));
    uint64_t s[4];
    ref_seed(404, s);
    for (int i = 0; i < DRAWS; i++) {
        int32_t tok;
        OK(nexttok_sampler_chain_logits_sample(c, rows[i & 1], V, &tok));
        cr_assert_eq(tok, ref_dist(rows[i & 1], keep[i & 1], V, s), "draw %d", i);
    }
    static nexttok_token_prob out[V];
    size_t n = 0;
    OK(nexttok_sampler_chain_candidates_get(c, out, V, &n));
    cr_assert_eq(n, (size_t)kept[1]);
    for (size_t i = 0; i < n; i++) cr_assert(keep[1][out[i].id], "token %d should have been filtered", out[i].id);
    nexttok_sampler_chain_free(c);
}

Test(sampler, a_wide_top_p_then_dist_follows_the_rules) { wide_filter_case(0); }

Test(sampler, a_wide_typical_then_dist_follows_the_rules) { wide_filter_case(1); }

/* ---- state: reset, clone -------------------------------------------------- */

/* A 300-token row that is not flat, and a chain with history. */
static void wavy_row(float *row, int32_t n)
{
    for (int32_t i = 0; i < n; i++) row[i] = 2.0f * sinf((float)i * 0.37f) + (float)(i % 7) * 0.1f;
}

static void draw_accepting(nexttok_sampler_chain *c, const float *row, int32_t V, int32_t *out, int n)
{
    for (int i = 0; i < n; i++) {
        OK(nexttok_sampler_chain_logits_sample(c, row, (size_t)V, &out[i]));
        OK(nexttok_sampler_chain_accept(c, out[i]));
    }
}

Test(sampler, reset_and_clone_reproduce_sequences)
{
    enum { V = 300, N = 30 };
    float row[V];
    wavy_row(row, V);
    nexttok_sampler_chain *c = chain_new(V, 77);
    OK(nexttok_sampler_chain_penalties_add(c, 8, 1.5f, 0.3f, 0.3f));
    OK(nexttok_sampler_chain_mask_add(c));
    OK(nexttok_sampler_chain_top_k_add(c, 50));
    OK(nexttok_sampler_chain_dist_add(c));
    int32_t first[N], again[N], tail[N], clone_tail[N];
    draw_accepting(c, row, V, first, N);
    OK(nexttok_sampler_chain_reset(c));
    draw_accepting(c, row, V, again, N);
    cr_assert(memcmp(first, again, sizeof first) == 0, "reset does not restart the sequence");
    /* The penalties matter here: without them the sequence would differ. */
    nexttok_sampler_chain *plain = chain_new(V, 77);
    OK(nexttok_sampler_chain_top_k_add(plain, 50));
    OK(nexttok_sampler_chain_dist_add(plain));
    int32_t unpenalized[N];
    draw_accepting(plain, row, V, unpenalized, N);
    cr_assert(memcmp(first, unpenalized, sizeof first) != 0, "the penalties changed nothing");
    nexttok_sampler_chain_free(plain);
    /* Clone mid-way: both continue alike, and independently. */
    nexttok_sampler_chain *d = NULL;
    OK(nexttok_sampler_chain_clone(c, &d));
    cr_assert_eq(nexttok_sampler_chain_n_stages_get(d), 4);
    draw_accepting(c, row, V, tail, N);
    draw_accepting(d, row, V, clone_tail, N);
    cr_assert(memcmp(tail, clone_tail, sizeof tail) == 0, "a clone draws differently");
    OK(nexttok_sampler_chain_mask_tokens_set(d, 1, (const int32_t[]){5}, 1));
    int32_t tok;
    OK(nexttok_sampler_chain_logits_sample(d, row, V, &tok));
    cr_assert_eq(tok, 5);
    OK(nexttok_sampler_chain_logits_sample(c, row, V, &tok));
    cr_assert_neq(tok, -1);
    nexttok_sampler_chain_free(c);
    nexttok_sampler_chain_free(d);
}

Test(sampler, the_classic_sampler_runs_the_default_chain)
{
    nexttok_model *m = nt_test_model_load("models/aidreams260K.gguf");
    const int32_t V = nexttok_model_n_vocab_get(m);
    nexttok_session *s = NULL;
    OK(nexttok_session_create(m, NULL, &s));
    OK(nexttok_session_feed(s, prompt, 8, NULL, 0));
    nexttok_sampler_params p;
    nexttok_sampler_params_init(&p, sizeof p);
    p.temperature = 0.9f;
    p.top_k = 30;
    p.top_p = 0.9f;
    p.min_p = 0.02f;
    p.seed = 11;
    nexttok_sampler *old = NULL;
    nexttok_sampler_chain *c = NULL;
    OK(nexttok_sampler_create(&p, &old));
    OK(nexttok_sampler_chain_default_create(V, &p, &c));
    const char *names[] = {"temperature", "top-k", "top-p", "min-p", "dist"};
    cr_assert_eq(nexttok_sampler_chain_n_stages_get(c), 5);
    for (int i = 0; i < 5; i++) cr_assert_str_eq(nexttok_sampler_chain_stage_name_get(c, i), names[i]);
    cr_assert_null(nexttok_sampler_chain_stage_name_get(c, 5));
    for (int i = 0; i < 50; i++) {
        int32_t a, b;
        OK(nexttok_sampler_sample(old, s, &a));
        OK(nexttok_sampler_chain_sample(c, s, &b));
        cr_assert_eq(a, b, "draw %d", i);
    }
    nexttok_sampler_chain_free(c);
    p.temperature = 0.0f;
    OK(nexttok_sampler_chain_default_create(V, &p, &c));
    cr_assert_eq(nexttok_sampler_chain_n_stages_get(c), 1);
    cr_assert_str_eq(nexttok_sampler_chain_stage_name_get(c, 0), "greedy");
    nexttok_sampler_chain_free(c);
    nexttok_sampler_free(old);
    nexttok_session_free(s);
    nexttok_model_free(m);
}

/* ---- memory ------------------------------------------------------------------- */

Test(sampler, a_draw_allocates_nothing)
{
    /* A GPT-2-sized row and every stage, the classic sampler included. */
    enum { V = 50257 };
    float *row = malloc(V * sizeof *row);
    cr_assert(row);
    for (int32_t i = 0; i < V; i++) row[i] = 3.0f * sinf((float)i * 0.011f) + (float)(i % 13) * 0.05f;
    nexttok_sampler_chain *c = chain_new(V, 3);
    OK(nexttok_sampler_chain_penalties_add(c, 64, 1.1f, 0.1f, 0.1f));
    OK(nexttok_sampler_chain_logit_bias_add(c, (const nexttok_logit_bias[]){{7, 1.0f}, {9, -INFINITY}}, 2));
    OK(nexttok_sampler_chain_mask_add(c));
    OK(nexttok_sampler_chain_temperature_add(c, 0.9f));
    OK(nexttok_sampler_chain_typical_add(c, 0.99f));
    OK(nexttok_sampler_chain_top_p_add(c, 0.9f));
    OK(nexttok_sampler_chain_min_p_add(c, 0.01f));
    OK(nexttok_sampler_chain_top_k_add(c, 500));
    OK(nexttok_sampler_chain_dist_add(c));
    nexttok_token_prob *cand = malloc(V * sizeof *cand);
    int32_t allowed[1000];
    for (int i = 0; i < 1000; i++) allowed[i] = i * 37;
    const uint64_t before = nt_alloc_count();
    for (int i = 0; i < 20; i++) {
        int32_t tok;
        OK(nexttok_sampler_chain_logits_sample(c, row, V, &tok));
        OK(nexttok_sampler_chain_accept(c, tok));
        size_t n;
        OK(nexttok_sampler_chain_candidates_get(c, cand, V, &n));
        if (i == 10) OK(nexttok_sampler_chain_mask_tokens_set(c, 2, allowed, 1000));
        if (i == 15) OK(nexttok_sampler_chain_reset(c));
    }
    cr_assert_eq(nt_alloc_count(), before, "%llu allocations in 20 draws",
                 (unsigned long long)(nt_alloc_count() - before));
    nexttok_sampler_chain_free(c);
    free(cand);
    free(row);
}

Test(sampler, the_classic_sampler_allocates_only_on_its_first_draw)
{
    nexttok_model *m = nt_test_model_load("models/aidreams260K.gguf");
    nexttok_session *s = NULL;
    OK(nexttok_session_create(m, NULL, &s));
    OK(nexttok_session_feed(s, prompt, 8, NULL, 0));
    nexttok_sampler_params p;
    nexttok_sampler_params_init(&p, sizeof p);
    p.top_k = 20;
    nexttok_sampler *sm = NULL;
    OK(nexttok_sampler_create(&p, &sm));
    int32_t tok;
    OK(nexttok_sampler_sample(sm, s, &tok));
    const uint64_t before = nt_alloc_count();
    for (int i = 0; i < 20; i++) OK(nexttok_sampler_sample(sm, s, &tok));
    cr_assert_eq(nt_alloc_count(), before);
    nexttok_sampler_free(sm);
    nexttok_session_free(s);
    nexttok_model_free(m);
}

/* ---- errors --------------------------------------------------------------------- */

#define FAILS(call, status, needle)                                                                         \
    do {                                                                                                    \
        cr_assert_eq((call), (status), "%s: %s", #call, nexttok_error_message());                          \
        cr_assert(strstr(nexttok_error_message(), (needle)), "%s: message '%s' lacks '%s'", #call,          \
                  nexttok_error_message(), (needle));                                                       \
    } while (0)

Test(sampler, bad_arguments_name_the_problem)
{
    nexttok_sampler_chain *c = (nexttok_sampler_chain *)&c;
    FAILS(nexttok_sampler_chain_create(0, NULL, &c), NEXTTOK_ERR_INVALID_ARGUMENT, "n_vocab 0");
    cr_assert_null(c);
    FAILS(nexttok_sampler_chain_create(4, NULL, NULL), NEXTTOK_ERR_INVALID_ARGUMENT, "chain_out");
    OK(nexttok_sampler_chain_create(4, NULL, &c));
    FAILS(nexttok_sampler_chain_temperature_add(NULL, 1.0f), NEXTTOK_ERR_INVALID_ARGUMENT, "NULL");
    FAILS(nexttok_sampler_chain_temperature_add(c, -1.0f), NEXTTOK_ERR_INVALID_ARGUMENT, "temperature -1");
    FAILS(nexttok_sampler_chain_temperature_add(c, NAN), NEXTTOK_ERR_INVALID_ARGUMENT, "temperature");
    FAILS(nexttok_sampler_chain_temperature_add(c, INFINITY), NEXTTOK_ERR_INVALID_ARGUMENT, "temperature inf");
    FAILS(nexttok_sampler_chain_top_k_add(c, 0), NEXTTOK_ERR_INVALID_ARGUMENT, "top_k 0");
    FAILS(nexttok_sampler_chain_top_p_add(c, 0.0f), NEXTTOK_ERR_INVALID_ARGUMENT, "top_p 0 outside (0, 1]");
    FAILS(nexttok_sampler_chain_top_p_add(c, 1.5f), NEXTTOK_ERR_INVALID_ARGUMENT, "top_p 1.5");
    FAILS(nexttok_sampler_chain_top_p_add(c, NAN), NEXTTOK_ERR_INVALID_ARGUMENT, "top_p nan");
    FAILS(nexttok_sampler_chain_min_p_add(c, -0.1f), NEXTTOK_ERR_INVALID_ARGUMENT, "min_p -0.1");
    FAILS(nexttok_sampler_chain_typical_add(c, 0.0f), NEXTTOK_ERR_INVALID_ARGUMENT, "typical_p 0");
    FAILS(nexttok_sampler_chain_penalties_add(c, -1, 1, 0, 0), NEXTTOK_ERR_INVALID_ARGUMENT, "last_n -1");
    FAILS(nexttok_sampler_chain_penalties_add(c, 8, 0, 0, 0), NEXTTOK_ERR_INVALID_ARGUMENT, "repeat penalty 0");
    FAILS(nexttok_sampler_chain_penalties_add(c, 8, 1, NAN, 0), NEXTTOK_ERR_INVALID_ARGUMENT, "frequency");
    FAILS(nexttok_sampler_chain_penalties_add(c, 8, 1, 0, INFINITY), NEXTTOK_ERR_INVALID_ARGUMENT, "presence");
    FAILS(nexttok_sampler_chain_logit_bias_add(c, (const nexttok_logit_bias[]){{4, 1.0f}}, 1), NEXTTOK_ERR_TOKEN_RANGE,
          "token 4");
    FAILS(nexttok_sampler_chain_logit_bias_add(c, (const nexttok_logit_bias[]){{1, INFINITY}}, 1),
          NEXTTOK_ERR_INVALID_ARGUMENT, "bias inf");
    FAILS(nexttok_sampler_chain_logit_bias_add(c, NULL, 2), NEXTTOK_ERR_INVALID_ARGUMENT, "NULL");
    cr_assert_eq(nexttok_sampler_chain_n_stages_get(c), 0, "failed adds left stages behind");

    /* No selecting stage yet. */
    const float row[4] = {0, 1, 2, 3};
    int32_t tok = 7;
    FAILS(nexttok_sampler_chain_logits_sample(c, row, 4, &tok), NEXTTOK_ERR_STATE, "selecting stage");
    OK(nexttok_sampler_chain_mask_add(c));
    FAILS(nexttok_sampler_chain_mask_set(c, 1, NULL, 0), NEXTTOK_ERR_INVALID_ARGUMENT, "stage 1 does not exist");
    FAILS(nexttok_sampler_chain_mask_set(c, 0, (const uint64_t[]){1, 1}, 2), NEXTTOK_ERR_INVALID_ARGUMENT, "need 1");
    FAILS(nexttok_sampler_chain_mask_tokens_set(c, 0, (const int32_t[]){2, -1}, 2), NEXTTOK_ERR_TOKEN_RANGE,
          "token -1");
    FAILS(nexttok_sampler_chain_logit_bias_set(c, 0, NULL, 0), NEXTTOK_ERR_INVALID_ARGUMENT, "stage 0 is mask");
    OK(nexttok_sampler_chain_greedy_add(c));
    FAILS(nexttok_sampler_chain_top_k_add(c, 3), NEXTTOK_ERR_STATE, "greedy");
    FAILS(nexttok_sampler_chain_dist_add(c), NEXTTOK_ERR_STATE, "must be last");
    size_t n = 9;
    nexttok_token_prob out[4];
    FAILS(nexttok_sampler_chain_candidates_get(c, out, 4, &n), NEXTTOK_ERR_STATE, "no draw");

    /* Drawing. */
    FAILS(nexttok_sampler_chain_logits_sample(c, row, 5, &tok), NEXTTOK_ERR_INVALID_ARGUMENT, "row of 5");
    FAILS(nexttok_sampler_chain_logits_sample(c, NULL, 4, &tok), NEXTTOK_ERR_INVALID_ARGUMENT, "NULL");
    FAILS(nexttok_sampler_chain_logits_sample(c, (const float[]){0, NAN, 0, 0}, 4, &tok),
          NEXTTOK_ERR_INVALID_ARGUMENT, "token 1 is nan");
    FAILS(nexttok_sampler_chain_logits_sample(c, (const float[]){-INFINITY, -INFINITY, -INFINITY, -INFINITY}, 4, &tok),
          NEXTTOK_ERR_STATE, "no candidate");
    cr_assert_eq(tok, -1);
    FAILS(nexttok_sampler_chain_sample(c, NULL, &tok), NEXTTOK_ERR_INVALID_ARGUMENT, "session");
    FAILS(nexttok_sampler_chain_accept(c, 4), NEXTTOK_ERR_TOKEN_RANGE, "token 4");
    FAILS(nexttok_sampler_chain_accept(NULL, 0), NEXTTOK_ERR_INVALID_ARGUMENT, "NULL");
    FAILS(nexttok_sampler_chain_reset(NULL), NEXTTOK_ERR_INVALID_ARGUMENT, "NULL");
    nexttok_sampler_chain *d = (nexttok_sampler_chain *)&d;
    FAILS(nexttok_sampler_chain_clone(NULL, &d), NEXTTOK_ERR_INVALID_ARGUMENT, "NULL");
    cr_assert_null(d);

    OK(nexttok_sampler_chain_logits_sample(c, row, 4, &tok));
    cr_assert_eq(tok, 3);
    FAILS(nexttok_sampler_chain_candidates_get(c, out, 2, &n), NEXTTOK_ERR_BUFFER_TOO_SMALL, "4 candidates");
    cr_assert_eq(n, 4u);
    cr_assert_eq(out[0].id, 3, "the most probable are written even when the buffer is short");
    cr_assert_eq(out[1].id, 2);
    cr_assert_eq(nexttok_sampler_chain_n_stages_get(NULL), 0);
    cr_assert_eq(nexttok_sampler_chain_n_vocab_get(c), 4);
    nexttok_sampler_chain_free(c);
    nexttok_sampler_chain_free(NULL);

    /* The default chain refuses what nexttok_sampler_create refuses. */
    nexttok_sampler_params p;
    nexttok_sampler_params_init(&p, sizeof p);
    p.top_p = 1.5f;
    FAILS(nexttok_sampler_chain_default_create(4, &p, &c), NEXTTOK_ERR_INVALID_ARGUMENT, "top_p 1.5");
    cr_assert_null(c);
    p.top_p = 1.0f;
    p.temperature = -0.5f;
    nexttok_sampler *sm = (nexttok_sampler *)&sm;
    FAILS(nexttok_sampler_create(&p, &sm), NEXTTOK_ERR_INVALID_ARGUMENT, "temperature -0.5");
    cr_assert_null(sm);
}

Test(sampler, a_chain_checks_the_session_it_samples)
{
    nexttok_model *m = nt_test_model_load("models/aidreams260K.gguf");
    nexttok_session *s = NULL;
    OK(nexttok_session_create(m, NULL, &s));
    nexttok_sampler_chain *c = chain_new(nexttok_model_n_vocab_get(m) + 1, 0);
    OK(nexttok_sampler_chain_greedy_add(c));
    int32_t tok;
    cr_assert_eq(nexttok_sampler_chain_sample(c, s, &tok), NEXTTOK_ERR_STATE, "nothing fed yet");
    OK(nexttok_session_feed(s, prompt, 2, NULL, 0));
    FAILS(nexttok_sampler_chain_sample(c, s, &tok), NEXTTOK_ERR_INVALID_ARGUMENT, "made for 513");
    nexttok_sampler_chain_free(c);
    nexttok_session_free(s);
    nexttok_model_free(m);
}
