/*
 * A fixed pthread pool.
 *
 * One nt_pool_run writes a job (function, context, task count) into one of
 * two slots and publishes it by storing a claim word (generation << 32 |
 * next task index). Any thread, the caller included, takes task i by a
 * compare-and-swap of (g, i) to (g, i + 1); the caller returns once the
 * job's count of finished tasks reaches its task count.
 *
 * The caller never waits for a worker that has nothing to do. That matters
 * on a busy machine: a worker descheduled by another process would otherwise
 * hold up every product of the forward pass until the scheduler ran it. A
 * late worker cannot run a task of a newer job with an older job's view:
 * its claim names the generation it read the job under, the claim word
 * never repeats a value, and a job's slot is rewritten only after the claim
 * word has moved two generations on.
 *
 * Waiting threads spin briefly (products come microseconds apart), yielding
 * the core while they spin, then sleep on a condition variable.
 */
#include "core/pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"

#if defined(__x86_64__) || defined(__i386__)
#  include <immintrin.h>
#  define nt_cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#  define nt_cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#  define nt_cpu_relax() ((void)0)
#endif

/* Spin rounds before sleeping; every 64th round yields the core, so a
 * spinning thread gives way to a worker that still has a task. */
#define NT_POOL_SPIN 4096
#define NT_POOL_MAX_THREADS 1024

#define NT_CLAIM(gen, idx) (((uint64_t)(gen) << 32) | (uint64_t)(idx))
#define NT_CLAIM_GEN(c) ((uint32_t)((c) >> 32))
#define NT_CLAIM_IDX(c) ((int64_t)((c) & 0xffffffffu))

typedef struct nt_pool_job {
    nt_pool_task_fn fn;
    void *ctx;
    /* Atomic because a late thread may read it while the slot is being
     * refilled; such a read is then discarded by the failing claim. */
    _Atomic int64_t n_tasks;
    _Atomic int64_t finished;
} nt_pool_job;

struct nexttok_pool {
    int32_t n_threads;  /* including the caller */
    int32_t spin;       /* spin rounds before sleeping */
    pthread_t *workers; /* n_threads - 1 of them */
    int32_t n_started;

    nt_pool_job jobs[2];     /* generation g uses jobs[g % 2] */
    _Atomic uint64_t claim;  /* NT_CLAIM(generation, next task) */
    uint32_t generation;     /* the caller's current generation */

    pthread_mutex_t run_mu; /* one job at a time when sessions share the pool */
    pthread_mutex_t mu;
    pthread_cond_t wake; /* workers sleep here for a new generation */
    pthread_cond_t done; /* the caller sleeps here for the job's end */
    int32_t caller_sleeping; /* under mu */
    _Atomic bool stop;
};

static void spin_pause(int32_t round)
{
    if ((round & 63) == 63) sched_yield();
    else nt_cpu_relax();
}

/* Run tasks of the generation the claim word shows until none is left.
 * Returns the generation it worked on. */
static uint32_t nt_pool_drain(nt_pool *pool)
{
    uint64_t c = atomic_load_explicit(&pool->claim, memory_order_acquire);
    for (;;) {
        const uint32_t g = NT_CLAIM_GEN(c);
        nt_pool_job *job = &pool->jobs[g & 1];
        const int64_t i = NT_CLAIM_IDX(c);
        const int64_t n = atomic_load_explicit(&job->n_tasks, memory_order_relaxed);
        if (i >= n) return g;
        if (!atomic_compare_exchange_weak_explicit(&pool->claim, &c, c + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue; /* c now holds the current claim word */
        job->fn(job->ctx, i);
        if (atomic_fetch_add_explicit(&job->finished, 1, memory_order_acq_rel) + 1 == n) {
            pthread_mutex_lock(&pool->mu);
            if (pool->caller_sleeping) pthread_cond_signal(&pool->done);
            pthread_mutex_unlock(&pool->mu);
        }
        c = atomic_load_explicit(&pool->claim, memory_order_acquire);
    }
}

static void *nt_pool_worker(void *arg)
{
    nt_pool *pool = arg;
    uint32_t seen = 0;
    for (;;) {
        /* Wait for a generation newer than the last one worked on. */
        int32_t round = 0;
        while (NT_CLAIM_GEN(atomic_load_explicit(&pool->claim, memory_order_acquire)) == seen &&
               !atomic_load_explicit(&pool->stop, memory_order_acquire)) {
            if (round < pool->spin) {
                spin_pause(round++);
                continue;
            }
            pthread_mutex_lock(&pool->mu);
            while (NT_CLAIM_GEN(atomic_load_explicit(&pool->claim, memory_order_acquire)) == seen &&
                   !atomic_load_explicit(&pool->stop, memory_order_acquire))
                pthread_cond_wait(&pool->wake, &pool->mu);
            pthread_mutex_unlock(&pool->mu);
        }
        if (atomic_load_explicit(&pool->stop, memory_order_acquire)) break;
        seen = nt_pool_drain(pool);
    }
    return NULL;
}

nexttok_status nt_pool_create(int32_t n_threads, nt_pool **out)
{
    *out = NULL;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (n_threads <= 0)
        n_threads = cores > 0 ? (int32_t)(cores < NT_POOL_MAX_THREADS ? cores : NT_POOL_MAX_THREADS) : 1;
    if (n_threads > NT_POOL_MAX_THREADS)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "thread pool: %d threads requested, at most %d",
                       (int)n_threads, NT_POOL_MAX_THREADS);

    nt_pool *pool = nt_calloc(1, sizeof *pool);
    if (!pool) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "thread pool: out of memory");
    pool->n_threads = n_threads;
    /* With more threads than cores a spinning thread only delays the one
     * it waits for: sleep at once instead. */
    pool->spin = cores > 0 && n_threads > cores ? 0 : NT_POOL_SPIN;
    atomic_init(&pool->claim, NT_CLAIM(0, 0));
    atomic_init(&pool->stop, false);
    for (int j = 0; j < 2; j++) {
        atomic_init(&pool->jobs[j].n_tasks, 0);
        atomic_init(&pool->jobs[j].finished, 0);
    }
    if (pthread_mutex_init(&pool->run_mu, NULL) != 0) {
        nt_free(pool);
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "thread pool: cannot create a mutex");
    }
    if (pthread_mutex_init(&pool->mu, NULL) != 0) {
        pthread_mutex_destroy(&pool->run_mu);
        nt_free(pool);
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "thread pool: cannot create a mutex");
    }
    if (pthread_cond_init(&pool->wake, NULL) != 0) {
        pthread_mutex_destroy(&pool->run_mu);
        pthread_mutex_destroy(&pool->mu);
        nt_free(pool);
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "thread pool: cannot create a condition variable");
    }
    if (pthread_cond_init(&pool->done, NULL) != 0) {
        pthread_cond_destroy(&pool->wake);
        pthread_mutex_destroy(&pool->run_mu);
        pthread_mutex_destroy(&pool->mu);
        nt_free(pool);
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "thread pool: cannot create a condition variable");
    }
    if (n_threads > 1) {
        pool->workers = nt_malloc_array((size_t)(n_threads - 1), sizeof *pool->workers);
        if (!pool->workers) {
            nt_pool_free(pool);
            return nt_fail(NEXTTOK_ERR_NO_MEMORY, "thread pool: out of memory");
        }
        for (int32_t i = 0; i < n_threads - 1; i++) {
            if (pthread_create(&pool->workers[i], NULL, nt_pool_worker, pool) != 0) {
                nt_pool_free(pool);
                return nt_fail(NEXTTOK_ERR_NO_MEMORY, "thread pool: cannot start thread %d of %d",
                               (int)i + 2, (int)n_threads);
            }
            pool->n_started++;
        }
    }
    *out = pool;
    return NEXTTOK_OK;
}

