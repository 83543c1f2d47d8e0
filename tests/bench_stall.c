/*
 * Not a test: how long the machine itself takes the cores away. Each of T
 * threads reads the monotonic clock in a tight loop for S seconds and
 * counts the gaps between consecutive readings: a gap is time the thread
 * was not running (preempted by another task, or its virtual CPU not
 * scheduled by the host). A budgeted feed (nexttok_session_feed_ex) waits
 * for every thread of its pool, so its longest call cannot be shorter than
 * the budget plus the longest gap seen here in the same minutes; run the
 * two side by side before reading a longest call as the library's.
 *
 *   build/tests/bench_stall [THREADS [SECONDS]]   (defaults 2 10)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "support/bench_clock.h"

typedef struct probe {
    double seconds;
    double longest;             /* longest gap, seconds */
    long over_half_ms, over_ms; /* gaps longer than 0.5 ms and 1 ms */
    pthread_barrier_t *start;
} probe;

static void *watch(void *arg)
{
    probe *p = arg;
    pthread_barrier_wait(p->start);
    double last = nt_bench_wall_s();
    const double end = last + p->seconds;
    while (last < end) {
        const double t = nt_bench_wall_s(), gap = t - last;
        if (gap > p->longest) p->longest = gap;
        if (gap > 0.5e-3) p->over_half_ms++;
        if (gap > 1e-3) p->over_ms++;
        last = t;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const int threads = argc > 1 ? atoi(argv[1]) : 2;
    const double seconds = argc > 2 ? atof(argv[2]) : 10.0;
    if (threads < 1 || threads > 256 || !(seconds > 0.0)) {
        fprintf(stderr, "usage: bench_stall [THREADS (1..256) [SECONDS (> 0)]]\n");
        return 2;
    }
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    probe *pr = calloc((size_t)threads, sizeof *pr);
    pthread_barrier_t start;
    if (!tid || !pr || pthread_barrier_init(&start, NULL, (unsigned)threads) != 0) return 1;
    for (int i = 0; i < threads; i++) {
        pr[i].seconds = seconds;
        pr[i].start = &start;
        if (pthread_create(&tid[i], NULL, watch, &pr[i]) != 0) return 1;
    }
    double longest = 0.0;
    long over_ms = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        printf("thread %d: longest gap %.0f us, gaps over 0.5 ms: %ld, over 1 ms: %ld\n", i, pr[i].longest * 1e6,
               pr[i].over_half_ms, pr[i].over_ms);
        if (pr[i].longest > longest) longest = pr[i].longest;
        over_ms += pr[i].over_ms;
    }
    printf("stalls, %d threads, %.0f s: longest %.0f us, %ld gaps over 1 ms (%.2f a second)\n", threads, seconds,
           longest * 1e6, over_ms, (double)over_ms / seconds);
    pthread_barrier_destroy(&start);
    free(tid);
    free(pr);
    return 0;
}
