/*
 * The inside of a sampler chain, shared by the files that implement it:
 * the candidates array and its orders (chain_order.c), the filtering and
 * selecting stages (chain_filters.c), penalties and logit bias
 * (chain_penalties.c), the allowed-token mask (chain_mask.c) and the chain
 * object that owns and runs them (chain.c). Two facts about the array let
 * stages skip work they need not redo:
 *   - by_id: the candidates are in increasing id order (true after the
 *     fill and kept by every stage that only removes);
 *   - n_ranked: c[0..n_ranked) are in rank order and every later candidate
 *     ranks below them (set by sorting stages, cleared when logits change).
 * Everything is sized when the chain or a stage is made, so a draw never
 * allocates.
 */
#ifndef NT_SAMPLING_CHAIN_IMPL_H
#define NT_SAMPLING_CHAIN_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "nexttok.h"
#include "sampling/rng.h"

typedef struct nt_cand {
    int32_t id;
    float logit;
    double p;   /* probability, or the draw's weight */
    double key; /* typical-p's score */
} nt_cand;

typedef enum stage_kind {
    ST_TEMPERATURE,
    ST_TOP_K,
    ST_TOP_P,
    ST_MIN_P,
    ST_TYPICAL,
    ST_PENALTIES,
    ST_LOGIT_BIAS,
    ST_MASK,
    ST_GREEDY,
    ST_DIST,
} stage_kind;

/* Stage names by kind, as nexttok_sampler_chain_stage_name_get gives them. */
extern const char *const nt_chain_stage_names[];

typedef struct stage {
    stage_kind kind;
    float value; /* temperature or p */
    int32_t k;
    /* penalties: a ring of the last `last_n` accepted tokens and each
     * token's count in it, kept as tokens come and go so a draw reads a
     * count in O(1) */
    int32_t last_n, ring_len, ring_head;
    float repeat, frequency, presence;
    int32_t *ring, *counts;
    /* logit bias: a dense row (0 where unbiased) and the distinct tokens
     * with a bias, so a full-vocabulary pass touches only those */
    float *bias;
    int32_t *bias_ids;
    size_t n_bias;
    int banned; /* some bias is -inf */
    /* mask: the allowed tokens; logit bias: the listed ones */
    uint64_t *bits;
    int all_allowed;
} stage;

struct nexttok_sampler_chain {
    int32_t n_vocab;
    uint64_t seed;
    nt_rng rng;
    stage *stages;
    int32_t n_stages, cap_stages;
    nt_cand *c;
    size_t n;
    /* nt_cands_sort_by_id's scratch: a bitset of ids (all zero between
     * uses) and a logit per id */
    uint64_t *seen;
    float *logit_by_id;
    size_t n_ranked;
    int by_id;
    int drawn; /* candidates hold the last draw's */
};


static inline size_t nt_chain_mask_words(int32_t n_vocab) { return ((size_t)n_vocab + 63) / 64; }

/* ---- the candidates' orders (chain_order.c) ----------------------------- */

/* Make c[0..m) the first m candidates in rank order (higher logit, then
 * lower id). */
void nt_cands_rank_prefix(nexttok_sampler_chain *ch, size_t m);
/* Put the candidates in increasing id order. */
void nt_cands_sort_by_id(nexttok_sampler_chain *ch);
/* Sort c[0..n) by typical-p's key (lower first, then lower id). */
void nt_cands_sort_by_key(nt_cand *c, size_t n);
/* Keep the first n candidates of the current order. */
void nt_cands_truncate(nexttok_sampler_chain *ch, size_t n);
/* p_i over the current candidates, in double. */
void nt_cands_softmax(nexttok_sampler_chain *ch);

/* Remove the candidates `keep` rejects, preserving order and the ranked
 * prefix's meaning. */
#define COMPACT(ch, keep_expr)                                   \
    do {                                                         \
        size_t w_ = 0, ranked_ = 0;                              \
        for (size_t i_ = 0; i_ < (ch)->n; i_++) {                \
            const nt_cand *cd = &(ch)->c[i_];                    \
            if (keep_expr) {                                     \
                if (i_ < (ch)->n_ranked) ranked_++;              \
                (ch)->c[w_++] = *cd;                             \
            }                                                    \
        }                                                        \
        (ch)->n = w_;                                            \
        (ch)->n_ranked = ranked_;                                \
        if (w_ <= 1) (ch)->by_id = 1;                            \
    } while (0)

/* ---- stages at draw time ------------------------------------------------- */

void nt_run_temperature(nexttok_sampler_chain *ch, const stage *s);
void nt_run_top_k(nexttok_sampler_chain *ch, const stage *s);
void nt_run_top_p(nexttok_sampler_chain *ch, const stage *s);
void nt_run_min_p(nexttok_sampler_chain *ch, const stage *s);
void nt_run_typical(nexttok_sampler_chain *ch, const stage *s);
void nt_run_penalties(nexttok_sampler_chain *ch, const stage *s);
void nt_run_logit_bias(nexttok_sampler_chain *ch, const stage *s);
void nt_run_mask(nexttok_sampler_chain *ch, const stage *s);
int32_t nt_pick_greedy(nexttok_sampler_chain *ch);
int32_t nt_pick_dist(nexttok_sampler_chain *ch);

/* A penalties stage's window: take `token` in (the oldest leaves a full
 * window), or empty it. */
void nt_penalties_accept(stage *s, int32_t token);
void nt_penalties_clear(stage *s);

/* ---- adding and finding stages (chain.c) -------------------------------- */

/* Room for one more stage of `kind` in *out. The stage is counted only by
 * nt_chain_stage_commit, so a failure in between leaves the chain as it
 * was (after nt_chain_stage_release of what the stage allocated). */
nexttok_status nt_chain_stage_new(nexttok_sampler_chain *ch, stage_kind kind, const char *fn, stage **out);
nexttok_status nt_chain_stage_commit(nexttok_sampler_chain *ch);
void nt_chain_stage_release(stage *s);
/* The stage `stage_i` of kind `kind`, or the error recorded. */
nexttok_status nt_chain_stage_at(nexttok_sampler_chain *ch, int32_t stage_i, stage_kind kind, const char *fn,
                                 stage **out);

/* The start of each *_add call: `s` is the new stage, or the call returns. */
#define BEGIN_STAGE(kind, fn)                                  \
    stage *s;                                                  \
    nexttok_status st_ = nt_chain_stage_new(ch, kind, fn, &s); \
    if (st_ != NEXTTOK_OK) return st_

#endif
