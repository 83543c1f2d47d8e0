/* Reference quantizers for test and benchmark models: rows of F32 values
 * into ggml's Q8_0 and Q4_0 blocks, by ggml's simple round-to-nearest
 * scheme (one scale per 32 values, no search). */
#ifndef NT_TEST_QUANTIZE_H
#define NT_TEST_QUANTIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes of n values of `type` (Q8_0 or Q4_0; n a multiple of 32). */
size_t nt_test_quant_bytes(uint32_t type, int64_t n);

/* Quantize n values (a multiple of 32) into out; false for other types. */
bool nt_test_quantize(uint32_t type, const float *x, int64_t n, unsigned char *out);

#endif
