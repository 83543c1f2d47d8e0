/*
 * Decode attention at depth (not a test): one token's attention over every
 * layer of a KV cache of the 1.1B Llama shape (22 layers, 32 query heads
 * sharing 4 KV heads of 64 values) filled to a depth, per row type, on a
 * pool of T threads. Prints milliseconds per token (wall) and the CPU time
 * of the calling thread, and the bytes of K/V rows read per token.
 * Between layers it reads a share of a 512 MB buffer, as a decode reads
 * the weights, so the rows come from memory, not from the last level cache.
 * Usage: bench_attention [threads] [depth] [reps] [f32|f16|q8_0|all] [flush MB]
 * (flush 0: the rows stay in cache, which times the loops' arithmetic).
 * It ends each line with a hash of the outputs' bits.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/hash.h"
#include "core/pool.h"
#include "forward/forward.h"
#include "kvcache/kvcache.h"
#include "types/types.h"
#include "support/bench_clock.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static float rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((double)(rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

int main(int argc, char **argv)
{
    const int32_t threads = argc > 1 ? atoi(argv[1]) : 2;
    const int32_t depth = argc > 2 ? atoi(argv[2]) : 2032;
    const int reps = argc > 3 ? atoi(argv[3]) : 20;
    enum { L = 22, H = 32, HKV = 4, HD = 64 };
    const int32_t n_ctx = depth + 16;
    nt_pool *pool = NULL;
    if (threads > 1 && nt_pool_create(threads, &pool) != NEXTTOK_OK) return 1;
    float *k = malloc(sizeof(float) * HKV * HD), *v = malloc(sizeof(float) * HKV * HD);
    float *q = malloc(sizeof(float) * H * HD), *out = malloc(sizeof(float) * H * HD);
    float *att = malloc(sizeof(float) * H * (size_t)(n_ctx + HD));
    for (int i = 0; i < H * HD; i++) q[i] = rnd();
    const size_t flush_bytes = (size_t)(argc > 5 ? atoi(argv[5]) : 512) << 20, flush_layer = flush_bytes / L / 64 * 64;
    unsigned char *flush = malloc(flush_bytes + 64);
    if (!flush) return 1;
    memset(flush, 1, flush_bytes);
    volatile unsigned long sink = 0;
    const uint32_t types[] = {NT_TYPE_F32, NT_TYPE_F16, NT_TYPE_Q8_0};
    const char *names[] = {"f32", "f16", "q8_0"};
    for (int ti = 0; ti < 3; ti++) {
        if (argc > 4 && strcmp(argv[4], "all") != 0 && strcmp(argv[4], names[ti]) != 0) continue;
        nt_kvcache c;
        if (nt_kvcache_init(&c, types[ti], L, n_ctx, HKV, HD, NULL, 1) != NEXTTOK_OK) return 1;
        if (nt_kv_prepare(&c, 0, depth + 1) != NEXTTOK_OK) return 1;
        nt_kv_view view = {&c};
        for (int l = 0; l < L; l++)
            for (int32_t p = 0; p <= depth; p++) {
                for (int i = 0; i < HKV * HD; i++) k[i] = rnd(), v[i] = rnd();
                nt_kv_store(&view, l, p, k, v);
            }
        nt_scratch sc = {0};
        sc.att = att;
        sc.att_stride = n_ctx + HD;
        const int32_t pos = depth;
        nt_batch b = {.n_tok = 1, .pos = &pos};
        nt_attention_args a = {q, H * HD, &view, &b, 0, out, &sc, H, HKV, HD, 0.125f, 0.0f, 0};
        double best = 1e9, cpu_best = 1e9;
        for (int r = 0; r < reps; r++) {
            double wall = 0.0, cpu = 0.0;
            for (int l = 0; l < L; l++) {
                unsigned long acc = 0;
                for (size_t o = 0; o < flush_layer; o += 64) acc += flush[(size_t)l * flush_layer + o];
                sink += acc;
                const double t0 = nt_bench_wall_s(), c0 = nt_bench_cpu_s();
                a.layer = l;
                nt_attention(pool, &a);
                wall += nt_bench_wall_s() - t0;
                cpu += nt_bench_cpu_s() - c0;
            }
            if (wall < best) best = wall;
            if (cpu < cpu_best) cpu_best = cpu;
        }
        /* the outputs' bits, so that a kernel change that claims the same
         * results can be checked against the binary before it */
        uint64_t hash = 0;
        for (int l = 0; l < L; l++) {
            a.layer = l;
            nt_attention(pool, &a);
            hash = hash * 31 + nt_fnv1a64(out, sizeof(float) * H * HD);
        }
        const double mb = 2.0 * L * (double)(depth + 1) * (double)c.row_bytes / 1e6;
        printf("%-5s depth %d, %d threads: %.3f ms/token (best of %d), caller CPU %.3f ms, %.1f MB read, %.1f GB/s,"
               " outputs %016llx\n",
               names[ti], depth, threads, best * 1e3, reps, cpu_best * 1e3, mb, mb / 1e3 / best,
               (unsigned long long)hash);
        nt_kvcache_release(&c);
    }
    free(k), free(v), free(q), free(out), free(att), free(flush);
    nt_pool_free(pool);
    return 0;
}
