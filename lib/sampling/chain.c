/*
 * Sampler chains: stages over a candidates array, then one pick. The
 * semantics of every stage are documented in nexttok.h; this file keeps
 * two facts about the array so stages skip work they need not redo:
 *   - by_id: the candidates are in increasing id order (true after the
 *     fill and kept by every stage that only removes);
 *   - n_ranked: c[0..n_ranked) are in rank order and every later candidate
 *     ranks below them (set by sorting stages, cleared when logits change).
 * Everything is sized when the chain or a stage is made, so a draw never
 * allocates.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/params.h"
#include "sampling/chain.h"
#include "sampling/probs.h"
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

static const char *const stage_names[] = {"temperature", "top-k", "top-p",      "min-p", "typical",
                                          "penalties",   "logit-bias", "mask", "greedy", "dist"};

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
    /* sort_by_id's scratch: a bitset of ids (all zero between uses) and a
     * logit per id */
    uint64_t *seen;
    float *logit_by_id;
    size_t n_ranked;
    int by_id;
    int drawn; /* candidates hold the last draw's */
};

static size_t mask_words(int32_t n_vocab) { return ((size_t)n_vocab + 63) / 64; }

/* ---- ordering ------------------------------------------------------------ */

static int rank_before(const nt_cand *a, const nt_cand *b)
{
    return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

static int key_before(const nt_cand *a, const nt_cand *b)
{
    return a->key < b->key || (a->key == b->key && a->id < b->id);
}

static int id_before(const nt_cand *a, const nt_cand *b) { return a->id < b->id; }

/*
 * partial_sort_<order>(c, n, m): put the first m of c[0..n) in that order
 * into c[0..m), sorted; the rest follow in no particular order. Heap
 * selection then heap sort: O(n log m), in place, and deterministic (no
 * pivots, no library sort whose order of equal elements could differ
 * between platforms). One copy per order so the comparison inlines.
 */
#define DEFINE_PARTIAL_SORT(order, before)                                   \
    static void sift_down_##order(nt_cand *h, size_t n, size_t i)            \
    {                                                                        \
        /* the root is the element that comes last in the order */           \
        for (;;) {                                                           \
            size_t l = 2 * i + 1, r = l + 1, w = i;                          \
            if (l < n && before(&h[w], &h[l])) w = l;                        \
            if (r < n && before(&h[w], &h[r])) w = r;                        \
            if (w == i) return;                                              \
            nt_cand t = h[i];                                                \
            h[i] = h[w];                                                     \
            h[w] = t;                                                        \
            i = w;                                                           \
        }                                                                    \
    }                                                                        \
    static void partial_sort_##order(nt_cand *c, size_t n, size_t m)         \
    {                                                                        \
        if (m > n) m = n;                                                    \
        if (m == 0) return;                                                  \
        for (size_t i = m / 2; i-- > 0;) sift_down_##order(c, m, i);         \
        for (size_t i = m; i < n; i++)                                       \
            if (before(&c[i], &c[0])) {                                      \
                nt_cand t = c[0];                                            \
                c[0] = c[i];                                                 \
                c[i] = t;                                                    \
                sift_down_##order(c, m, 0);                                  \
            }                                                                \
        for (size_t end = m; end > 1; end--) {                               \
            nt_cand t = c[0];                                                \
            c[0] = c[end - 1];                                               \
            c[end - 1] = t;                                                  \
            sift_down_##order(c, end - 1, 0);                                \
        }                                                                    \
    }

/*
 * full_sort_<order>(c, n): introsort (median-of-three quicksort, insertion
 * sort below 16 elements, heap sort past 2 log2 n levels). Every order
 * here is total (ties go to the lower id, and ids are distinct), so the
 * result is the one sorted permutation whatever the algorithm; this one
 * is in place and three to four times faster than a heap sort on large
 * rows, which top-p and typical-p over a whole vocabulary need.
 */
#define DEFINE_FULL_SORT(order, before)                                      \
    static void full_sort_##order##_rec(nt_cand *c, size_t n, int depth)     \
    {                                                                        \
        while (n > 16) {                                                     \
            if (depth-- == 0) {                                              \
                partial_sort_##order(c, n, n);                               \
                return;                                                      \
            }                                                                \
            nt_cand *a = &c[0], *b = &c[n / 2], *z = &c[n - 1], t;           \
            if (before(b, a)) { t = *a; *a = *b; *b = t; }                   \
            if (before(z, b)) {                                              \
                t = *b; *b = *z; *z = t;                                     \
                if (before(b, a)) { t = *a; *a = *b; *b = t; }               \
            }                                                                \
            const nt_cand pivot = *b;                                        \
            size_t i = 0, j = n - 1;                                         \
            for (;;) {                                                       \
                while (before(&c[i], &pivot)) i++;                           \
                while (before(&pivot, &c[j])) j--;                           \
                if (i >= j) break;                                           \
                t = c[i]; c[i] = c[j]; c[j] = t;                             \
                i++;                                                         \
                j--;                                                         \
            }                                                                \
            /* c[0..j] <= pivot <= c[j+1..n); recurse on the smaller side */ \
            size_t left = j + 1;                                             \
            if (left < n - left) {                                           \
                full_sort_##order##_rec(c, left, depth);                     \
                c += left;                                                   \
                n -= left;                                                   \
            } else {                                                         \
                full_sort_##order##_rec(c + left, n - left, depth);          \
                n = left;                                                    \
            }                                                                \
        }                                                                    \
        for (size_t i = 1; i < n; i++) {                                     \
            nt_cand x = c[i];                                                \
            size_t k = i;                                                    \
            for (; k > 0 && before(&x, &c[k - 1]); k--) c[k] = c[k - 1];     \
            c[k] = x;                                                        \
        }                                                                    \
    }                                                                        \
    static void full_sort_##order(nt_cand *c, size_t n)                      \
    {                                                                        \
        int depth = 0;                                                       \
        for (size_t x = n; x > 1; x >>= 1) depth += 2;                       \
        full_sort_##order##_rec(c, n, depth);                                \
    }

DEFINE_PARTIAL_SORT(rank, rank_before)
DEFINE_PARTIAL_SORT(key, key_before)
DEFINE_PARTIAL_SORT(id, id_before)
DEFINE_FULL_SORT(rank, rank_before)
DEFINE_FULL_SORT(key, key_before)
DEFINE_FULL_SORT(id, id_before)

static void rank_prefix(nexttok_sampler_chain *ch, size_t m)
{
    if (m > ch->n) m = ch->n;
    if (ch->n_ranked >= m) return;
    if (m == 1) {
        /* The best alone (greedy, T = 0): one scan, no heap. */
        size_t best = 0;
        for (size_t i = 1; i < ch->n; i++)
            if (rank_before(&ch->c[i], &ch->c[best])) best = i;
        if (best != 0) {
            nt_cand t = ch->c[0];
            ch->c[0] = ch->c[best];
            ch->c[best] = t;
            ch->by_id = ch->n <= 1;
        }
        ch->n_ranked = 1;
        return;
    }
    /* A prefix of more than an eighth costs about a full sort anyway. */
    if (m > ch->n / 8) {
        full_sort_rank(ch->c, ch->n);
        m = ch->n;
    } else {
        partial_sort_rank(ch->c, ch->n, m);
    }
    ch->n_ranked = m;
    ch->by_id = ch->n <= 1;
}

static void sort_by_id(nexttok_sampler_chain *ch)
{
    if (ch->by_id) return;
    const size_t n = ch->n;
    if (n > 256 && n > (size_t)ch->n_vocab / 64) {
        /* Many survivors: ids are distinct and below n_vocab, so marking
         * them in a bitset and reading it back sorts in O(n + n_vocab/64)
         * instead of O(n log n). */
        uint64_t *seen = ch->seen;
        float *logit = ch->logit_by_id;
        for (size_t i = 0; i < n; i++) {
            const uint32_t id = (uint32_t)ch->c[i].id;
            seen[id >> 6] |= 1ull << (id & 63);
            logit[id] = ch->c[i].logit;
        }
        size_t w = 0;
        for (size_t k = 0; k < mask_words(ch->n_vocab); k++) {
            uint64_t bits = seen[k];
            seen[k] = 0;
            while (bits) {
                const int32_t id = (int32_t)(k * 64 + (size_t)__builtin_ctzll(bits));
                bits &= bits - 1;
                ch->c[w].id = id;
                ch->c[w].logit = logit[id];
                w++;
            }
        }
    } else {
        full_sort_id(ch->c, n);
    }
    ch->by_id = 1;
    ch->n_ranked = n <= 1 ? n : 0;
}

/* Keep the first n candidates of the current order. */
static void truncate_to(nexttok_sampler_chain *ch, size_t n)
{
    if (n >= ch->n) return;
    ch->n = n;
    if (ch->n_ranked > n) ch->n_ranked = n;
    if (n <= 1) ch->by_id = 1;
}

/* p_i over the current candidates, in double. */
static void softmax(nexttok_sampler_chain *ch)
{
    nt_cand *c = ch->c;
    const size_t n = ch->n;
    float max = c[0].logit;
    for (size_t i = 1; i < n; i++)
        if (c[i].logit > max) max = c[i].logit;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) sum += c[i].p = exp((double)c[i].logit - (double)max);
    const double inv = 1.0 / sum;
    for (size_t i = 0; i < n; i++) c[i].p *= inv;
}

