/*
 * Frequencies from logits. With m the largest logit (NaN counts as -inf)
 * and w_i = exp(l_i - m) by nt_pexp (0 below m - 32, where a token's
 * share would round to nothing anyway), summed in index order:
 *     f_i = 1 + floor(w_i * ((T - V) / sum)), capped at T - V,
 * and what the floors leave of T goes to the arg-max (lowest id). Rows
 * with no finite maximum (all -inf, or a +inf) code uniformly.
 */
#include "zip/freq.h"

#include <math.h>

#include "core/pmath.h"

#define NT_ZIP_CUTOFF 32.0

static void uniform(int32_t n_vocab, uint32_t *freq)
{
    const uint32_t base = NT_ZIP_TOTAL / (uint32_t)n_vocab;
    uint32_t rest = NT_ZIP_TOTAL - base * (uint32_t)n_vocab;
    for (int32_t i = 0; i < n_vocab; i++) freq[i] = base + (rest > 0 ? (rest--, 1u) : 0u);
}

void nt_zip_freqs(const float *logits, int32_t n_vocab, double *work, uint32_t *freq)
{
    double m = -INFINITY;
    int32_t best = 0;
    for (int32_t i = 0; i < n_vocab; i++) {
        const double v = logits[i];
        if (v > m) { /* false for NaN */
            m = v;
            best = i;
        }
    }
    if (!(m > -INFINITY) || m == INFINITY) {
        uniform(n_vocab, freq);
        return;
    }
    double sum = 0.0;
    for (int32_t i = 0; i < n_vocab; i++) {
        const double d = (double)logits[i] - m;
        work[i] = d >= -NT_ZIP_CUTOFF ? nt_pexp(d) : 0.0; /* NaN: 0 */
        sum += work[i];
    }
    const uint32_t spare = NT_ZIP_TOTAL - (uint32_t)n_vocab;
    const double scale = (double)spare / sum; /* sum >= 1: the arg-max's own 1 */
    uint64_t total = 0;
    for (int32_t i = 0; i < n_vocab; i++) {
        const double share = work[i] * scale;
        const uint32_t f = 1 + (share >= (double)spare ? spare : (uint32_t)share);
        freq[i] = f;
        total += f;
    }
    if (total <= NT_ZIP_TOTAL) {
        freq[best] += (uint32_t)(NT_ZIP_TOTAL - total);
        return;
    }
    /* floors cannot add up past T but for a rounding of the scale: take
     * the excess from the arg-max, which holds the most */
    const uint64_t excess = total - NT_ZIP_TOTAL;
    if (freq[best] > excess) freq[best] -= (uint32_t)excess;
    else uniform(n_vocab, freq);
}
