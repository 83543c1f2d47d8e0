/* The samplers' generator: xoshiro256** (Blackman & Vigna, "Scrambled
 * linear pseudorandom number generators", 2021; reference code at
 * https://prng.di.unimi.it/xoshiro256starstar.c), its 256-bit state seeded
 * from one 64-bit seed by four splitmix64 outputs, as the authors advise.
 * Integer arithmetic only, so a seed gives the same numbers on every
 * platform and compiler. */
#ifndef NT_SAMPLING_RNG_H
#define NT_SAMPLING_RNG_H

#include <stdint.h>

typedef struct nt_rng {
    uint64_t s[4];
} nt_rng;

/* splitmix64 (Steele, Lea & Flood 2014): advance *x and return its output. */
uint64_t nt_splitmix64(uint64_t *x);

/* s[0..3] = the first four splitmix64 outputs from state `seed`. Never all
 * zero: splitmix64 is a bijection of its counter, and four consecutive
 * outputs cannot all be 0. */
void nt_rng_seed(nt_rng *r, uint64_t seed);

/* The next 64-bit output of xoshiro256**. */
uint64_t nt_rng_next(nt_rng *r);

/* Uniform in [0, 1): the top 53 bits of the next output times 2^-53, so
 * every value is exact in a double. */
double nt_rng_unit(nt_rng *r);

#endif