/* ---- stages ---------------------------------------------------------------- */

static void run_temperature(nexttok_sampler_chain *ch, const stage *s)
{
    if (s->value == 0.0f) {
        rank_prefix(ch, 1);
        truncate_to(ch, 1);
        return;
    }
    if (s->value == 1.0f) return;
    for (size_t i = 0; i < ch->n; i++) ch->c[i].logit /= s->value;
    /* Division rounds, so two logits may become equal and trade places. */
    ch->n_ranked = ch->n <= 1 ? ch->n : 0;
}

static void run_top_k(nexttok_sampler_chain *ch, const stage *s)
{
    if ((size_t)s->k >= ch->n) return;
    rank_prefix(ch, (size_t)s->k);
    truncate_to(ch, (size_t)s->k);
}

static void run_top_p(nexttok_sampler_chain *ch, const stage *s)
{
    if (s->value >= 1.0f || ch->n <= 1) return;
    softmax(ch);
    const double p = s->value;
    /* Rank a prefix and widen it until its mass reaches p: a peaked
     * distribution then costs O(n), not a full sort of the vocabulary. */
    for (size_t m = 64;; m *= 8) {
        if (m > ch->n) m = ch->n;
        rank_prefix(ch, m);
        double cum = 0.0;
        for (size_t i = 0; i < m; i++) {
            cum += ch->c[i].p;
            if (cum >= p) {
                truncate_to(ch, i + 1);
                return;
            }
        }
        if (m == ch->n) return; /* rounding kept the sum just below p */
    }
}

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

