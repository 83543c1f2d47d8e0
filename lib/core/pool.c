/*
 * A fixed pthread pool. One nt_pool_run publishes a job (function, context,
 * task count) and bumps a generation counter; workers notice the new
 * generation, claim task indices from an atomic counter (so fast threads take
 * more tasks), and the last worker to finish wakes the caller, who works on
 * the job too. Workers spin briefly before sleeping on a condition variable
 * because a forward pass issues matrix products back to back, microseconds
 * apart, and a futex wake-up per product would cost more than the spin.
 */
#include "core/pool.h"

#include <pthread.h>
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

/* Spin iterations before a worker (or the waiting caller) sleeps: a few tens
 * of microseconds, long enough to bridge the gap between two products. */
#define NT_POOL_SPIN 20000
#define NT_POOL_MAX_THREADS 1024

struct nt_pool {
    int32_t n_threads; /* including the caller */
    pthread_t *workers; /* n_threads - 1 of them */
    int32_t n_started;
    int32_t spin; /* iterations to spin before sleeping */

    pthread_mutex_t mu;
    pthread_cond_t wake; /* workers wait here for a new generation */
    pthread_cond_t done; /* the caller waits here for `pending` to reach 0 */

    /* The current job, written before `generation` is released. */
    nt_pool_task_fn fn;
    void *ctx;
    int64_t n_tasks;

    _Atomic uint64_t generation;
    _Atomic int64_t next_task;
    _Atomic int32_t pending; /* workers still inside the current generation */
    _Atomic bool stop;
};

static void nt_pool_drain(nt_pool *pool)
{
    const int64_t n = pool->n_tasks;
    for (;;) {
        int64_t i = atomic_fetch_add_explicit(&pool->next_task, 1, memory_order_relaxed);
        if (i >= n) break;
        pool->fn(pool->ctx, i);
    }
}

static uint64_t nt_pool_await_generation(nt_pool *pool, uint64_t seen)
{
    for (int32_t spin = 0; spin < pool->spin; spin++) {
        uint64_t g = atomic_load_explicit(&pool->generation, memory_order_acquire);
        if (g != seen) return g;
        nt_cpu_relax();
    }
    pthread_mutex_lock(&pool->mu);
    uint64_t g;
    while ((g = atomic_load_explicit(&pool->generation, memory_order_acquire)) == seen)
        pthread_cond_wait(&pool->wake, &pool->mu);
    pthread_mutex_unlock(&pool->mu);
    return g;
}

static void *nt_pool_worker(void *arg)
{
    nt_pool *pool = arg;
    uint64_t seen = 0;
    for (;;) {
        seen = nt_pool_await_generation(pool, seen);
        if (atomic_load_explicit(&pool->stop, memory_order_acquire)) break;
        nt_pool_drain(pool);
        if (atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_acq_rel) == 1) {
            /* Lock so the signal cannot fall between the caller's check and its wait. */
            pthread_mutex_lock(&pool->mu);
            pthread_cond_signal(&pool->done);
            pthread_mutex_unlock(&pool->mu);
        }
    }
    return NULL;
}

/* Publish a new generation (the job fields are already written). */
static void nt_pool_publish(nt_pool *pool)
{
    pthread_mutex_lock(&pool->mu);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_release);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mu);
}

static void nt_pool_shutdown(nt_pool *pool)
{
    atomic_store_explicit(&pool->stop, true, memory_order_release);
    nt_pool_publish(pool);
    for (int32_t i = 0; i < pool->n_started; i++) pthread_join(pool->workers[i], NULL);
}

nexttok_status nt_pool_create(int32_t n_threads, nt_pool **out)
{
    *out = NULL;
    if (n_threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = n > 0 ? (int32_t)(n < NT_POOL_MAX_THREADS ? n : NT_POOL_MAX_THREADS) : 1;
    }
    if (n_threads > NT_POOL_MAX_THREADS)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "thread pool: %d threads requested, at most %d",
                       (int)n_threads, NT_POOL_MAX_THREADS);

    nt_pool *pool = nt_calloc(1, sizeof *pool);
    if (!pool) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "thread pool: out of memory");
    pool->n_threads = n_threads;
    /* With more threads than cores a spinning thread only delays the one
     * it waits for: sleep at once instead. */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    pool->spin = cores > 0 && n_threads > cores ? 0 : NT_POOL_SPIN;
    atomic_init(&pool->generation, 0);
    atomic_init(&pool->next_task, 0);
    atomic_init(&pool->pending, 0);
    atomic_init(&pool->stop, false);
    if (pthread_mutex_init(&pool->mu, NULL) != 0) {
        nt_free(pool);
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "thread pool: cannot create a mutex");
    }
    if (pthread_cond_init(&pool->wake, NULL) != 0) {
        pthread_mutex_destroy(&pool->mu);
        nt_free(pool);
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "thread pool: cannot create a condition variable");
    }
    if (pthread_cond_init(&pool->done, NULL) != 0) {
        pthread_cond_destroy(&pool->wake);
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
    nt_pool_shutdown(pool);
    nt_free(pool->workers);
    pthread_cond_destroy(&pool->done);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->mu);
    nt_free(pool);
}

int32_t nt_pool_n_threads(const nt_pool *pool) { return pool ? pool->n_threads : 1; }

void nt_pool_run(nt_pool *pool, nt_pool_task_fn task, void *ctx, int64_t n_tasks)
{
    if (n_tasks <= 0) return;
    if (!pool || pool->n_started == 0 || n_tasks == 1) {
        for (int64_t i = 0; i < n_tasks; i++) task(ctx, i);
        return;
    }
    pool->fn = task;
    pool->ctx = ctx;
    pool->n_tasks = n_tasks;
    atomic_store_explicit(&pool->next_task, 0, memory_order_relaxed);
    atomic_store_explicit(&pool->pending, pool->n_started, memory_order_relaxed);
    nt_pool_publish(pool);

    nt_pool_drain(pool);

    for (int32_t spin = 0; spin < pool->spin; spin++) {
        if (atomic_load_explicit(&pool->pending, memory_order_acquire) == 0) return;
        nt_cpu_relax();
    }
    pthread_mutex_lock(&pool->mu);
    while (atomic_load_explicit(&pool->pending, memory_order_acquire) != 0)
        pthread_cond_wait(&pool->done, &pool->mu);
    pthread_mutex_unlock(&pool->mu);
}
