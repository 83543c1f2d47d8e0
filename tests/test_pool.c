/* The thread pool: every task runs exactly once, on several threads
 * including the caller's, over many back-to-back runs. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "support/harness.h"

#include "core/pool.h"

typedef struct count_job {
    _Atomic int *hits;
} count_job;

static void count_task(void *ctx, int64_t i)
{
    count_job *job = ctx;
    atomic_fetch_add(&job->hits[i], 1);
}

Test(pool, every_task_runs_exactly_once)
{
    static const int32_t threads[] = {1, 2, 3, 8};
    static const int64_t sizes[] = {0, 1, 2, 3, 7, 64, 1000};
    for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
        nt_pool *pool;
        cr_assert(nt_pool_create(threads[t], &pool) == NEXTTOK_OK);
        cr_assert(nt_pool_n_threads(pool) == threads[t]);
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            _Atomic int *hits = calloc((size_t)sizes[s] + 1, sizeof *hits);
            count_job job = {hits};
            for (int rep = 0; rep < 50; rep++) nt_pool_run(pool, count_task, &job, sizes[s]);
            for (int64_t i = 0; i < sizes[s]; i++)
                cr_assert(atomic_load(&hits[i]) == 50, "threads %d size %lld task %lld ran %d times",
                          threads[t], (long long)sizes[s], (long long)i, atomic_load(&hits[i]));
            cr_assert(atomic_load(&hits[sizes[s]]) == 0);
            free(hits);
        }
        nt_pool_free(pool);
    }
}

Test(pool, null_pool_runs_on_caller)
{
    _Atomic int hits[5] = {0};
    count_job job = {hits};
    cr_assert(nt_pool_n_threads(NULL) == 1);
    nt_pool_run(NULL, count_task, &job, 5);
    for (int i = 0; i < 5; i++) cr_assert(atomic_load(&hits[i]) == 1);
    nt_pool_free(NULL);
}

typedef struct who_job {
    pthread_t ids[64];
} who_job;

static void who_task(void *ctx, int64_t i)
{
    who_job *job = ctx;
    job->ids[i] = pthread_self();
    struct timespec ts = {0, 2000000}; /* 2 ms: long enough for every thread to claim one */
    nanosleep(&ts, NULL);
}

Test(pool, work_spreads_over_threads_and_caller)
{
    nt_pool *pool;
    cr_assert(nt_pool_create(3, &pool) == NEXTTOK_OK);
    who_job job;
    nt_pool_run(pool, who_task, &job, 12);
    int distinct = 0, caller = 0;
    for (int i = 0; i < 12; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++) seen |= pthread_equal(job.ids[i], job.ids[j]);
        distinct += !seen;
        caller |= pthread_equal(job.ids[i], pthread_self());
    }
    cr_assert(distinct == 3, "%d distinct threads ran the tasks", distinct);
    cr_assert(caller, "the caller did not take part");
    nt_pool_free(pool);
}

typedef struct sum_job {
    int64_t *out;
} sum_job;

static void square_task(void *ctx, int64_t i)
{
    sum_job *job = ctx;
    job->out[i] = i * i;
}

/* Many short runs back to back, with pauses that let workers fall asleep
 * in between: results must be complete when nt_pool_run returns. */
Test(pool, back_to_back_runs_complete_before_return)
{
    nt_pool *pool;
    cr_assert(nt_pool_create(2, &pool) == NEXTTOK_OK);
    int64_t out[17];
    sum_job job = {out};
    for (int rep = 0; rep < 20000; rep++) {
        for (int i = 0; i < 17; i++) out[i] = -1;
        int64_t n = 1 + rep % 17;
        nt_pool_run(pool, square_task, &job, n);
        for (int64_t i = 0; i < n; i++) cr_assert(out[i] == i * i, "rep %d task %lld", rep, (long long)i);
        if (rep % 1000 == 0) usleep(20000);
    }
    nt_pool_free(pool);
}

Test(pool, create_and_free_repeatedly)
{
    for (int i = 0; i < 200; i++) {
        nt_pool *pool;
        cr_assert(nt_pool_create(1 + i % 4, &pool) == NEXTTOK_OK);
        if (i % 2) {
            _Atomic int hits[3] = {0};
            count_job job = {hits};
            nt_pool_run(pool, count_task, &job, 3);
        }
        nt_pool_free(pool);
    }
    nt_pool *pool;
    cr_assert(nt_pool_create(0, &pool) == NEXTTOK_OK);
    cr_assert(nt_pool_n_threads(pool) == (int32_t)sysconf(_SC_NPROCESSORS_ONLN));
    nt_pool_free(pool);
    cr_assert(nt_pool_create(1 << 20, &pool) == NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert(pool == NULL);
}
