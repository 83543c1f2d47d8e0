/* The candidates array's orders: rank (higher logit, then lower id),
 * typical-p's key, and id; each a deterministic in-place sort, so one
 * input gives one order on every platform. */
#include <math.h>
#include <string.h>

#include "sampling/chain_impl.h"

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

void nt_cands_rank_prefix(nexttok_sampler_chain *ch, size_t m)
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

void nt_cands_sort_by_id(nexttok_sampler_chain *ch)
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
        for (size_t k = 0; k < nt_chain_mask_words(ch->n_vocab); k++) {
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
void nt_cands_truncate(nexttok_sampler_chain *ch, size_t n)
{
    if (n >= ch->n) return;
    ch->n = n;
    if (ch->n_ranked > n) ch->n_ranked = n;
    if (n <= 1) ch->by_id = 1;
}

/* p_i over the current candidates, in double. */
void nt_cands_softmax(nexttok_sampler_chain *ch)
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

void nt_cands_sort_by_key(nt_cand *c, size_t n) { full_sort_key(c, n); }
