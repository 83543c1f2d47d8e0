/* Reader of the fixtures' binary logits files:
 * int32 n, int32 n_vocab, int32 tokens[n], float32 logits[n][n_vocab]. */
#ifndef NT_TEST_LOGITS_FILE_H
#define NT_TEST_LOGITS_FILE_H

#include <stdint.h>

typedef struct nt_logits_file {
    int32_t n;
    int32_t n_vocab;
    int32_t *tokens;
    float *logits; /* n * n_vocab */
} nt_logits_file;

/* 0 on success; -1 when the file is missing or malformed. */
int nt_logits_file_read(const char *path, nt_logits_file *out);
void nt_logits_file_free(nt_logits_file *f);

/* The arg-max of a row of n logits (lowest id on ties) and its lead over
 * the runner-up, as the fixtures' arg-max criterion needs them. */
void nt_logits_top_two(const float *row, int32_t n, int32_t *best, double *gap);

/* KL(softmax(p) || softmax(q)) of two rows of n logits, in double. */
double nt_logits_kl(const float *p, const float *q, int32_t n);

#endif
