/* Run-time CPU feature detection and the choice of instruction set. */
#ifndef NT_CORE_ISA_H
#define NT_CORE_ISA_H

#include <stdbool.h>

/* Instruction sets with kernels of their own. */
typedef enum nt_isa {
    NT_ISA_SCALAR = 0,
    NT_ISA_AVX2 = 1,   /* AVX2 + FMA + F16C */
    NT_ISA_AVX512 = 2, /* AVX-512 F/BW/VL (+BF16, VNNI where present) */
    NT_ISA_NEON = 3,   /* aarch64 Advanced SIMD */
    NT_ISA_COUNT
} nt_isa;

/* True when this CPU (and this build) can run kernels of `isa`. */
bool nt_isa_supported(nt_isa isa);

/* Whether the CPU has the integer dot-product extension the fast-mode
 * kernels of `isa` can use: AVX-VNNI for AVX2, AVX512-VNNI for AVX-512,
 * the dotprod extension (SDOT) for NEON. Read once. The kernels give the
 * same bits without it, only slower. (The OS state those need is what
 * nt_isa_supported already checked for the ISA itself.) */
bool nt_isa_has_dot_ext(nt_isa isa);

/* The ISA in use: the best supported one, unless the environment variable
 * NEXTTOK_ISA (scalar|avx2|avx512|neon) or nt_isa_force chose another. */
nt_isa nt_isa_active(void);

/* The calling thread's own choice, ahead of the process-wide one: a
 * portable session sets NT_ISA_SCALAR around its forward pass, so every
 * kernel that pass looks up (all on the feeding thread; the pool's threads
 * run what it handed them) is a scalar one. -1 clears it. Returns the
 * previous value, to restore. */
int nt_isa_thread_set(int isa);

/* The process-wide choice, ignoring the calling thread's own: for kernels
 * that are bitwise the scalar ones on every input (the activations). */
nt_isa nt_isa_process(void);

/* For tests and benchmarks: use `isa` from now on (must be supported). */
bool nt_isa_force(nt_isa isa);

const char *nt_isa_name(nt_isa isa);

/* How many bytes ahead of the weight row being read the streaming kernels
 * prefetch it into L2: the hardware prefetchers stop at every 4 KiB page
 * of the model's mapping. The best distance depends on the CPU, measured
 * on decode with build/tests/bench_qt and `nexttok bench`: 2048 on Intel
 * (Sapphire Rapids), 8192 on AMD (Zen 4); the kernels keep a nearer one
 * for short rows (qdot_legacy_avx512.c, kernels_avx512.c). The environment variable
 * NEXTTOK_PREFETCH_BYTES (64..65536) overrides it, for measuring. Read
 * once. A prefetch changes no result. */
int nt_isa_prefetch_bytes(void);
/* The distance on Intel, which the kernels also keep for short rows. */
#define NT_PREFETCH_NEAR_BYTES 2048

#endif