static void run_min_p(nexttok_sampler_chain *ch, const stage *s)
{
    if (s->value <= 0.0f || ch->n <= 1) return;
    float max = ch->c[0].logit;
    for (size_t i = 1; i < ch->n; i++)
        if (ch->c[i].logit > max) max = ch->c[i].logit;
    const double floor_p = s->value, m = max;
    COMPACT(ch, exp((double)cd->logit - m) >= floor_p);
}

static void run_typical(nexttok_sampler_chain *ch, const stage *s)
{
    if (s->value >= 1.0f || ch->n <= 1) return;
    softmax(ch);
    double h = 0.0;
    for (size_t i = 0; i < ch->n; i++)
        if (ch->c[i].p > 0.0) h -= ch->c[i].p * log(ch->c[i].p);
    for (size_t i = 0; i < ch->n; i++) {
        nt_cand *cd = &ch->c[i];
        cd->key = cd->p > 0.0 ? fabs(-log(cd->p) - h) : INFINITY;
    }
    full_sort_key(ch->c, ch->n);
    ch->by_id = 0;
    ch->n_ranked = 0;
    double cum = 0.0;
    for (size_t i = 0; i < ch->n; i++) {
        cum += ch->c[i].p;
        if (cum >= s->value) {
            truncate_to(ch, i + 1);
            break;
        }
    }
    ch->n_ranked = ch->n <= 1 ? ch->n : 0;
}

static void run_penalties(nexttok_sampler_chain *ch, const stage *s)
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

static void run_logit_bias(nexttok_sampler_chain *ch, const stage *s)
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

static void run_mask(nexttok_sampler_chain *ch, const stage *s)
{
    if (s->all_allowed) return;
    const uint64_t *bits = s->bits;
    COMPACT(ch, (bits[(uint32_t)cd->id >> 6] >> ((uint32_t)cd->id & 63)) & 1u);
}

static int32_t pick_greedy(nexttok_sampler_chain *ch)
{
    rank_prefix(ch, 1);
    return ch->c[0].id;
}

static int32_t pick_dist(nexttok_sampler_chain *ch)
{
    sort_by_id(ch);
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

/* ---- chains -------------------------------------------------------------- */

static const nexttok_sampler_chain_params chain_defaults = {.struct_size = sizeof(nexttok_sampler_chain_params)};

NEXTTOK_API void nexttok_sampler_chain_params_init(nexttok_sampler_chain_params *params, size_t struct_size)
{
    nt_params_init(params, struct_size, &chain_defaults, sizeof chain_defaults);
}

static void stage_release(stage *s)
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
    for (int32_t i = 0; i < ch->n_stages; i++) stage_release(&ch->stages[i]);
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
    ch->seen = nt_calloc(mask_words(n_vocab), sizeof *ch->seen);
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
    return stage_names[ch->stages[stage_i].kind];
}

