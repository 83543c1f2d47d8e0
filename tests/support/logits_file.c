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
