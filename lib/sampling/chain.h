/* What the classic nexttok_sampler needs of a chain beyond the public API. */
#ifndef NT_SAMPLING_CHAIN_H
#define NT_SAMPLING_CHAIN_H

#include "nexttok.h"
#include "sampling/rng.h"

/* Check nexttok_sampler_params the way nexttok_sampler_create always has;
 * `fn` names the caller in the message. */
nexttok_status nt_sampler_params_check(const nexttok_sampler_params *p, const char *fn);

/* The chain's generator, to carry its state into a chain of another width. */
nt_rng *nt_sampler_chain_rng(nexttok_sampler_chain *chain);

#endif