static int is_selecting(stage_kind k) { return k == ST_GREEDY || k == ST_DIST; }

/* Room for one more stage of `kind` in *out. The stage is counted only by
 * commit_stage, so a failure in between leaves the chain as it was. */
static nexttok_status new_stage(nexttok_sampler_chain *ch, stage_kind kind, const char *fn, stage **out)
{
    nt_error_clear();
    *out = NULL;
    if (!ch) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: chain must not be NULL", fn);
    if (ch->n_stages > 0 && is_selecting(ch->stages[ch->n_stages - 1].kind))
        return nt_fail(NEXTTOK_ERR_STATE, "%s: the chain already ends with its %s stage; a selecting stage must be last",
                       fn, stage_names[ch->stages[ch->n_stages - 1].kind]);
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

static nexttok_status commit_stage(nexttok_sampler_chain *ch)
{
    ch->n_stages++;
    ch->drawn = 0;
    return NEXTTOK_OK;
}

#define BEGIN_STAGE(kind, fn)                                 \
    stage *s;                                                 \
    nexttok_status st_ = new_stage(ch, kind, fn, &s);         \
    if (st_ != NEXTTOK_OK) return st_

NEXTTOK_API nexttok_status nexttok_sampler_chain_temperature_add(nexttok_sampler_chain *ch, float t)
{
    BEGIN_STAGE(ST_TEMPERATURE, "nexttok_sampler_chain_temperature_add");
    if (!(t >= 0.0f) || !isfinite(t))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT,
                       "nexttok_sampler_chain_temperature_add: temperature %g must be finite and >= 0", (double)t);
    s->value = t;
    return commit_stage(ch);
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_top_k_add(nexttok_sampler_chain *ch, int32_t k)
{
    BEGIN_STAGE(ST_TOP_K, "nexttok_sampler_chain_top_k_add");
    if (k < 1)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT,
                       "nexttok_sampler_chain_top_k_add: top_k %d must be >= 1 (leave the stage out to keep all)", k);
    s->k = k;
    return commit_stage(ch);
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_top_p_add(nexttok_sampler_chain *ch, float p)
{
    BEGIN_STAGE(ST_TOP_P, "nexttok_sampler_chain_top_p_add");
    if (!(p > 0.0f && p <= 1.0f))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_sampler_chain_top_p_add: top_p %g outside (0, 1]", (double)p);
    s->value = p;
    return commit_stage(ch);
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_min_p_add(nexttok_sampler_chain *ch, float p)
{
    BEGIN_STAGE(ST_MIN_P, "nexttok_sampler_chain_min_p_add");
    if (!(p >= 0.0f && p <= 1.0f))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_sampler_chain_min_p_add: min_p %g outside [0, 1]", (double)p);
    s->value = p;
    return commit_stage(ch);
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_typical_add(nexttok_sampler_chain *ch, float p)
{
    BEGIN_STAGE(ST_TYPICAL, "nexttok_sampler_chain_typical_add");
    if (!(p > 0.0f && p <= 1.0f))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_sampler_chain_typical_add: typical_p %g outside (0, 1]",
                       (double)p);
    s->value = p;
    return commit_stage(ch);
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
        stage_release(s);
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "%s: out of memory", fn);
    }
    return commit_stage(ch);
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
    s->bits = nt_calloc(mask_words(ch->n_vocab), sizeof *s->bits);
    if (!s->bias || !s->bias_ids || !s->bits) {
        stage_release(s);
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "%s: out of memory", fn);
    }
    bias_fill(s, b, n);
    return commit_stage(ch);
}

