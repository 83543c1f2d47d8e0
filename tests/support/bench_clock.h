/* The clocks the benchmark programs read, in seconds: the wall clock for
 * throughput, a thread's CPU time where a busy machine must not count. */
#ifndef NT_TESTS_BENCH_CLOCK_H
#define NT_TESTS_BENCH_CLOCK_H

#include <time.h>

static inline double nt_bench_clock_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline double nt_bench_wall_s(void) { return nt_bench_clock_s(CLOCK_MONOTONIC); }

static inline double nt_bench_cpu_s(void) { return nt_bench_clock_s(CLOCK_THREAD_CPUTIME_ID); }

#endif
