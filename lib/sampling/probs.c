/* Softmax at a temperature and top-k selection over a row of values. */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "sampling/probs.h"

nexttok_status nt_probs_compute(const float *logits, int32_t n, float temperature, float *probs)
{
    if (!(temperature >= 0.0f) || !isfinite(temperature))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "temperature %g must be finite and >= 0", (double)temperature);
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (logits[i] > logits[best]) best = i;
    if (temperature == 0.0f) {
        memset(probs, 0, (size_t)n * sizeof *probs);
        probs[best] = 1.0f;
        return NEXTTOK_OK;
    }
    /* Sum in double: with 100k+ terms float accumulation loses digits. */
    const double max = logits[best], inv_t = 1.0 / temperature;
    double sum = 0.0;
    for (int32_t i = 0; i < n; i++) sum += exp((logits[i] - max) * inv_t);
    const double inv_sum = 1.0 / sum;
    for (int32_t i = 0; i < n; i++) probs[i] = (float)(exp((logits[i] - max) * inv_t) * inv_sum);
    return NEXTTOK_OK;
}

/* True when a ranks before b: higher value first, lower id on ties. */
static int ranks_before(const nexttok_token_prob *a, const nexttok_token_prob *b)
{
    return a->prob > b->prob || (a->prob == b->prob && a->id < b->id);
}

/* Min-heap on rank, so the root is the weakest of the k kept. */
static void sift_down(nexttok_token_prob *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && ranks_before(&h[w], &h[l])) w = l;
        if (r < n && ranks_before(&h[w], &h[r])) w = r;
        if (w == i) return;
        nexttok_token_prob t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

size_t nt_topk_select(const float *values, int32_t n, size_t k, nexttok_token_prob *out)
{
    if (k > (size_t)n) k = (size_t)n;
    if (k == 0) return 0;
    for (size_t i = 0; i < k; i++) out[i] = (nexttok_token_prob){(int32_t)i, values[i]};
    for (size_t i = k / 2; i-- > 0;) sift_down(out, k, i);
    for (int32_t i = (int32_t)k; i < n; i++) {
        nexttok_token_prob c = {i, values[i]};
        if (ranks_before(&c, &out[0])) {
            out[0] = c;
            sift_down(out, k, 0);
        }
    }
    /* Heap-sort: repeatedly move the weakest to the end. */
    for (size_t end = k; end > 1; end--) {
        nexttok_token_prob t = out[0];
        out[0] = out[end - 1];
        out[end - 1] = t;
        sift_down(out, end - 1, 0);
    }
    return k;
}
