#include "logits_file.h"

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
