/*
 * Not a test: the machine's memory read bandwidth, the denominator of
 * issue 6's bound for quantized decode (weight bytes per token / read
 * bandwidth). Each of T threads streams through its own slice of a buffer
 * far larger than the caches, summing 64-bit words with independent
 * accumulators (so the loads, not the adds, set the pace); prints the best
 * of R rounds in GB/s (10^9 bytes per second).
 *
 *   build/tests/bench_bandwidth [THREADS [MIB [ROUNDS]]]   (defaults 2 1024 7)
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "support/bench_clock.h"

typedef struct slice {
    const uint64_t *p;
    size_t n; /* words */
    uint64_t sum;
    pthread_barrier_t *start;
} slice;

static void *read_slice(void *arg)
{
    slice *s = arg;
    pthread_barrier_wait(s->start);
    uint64_t a[16] = {0};
    size_t i = 0;
    for (; i + 16 <= s->n; i += 16)
        for (int j = 0; j < 16; j++) a[j] += s->p[i + j];
    for (; i < s->n; i++) a[0] += s->p[i];
    uint64_t t = 0;
    for (int j = 0; j < 16; j++) t += a[j];
    s->sum = t;
    pthread_barrier_wait(s->start);
    return NULL;
}

int main(int argc, char **argv)
{
    const int threads = argc > 1 ? atoi(argv[1]) : 2;
    const size_t mib = argc > 2 ? (size_t)atol(argv[2]) : 1024;
    const int rounds = argc > 3 ? atoi(argv[3]) : 7;
    if (threads < 1 || threads > 256 || mib < 1 || rounds < 1) {
        fprintf(stderr, "usage: bench_bandwidth [THREADS [MIB [ROUNDS]]]\n");
        return 2;
    }
    const size_t bytes = mib << 20, words = bytes / sizeof(uint64_t);
    uint64_t *buf = malloc(bytes);
    if (!buf) {
        fprintf(stderr, "bench_bandwidth: cannot allocate %zu MiB\n", mib);
        return 1;
    }
    for (size_t i = 0; i < words; i++) buf[i] = i * 0x9E3779B97F4A7C15ull; /* fault every page in */
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    slice *sl = calloc((size_t)threads, sizeof *sl);
    pthread_t *th = calloc((size_t)threads, sizeof *th);
    if (!sl || !th) return 1;
    double best = 0;
    uint64_t check = 0;
    for (int r = 0; r < rounds; r++) {
        for (int t = 0; t < threads; t++) {
            const size_t w0 = words * (size_t)t / (size_t)threads, w1 = words * (size_t)(t + 1) / (size_t)threads;
            sl[t] = (slice){.p = buf + w0, .n = w1 - w0, .start = &start};
            if (pthread_create(&th[t], NULL, read_slice, &sl[t]) != 0) return 1;
        }
        pthread_barrier_wait(&start);
        const double t0 = nt_bench_wall_s();
        pthread_barrier_wait(&start);
        const double secs = nt_bench_wall_s() - t0;
        for (int t = 0; t < threads; t++) {
            pthread_join(th[t], NULL);
            check += sl[t].sum;
        }
        const double gbs = (double)bytes / secs / 1e9;
        printf("round %d: %.2f GB/s\n", r, gbs);
        if (gbs > best) best = gbs;
    }
    printf("read bandwidth, %d threads, %zu MiB: best %.2f GB/s (checksum %016llx)\n", threads, mib, best,
           (unsigned long long)check);
    pthread_barrier_destroy(&start);
    free(th);
    free(sl);
    free(buf);
    return 0;
}
