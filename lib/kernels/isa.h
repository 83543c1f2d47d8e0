/* Run-time CPU feature detection and the choice of instruction set. */
#ifndef NT_KERNELS_ISA_H
#define NT_KERNELS_ISA_H

#include <stdbool.h>

#include "types/types.h"

/* True when this CPU (and this build) can run kernels of `isa`. */
bool nt_isa_supported(nt_isa isa);

/* The ISA in use: the best supported one, unless the environment variable
 * NEXTTOK_ISA (scalar|avx2|avx512|neon) or nt_isa_force chose another. */
nt_isa nt_isa_active(void);

/* For tests and benchmarks: use `isa` from now on (must be supported). */
bool nt_isa_force(nt_isa isa);

const char *nt_isa_name(nt_isa isa);

#endif
