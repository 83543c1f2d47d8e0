/*
 * A model's next-token distribution as integer frequencies for the range
 * coder: every token gets at least 1, and they sum to exactly
 * NT_ZIP_TOTAL. Encoder and decoder must compute the same integers from
 * the same logits, so the rule is spelled out in freq.c and uses only
 * IEEE operations in a fixed order and the library's own exp.
 */
#ifndef NT_ZIP_FREQ_H
#define NT_ZIP_FREQ_H

#include <stdint.h>

#define NT_ZIP_TOTAL_BITS 24
#define NT_ZIP_TOTAL (UINT32_C(1) << NT_ZIP_TOTAL_BITS)
/* Vocabularies up to this size leave at least 3/4 of the total to share
 * by probability. */
#define NT_ZIP_MAX_VOCAB (1 << 22)

/* freq[0 .. n_vocab) from one row of logits; `work` holds n_vocab doubles. */
void nt_zip_freqs(const float *logits, int32_t n_vocab, double *work, uint32_t *freq);

#endif
