/*
 * Matrix-vector throughput of the quantized weight types per ISA (not a
 * test): a 4096x4096 weight of random blocks times 1 and 8 tokens on one
 * thread, with F16 for comparison. Usage: bench_quant [seconds per case]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/isa.h"
#include "kernels/kernels.h"
#include "types/types.h"
#include "support/bench_clock.h"

int main(int argc, char **argv)
{
    const double budget = argc > 1 ? atof(argv[1]) : 0.5;
    enum { N = 4096, MAX_TOK = 8 };
    static const uint32_t types[] = {NT_TYPE_F16,  NT_TYPE_Q8_0, NT_TYPE_Q4_0, NT_TYPE_Q4_1, NT_TYPE_Q5_0,
                                     NT_TYPE_Q5_1, NT_TYPE_Q2_K, NT_TYPE_Q3_K, NT_TYPE_Q4_K, NT_TYPE_Q5_K,
                                     NT_TYPE_Q6_K};
    float *x = malloc(sizeof(float) * N * MAX_TOK);
    float *y = malloc(sizeof(float) * N * MAX_TOK);
    unsigned char *data = malloc((size_t)N * N * 2);
    for (int i = 0; i < N * MAX_TOK; i++) x[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    uint64_t s = 88172645463325252ull;
    for (size_t i = 0; i < (size_t)N * N * 2; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        data[i] = (unsigned char)(s & 0x3b); /* bytes that never make an F16 inf/NaN */
    }
    printf("%-7s %-5s %4s %9s %11s\n", "isa", "type", "tok", "GFLOP/s", "weight GB/s");
    for (int isa = 0; isa < NT_ISA_COUNT; isa++) {
        if (!nt_isa_force((nt_isa)isa)) continue;
        for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
            uint64_t row_bytes;
            nt_type_row_bytes(types[t], N, &row_bytes);
            nt_weight w = {data, types[t], N, N, (size_t)row_bytes};
            for (int tok = 1; tok <= MAX_TOK; tok *= 8) {
                int reps = 0;
                double t0 = nt_bench_wall_s(), el;
                do {
                    nt_matmul(NULL, &w, x, tok, y);
                    reps++;
                } while ((el = nt_bench_wall_s() - t0) < budget);
                printf("%-7s %-5s %4d %9.1f %11.1f\n", nt_isa_name((nt_isa)isa), nt_type_traits_get(types[t])->name,
                       tok, 2.0 * N * N * tok * reps / el * 1e-9, (double)row_bytes * N * reps / el * 1e-9);
            }
        }
    }
    free(x);
    free(y);
    free(data);
    return 0;
}
