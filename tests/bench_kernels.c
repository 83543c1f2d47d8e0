/*
 * Matrix-vector throughput per ISA and weight type (not a test): a
 * 4096x4096 weight times 1 and 8 tokens, on one thread and on all cores.
 * Usage: bench_kernels [seconds per case]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/pool.h"
#include "core/isa.h"
#include "kernels/kernels.h"
#include "types/types.h"
#include "support/bench_clock.h"

int main(int argc, char **argv)
{
    const double budget = argc > 1 ? atof(argv[1]) : 1.0;
    enum { N = 4096, MAX_TOK = 8 };
    static const uint32_t types[] = {NT_TYPE_F32, NT_TYPE_F16, NT_TYPE_BF16};
    float *x = malloc(sizeof(float) * N * MAX_TOK);
    float *y = malloc(sizeof(float) * N * MAX_TOK);
    void *data = aligned_alloc(64, (size_t)N * N * 4);
    for (int i = 0; i < N * MAX_TOK; i++) x[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    nt_pool *pools[2] = {NULL, NULL};
    if (nt_pool_create(0, &pools[1]) != NEXTTOK_OK) return 1;
    printf("%-7s %-5s %4s %7s %9s %9s\n", "isa", "type", "tok", "threads", "GFLOP/s", "weight GB/s");
    for (int isa = 0; isa < NT_ISA_COUNT; isa++) {
        if (!nt_isa_force((nt_isa)isa)) continue;
        for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
            size_t es = types[t] == NT_TYPE_F32 ? 4 : 2;
            for (size_t i = 0; i < (size_t)N * N; i++) {
                float v = (float)((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
                if (es == 4) memcpy((char *)data + 4 * i, &v, 4);
                else {
                    uint16_t h = types[t] == NT_TYPE_F16 ? nt_fp32_to_fp16(v) : nt_fp32_to_bf16(v);
                    memcpy((char *)data + 2 * i, &h, 2);
                }
            }
            nt_weight w = {data, types[t], N, N, (size_t)N * es};
            for (int ntok = 1; ntok <= MAX_TOK; ntok *= 8)
                for (int p = 0; p < 2; p++) {
                    nt_matmul(pools[p], &w, x, ntok, y); /* warm-up */
                    int reps = 0;
                    double t0 = nt_bench_wall_s(), el;
                    do {
                        nt_matmul(pools[p], &w, x, ntok, y);
                        reps++;
                    } while ((el = nt_bench_wall_s() - t0) < budget);
                    double flops = 2.0 * N * N * ntok * reps;
                    printf("%-7s %-5s %4d %7d %9.2f %9.2f\n", nt_isa_name((nt_isa)isa),
                           nt_type_traits_get(types[t])->name, ntok, nt_pool_n_threads(pools[p]),
                           flops / el * 1e-9, (double)N * N * es * reps / el * 1e-9);
                    fflush(stdout);
                }
        }
    }
    nt_pool_free(pools[1]);
    free(data);
    free(x);
    free(y);
    return 0;
}