void nt_pool_free(nt_pool *pool)
{
    if (!pool) return;
    pthread_mutex_lock(&pool->mu);
    atomic_store_explicit(&pool->stop, true, memory_order_release);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mu);
    for (int32_t i = 0; i < pool->n_started; i++) pthread_join(pool->workers[i], NULL);
    nt_free(pool->workers);
    pthread_cond_destroy(&pool->done);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->mu);
    pthread_mutex_destroy(&pool->run_mu);
    nt_free(pool);
}

int32_t nt_pool_n_threads(const nt_pool *pool) { return pool ? pool->n_threads : 1; }

void nt_pool_run(nt_pool *pool, nt_pool_task_fn task, void *ctx, int64_t n_tasks)
{
    if (n_tasks <= 0) return;
    if (!pool || pool->n_started == 0 || n_tasks == 1 || n_tasks > 0xffffffffLL) {
        for (int64_t i = 0; i < n_tasks; i++) task(ctx, i);
        return;
    }
    pthread_mutex_lock(&pool->run_mu);
    /* Fill the slot of the next generation, then publish it. Generation 0
     * is the idle state workers start in: on wrap-around skip to 2, which
     * keeps consecutive generations in alternate slots. */
    uint32_t g = pool->generation + 1;
    if (g == 0) g = 2;
    pool->generation = g;
    nt_pool_job *job = &pool->jobs[g & 1];
    job->fn = task;
    job->ctx = ctx;
    atomic_store_explicit(&job->n_tasks, n_tasks, memory_order_relaxed);
    atomic_store_explicit(&job->finished, 0, memory_order_relaxed);
    pthread_mutex_lock(&pool->mu);
    atomic_store_explicit(&pool->claim, NT_CLAIM(g, 0), memory_order_release);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mu);

    nt_pool_drain(pool);

    for (int32_t round = 0; round < pool->spin; round++) {
        if (atomic_load_explicit(&job->finished, memory_order_acquire) == n_tasks) {
            pthread_mutex_unlock(&pool->run_mu);
            return;
        }
        spin_pause(round);
    }
    pthread_mutex_lock(&pool->mu);
    pool->caller_sleeping = 1;
    while (atomic_load_explicit(&job->finished, memory_order_acquire) != n_tasks)
        pthread_cond_wait(&pool->done, &pool->mu);
    pool->caller_sleeping = 0;
    pthread_mutex_unlock(&pool->mu);
    pthread_mutex_unlock(&pool->run_mu);
}

NEXTTOK_API nexttok_status nexttok_pool_create(int32_t n_threads, nexttok_pool **pool_out)
{
    nt_error_clear();
    if (pool_out) *pool_out = NULL;
    if (!pool_out) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_pool_create: pool_out must not be NULL");
    if (n_threads < 0)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_pool_create: n_threads %d is negative", (int)n_threads);
    return nt_pool_create(n_threads, pool_out);
}

NEXTTOK_API void nexttok_pool_free(nexttok_pool *pool) { nt_pool_free(pool); }

NEXTTOK_API int32_t nexttok_pool_n_threads_get(const nexttok_pool *pool) { return pool ? pool->n_threads : 0; }
