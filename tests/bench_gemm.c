/*
 * Prefill GEMM throughput on the shapes of the bench models (not a test):
 * each model's matrices of one layer times n_tok tokens through nt_matmul on
 * one thread, timed by the thread's CPU clock, and every output checked
 * against the single-token dot (the GEMM's contract is bitwise equality).
 * Usage: bench_gemm [n_tok [seconds per case [only this case's index [copies]]]]
 * With copies, the products cycle through that many copies of each weight
 * (enough of them to overflow the caches: the rows then come from memory,
 * as in a model's prefill).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/isa.h"
#include "kernels/kernels.h"
#include "types/types.h"
#include "support/bench_clock.h"

typedef struct shape {
    const char *model;
    uint32_t type;
    int64_t n_in, n_out;
} shape;

int main(int argc, char **argv)
{
    const int64_t n_tok = argc > 1 ? atoll(argv[1]) : 64;
    const double budget = argc > 2 ? atof(argv[2]) : 1.0;
    static const shape shapes[] = {
        {"gpt2", NT_TYPE_F32, 768, 2304},  {"gpt2", NT_TYPE_F32, 768, 768},
        {"gpt2", NT_TYPE_F32, 768, 3072},  {"gpt2", NT_TYPE_F32, 3072, 768},
        {"llama", NT_TYPE_F16, 2048, 2048}, {"llama", NT_TYPE_F16, 2048, 256},
        {"llama", NT_TYPE_F16, 2048, 5632}, {"llama", NT_TYPE_F16, 5632, 2048},
        {"llama", NT_TYPE_BF16, 2048, 5632},
        /* rows that stay in L1 (512) or not quite: the tiles without the memory */
        {"l1", NT_TYPE_F32, 512, 16}, {"l1", NT_TYPE_F32, 2048, 16},
    };
    printf("%-6s %-5s %5s %5s %9s %s\n", "model", "type", "n_in", "n_out", "GFLOP/s", "bitwise");
    const int only = argc > 3 ? atoi(argv[3]) : -1;
    const int copies = argc > 4 && atoi(argv[4]) > 1 ? atoi(argv[4]) : 1;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        if (only >= 0 && (size_t)only != s) continue;
        const shape *sh = &shapes[s];
        const size_t es = sh->type == NT_TYPE_F32 ? 4 : 2;
        const size_t nw = (size_t)sh->n_in * (size_t)sh->n_out;
        const size_t bytes = (nw * es + 63) / 64 * 64;
        unsigned char *data = aligned_alloc(64, bytes * (size_t)copies);
        float *x = malloc(sizeof(float) * (size_t)(sh->n_in * n_tok));
        float *y = malloc(sizeof(float) * (size_t)(sh->n_out * n_tok));
        for (size_t i = 0; i < nw; i++) {
            float v = (float)((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
            if (es == 4) memcpy(data + 4 * i, &v, 4);
            else {
                uint16_t h = sh->type == NT_TYPE_F16 ? nt_fp32_to_fp16(v) : nt_fp32_to_bf16(v);
                memcpy(data + 2 * i, &h, 2);
            }
        }
        for (int64_t i = 0; i < sh->n_in * n_tok; i++) x[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
        for (int c = 1; c < copies; c++) memcpy(data + bytes * (size_t)c, data, bytes);
        nt_weight w = {data, sh->type, sh->n_in, sh->n_out, (size_t)sh->n_in * es};
        nt_matmul(NULL, &w, x, n_tok, y); /* warm-up */
        int reps = 0;
        double t0 = nt_bench_cpu_s(), el;
        do {
            w.data = data + bytes * (size_t)(reps % copies);
            nt_matmul(NULL, &w, x, n_tok, y);
            reps++;
        } while ((el = nt_bench_cpu_s() - t0) < budget);
        w.data = data;
        const nt_type_kernels *k = nt_type_kernels_get(sh->type);
        int64_t bad = 0;
        for (int64_t t = 0; t < n_tok; t++)
            for (int64_t r = 0; r < sh->n_out; r++) {
                float d = k->vec_dot(sh->n_in, data + (size_t)r * w.row_bytes, x + t * sh->n_in);
                bad += memcmp(&d, &y[t * sh->n_out + r], sizeof d) != 0;
            }
        printf("%-6s %-5s %5lld %5lld %9.2f %s\n", sh->model, nt_type_traits_get(sh->type)->name,
               (long long)sh->n_in, (long long)sh->n_out, 2.0 * (double)nw * (double)n_tok * reps / el * 1e-9,
               bad ? "DIFFERENT" : "ok");
        fflush(stdout);
        free(data);
        free(x);
        free(y);
    }
    return 0;
}
