/*
 * Throughput of the fast-mode integer dots against the F32-activation dots
 * of the same weights (not a test), and the packed-activation dot (qdot.h
 * nt_q8a_pack, one token) where the ISA has one: rows of 4096 values, over a weight set
 * that fits in L2 (kernel speed) and one of 64 MiB (memory), one thread.
 * Usage: bench_qdot [seconds per case]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/isa.h"
#include "kernels/qdot.h"
#include "types/type_kernels.h"
#include "types/types.h"
#include "support/bench_clock.h"

typedef struct bcase {
    const char *name;
    int bytes;
    nt_vec_dot_fn f32dot;
    nt_vec_dot_q_fn qdot;
    nt_dotk_q_fn dotk;
    nt_dotk_qp_fn dotk_qp; /* or NULL */
} bcase;

static volatile float sink;

int main(int argc, char **argv)
{
    const double budget = argc > 1 ? atof(argv[1]) : 0.3;
    enum { N = 4096, NB = N / 32 };
    const size_t big = (size_t)64 << 20, small = (size_t)512 << 10;
    unsigned char *data = malloc(big);
    float *x = malloc(sizeof(float) * N * 4);
    nt_q8a_block *xq = malloc(sizeof(nt_q8a_block) * NB * 4);
    nt_q8a_block *xp = malloc(sizeof(nt_q8a_block) * NB);
    uint64_t s = 88172645463325252ull;
    for (size_t i = 0; i < big; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        data[i] = (unsigned char)(s & 0x3b); /* bytes that never make an F16 inf/NaN */
    }
    for (int i = 0; i < N * 4; i++) x[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    const bcase cases[] = {
#if defined(__x86_64__)
        {"q4_0 avx512", 18, nt_dot_q4_0_avx512, nt_vec_dot_q_q4_0_avx512, nt_dotk_q_q4_0_avx512, nt_dotk_qp_q4_0_avx512},
        {"q8_0 avx512", 34, nt_dot_q8_0_avx512, nt_vec_dot_q_q8_0_avx512, nt_dotk_q_q8_0_avx512, nt_dotk_qp_q8_0_avx512},
        {"q5_1 avx512", 24, nt_dot_q5_1_avx512, nt_vec_dot_q_q5_1_avx512, nt_dotk_q_q5_1_avx512, nt_dotk_qp_q5_1_avx512},
        {"q4_0 avx2", 18, nt_dot_q4_0_avx2, nt_vec_dot_q_q4_0_avx2, nt_dotk_q_q4_0_avx2, nt_dotk_qp_q4_0_avx2},
        {"q8_0 avx2", 34, nt_dot_q8_0_avx2, nt_vec_dot_q_q8_0_avx2, nt_dotk_q_q8_0_avx2, nt_dotk_qp_q8_0_avx2},
#endif
        {"q4_0 scalar", 18, nt_dot_q4_0_scalar, nt_vec_dot_q_q4_0_scalar, nt_dotk_q_q4_0_scalar, NULL},
    };
    const nt_isa isa_of[] = {
#if defined(__x86_64__)
        NT_ISA_AVX512, NT_ISA_AVX512, NT_ISA_AVX512, NT_ISA_AVX2, NT_ISA_AVX2,
#endif
        NT_ISA_SCALAR};
    nt_quantize_q8a_scalar(x, xq, N * 4);
    nt_q8a_pack(xq, xp, NB);
    printf("%-12s %6s %12s %12s %12s %12s\n", "kernel", "set", "f32 GB/s", "q8a GB/s", "q8a k=4 GB/s",
           "packed GB/s");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        if (!nt_isa_supported(isa_of[c])) continue;
        const size_t row = (size_t)NB * (size_t)cases[c].bytes;
        for (int set = 0; set < 2; set++) {
            const size_t rows = (set ? big : small) / row;
            double gbs[4] = {0};
            for (int kind = 0; kind < (cases[c].dotk_qp ? 4 : 3); kind++) {
                size_t reps = 0;
                float acc = 0, out[4];
                const double t0 = nt_bench_wall_s();
                double el;
                do {
                    for (size_t r = 0; r < rows; r++) {
                        const unsigned char *w = data + r * row;
                        if (kind == 0) acc += cases[c].f32dot(N, w, x);
                        else if (kind == 1) acc += cases[c].qdot(N, w, xq);
                        else if (kind == 3) {
                            cases[c].dotk_qp(N, w, xq, xp, sizeof(nt_q8a_block) * NB, 1, out);
                            acc += out[0];
                        } else {
                            cases[c].dotk(N, w, xq, sizeof(nt_q8a_block) * NB, 4, out);
                            acc += out[3];
                        }
                    }
                    reps++;
                } while ((el = nt_bench_wall_s() - t0) < budget);
                sink = acc;
                gbs[kind] = (double)(rows * row) * (double)reps / el * 1e-9;
            }
            printf("%-12s %6s %12.1f %12.1f %12.1f %12.1f\n", cases[c].name, set ? "64MiB" : "512KiB", gbs[0],
                   gbs[1], gbs[2], gbs[3]);
        }
    }
    free(data);
    free(x);
    free(xq);
    free(xp);
    return 0;
}
