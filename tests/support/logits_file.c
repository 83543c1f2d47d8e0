#include "logits_file.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"

int nt_logits_file_read(const char *path, nt_logits_file *out)
{
    memset(out, 0, sizeof *out);
    size_t size;
    char *buf = nt_test_read_file(path, &size);
    if (!buf) return -1;
    int32_t hdr[2];
    if (size < sizeof hdr) goto bad;
    memcpy(hdr, buf, sizeof hdr);
    if (hdr[0] <= 0 || hdr[1] <= 0) goto bad;
    size_t want = sizeof hdr + (size_t)hdr[0] * 4 + (size_t)hdr[0] * (size_t)hdr[1] * 4;
    if (size != want) goto bad;
    out->n = hdr[0];
    out->n_vocab = hdr[1];
    out->tokens = malloc((size_t)hdr[0] * 4);
    out->logits = malloc((size_t)hdr[0] * (size_t)hdr[1] * 4);
    if (!out->tokens || !out->logits) goto bad;
    memcpy(out->tokens, buf + sizeof hdr, (size_t)hdr[0] * 4);
    memcpy(out->logits, buf + sizeof hdr + (size_t)hdr[0] * 4, (size_t)hdr[0] * (size_t)hdr[1] * 4);
    free(buf);
    return 0;
bad:
    free(buf);
    nt_logits_file_free(out);
    return -1;
}

void nt_logits_file_free(nt_logits_file *f)
{
    free(f->tokens);
    free(f->logits);
    memset(f, 0, sizeof *f);
}

void nt_logits_top_two(const float *row, int32_t n, int32_t *best, double *gap)
{
    int32_t b = 0;
    for (int32_t i = 1; i < n; i++)
        if (row[i] > row[b]) b = i;
    double second = -INFINITY;
    for (int32_t i = 0; i < n; i++)
        if (i != b && row[i] > second) second = row[i];
    *best = b;
    *gap = (double)row[b] - second;
}

/* log-sum-exp of a row, in double. */
static double log_sum_exp(const float *row, int32_t n)
{
    double mx = -INFINITY;
    for (int32_t i = 0; i < n; i++)
        if (row[i] > mx) mx = row[i];
    double sum = 0.0;
    for (int32_t i = 0; i < n; i++) sum += exp((double)row[i] - mx);
    return mx + log(sum);
}

double nt_logits_kl(const float *p, const float *q, int32_t n)
{
    const double lse_p = log_sum_exp(p, n), lse_q = log_sum_exp(q, n);
    double kl = 0.0;
    for (int32_t i = 0; i < n; i++) {
        const double lp = (double)p[i] - lse_p, lq = (double)q[i] - lse_q;
        kl += exp(lp) * (lp - lq);
    }
    return kl;
}