/* The stage `stage` of kind `kind`, or the error recorded. */
static nexttok_status stage_at(nexttok_sampler_chain *ch, int32_t stage_i, stage_kind kind, const char *fn, stage **out)
{
    nt_error_clear();
    *out = NULL;
    if (!ch) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: chain must not be NULL", fn);
    if (stage_i < 0 || stage_i >= ch->n_stages)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: stage %d does not exist (the chain has %d)", fn, stage_i,
                       ch->n_stages);
    if (ch->stages[stage_i].kind != kind)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: stage %d is %s, not %s", fn, stage_i,
                       stage_names[ch->stages[stage_i].kind], stage_names[kind]);
    *out = &ch->stages[stage_i];
    return NEXTTOK_OK;
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_logit_bias_set(nexttok_sampler_chain *ch, int32_t stage_i,
                                                                const nexttok_logit_bias *b, size_t n)
{
    static const char fn[] = "nexttok_sampler_chain_logit_bias_set";
    stage *s;
    nexttok_status st = stage_at(ch, stage_i, ST_LOGIT_BIAS, fn, &s);
    if (st == NEXTTOK_OK) st = bias_check(ch, b, n, fn);
    if (st != NEXTTOK_OK) return st;
    bias_fill(s, b, n);
    return NEXTTOK_OK;
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_mask_add(nexttok_sampler_chain *ch)
{
    BEGIN_STAGE(ST_MASK, "nexttok_sampler_chain_mask_add");
    s->bits = nt_calloc(mask_words(ch->n_vocab), sizeof *s->bits);
    if (!s->bits) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "nexttok_sampler_chain_mask_add: out of memory");
    s->all_allowed = 1;
    return commit_stage(ch);
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_mask_set(nexttok_sampler_chain *ch, int32_t stage_i,
                                                          const uint64_t *bits, size_t n_words)
{
    static const char fn[] = "nexttok_sampler_chain_mask_set";
    stage *s;
    nexttok_status st = stage_at(ch, stage_i, ST_MASK, fn, &s);
    if (st != NEXTTOK_OK) return st;
    if (!bits) {
        if (n_words != 0) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: bits is NULL with n_words = %zu", fn, n_words);
        s->all_allowed = 1;
        return NEXTTOK_OK;
    }
    const size_t need = mask_words(ch->n_vocab);
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
    nexttok_status st = stage_at(ch, stage_i, ST_MASK, fn, &s);
    if (st != NEXTTOK_OK) return st;
    if (n && !tokens) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: tokens is NULL with n = %zu", fn, n);
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= ch->n_vocab)
            return nt_fail(NEXTTOK_ERR_TOKEN_RANGE, "%s: entry %zu: token %d outside the vocabulary of %d", fn, i,
                           tokens[i], ch->n_vocab);
    memset(s->bits, 0, mask_words(ch->n_vocab) * sizeof *s->bits);
    for (size_t i = 0; i < n; i++) s->bits[(uint32_t)tokens[i] >> 6] |= 1ull << ((uint32_t)tokens[i] & 63);
    s->all_allowed = 0;
    return NEXTTOK_OK;
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_greedy_add(nexttok_sampler_chain *ch)
{
    BEGIN_STAGE(ST_GREEDY, "nexttok_sampler_chain_greedy_add");
    return commit_stage(ch);
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_dist_add(nexttok_sampler_chain *ch)
{
    BEGIN_STAGE(ST_DIST, "nexttok_sampler_chain_dist_add");
    return commit_stage(ch);
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
                           stage_names[ch->stages[k].kind]);
        const stage *s = &ch->stages[k];
        switch (s->kind) {
        case ST_TEMPERATURE: run_temperature(ch, s); break;
        case ST_TOP_K: run_top_k(ch, s); break;
        case ST_TOP_P: run_top_p(ch, s); break;
        case ST_MIN_P: run_min_p(ch, s); break;
        case ST_TYPICAL: run_typical(ch, s); break;
        case ST_PENALTIES: run_penalties(ch, s); break;
        case ST_LOGIT_BIAS: run_logit_bias(ch, s); break;
        case ST_MASK: run_mask(ch, s); break;
        case ST_GREEDY: *token_out = pick_greedy(ch); break;
        case ST_DIST: *token_out = pick_dist(ch); break;
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
    for (int32_t k = 0; k < ch->n_stages; k++) {
        stage *s = &ch->stages[k];
        if (s->kind != ST_PENALTIES || s->last_n == 0) continue;
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
    return NEXTTOK_OK;
}

NEXTTOK_API nexttok_status nexttok_sampler_chain_reset(nexttok_sampler_chain *ch)
{
    nt_error_clear();
    if (!ch) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_sampler_chain_reset: chain must not be NULL");
    nt_rng_seed(&ch->rng, ch->seed);
    for (int32_t k = 0; k < ch->n_stages; k++) {
        stage *s = &ch->stages[k];
        if (s->kind != ST_PENALTIES) continue;
        /* Only the window's tokens have non-zero counts. */
        for (int32_t j = 0; j < s->ring_len; j++) s->counts[s->ring[(s->ring_head + j) % s->last_n]] = 0;
        s->ring_len = 0;
        s->ring_head = 0;
    }
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
    d->seen = dup_array(ch->seen, mask_words(ch->n_vocab), sizeof *ch->seen, &failed);
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
        t->bits = dup_array(s->bits, mask_words(ch->n_vocab), sizeof *s->bits, &failed);
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
    rank_prefix(ch, ch->n);
    softmax(ch);
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
