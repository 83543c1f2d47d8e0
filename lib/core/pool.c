/*
 * A fixed pthread pool. nt_pool_run writes a job (function, context, task
 * count) into one of two slots and bumps a generation counter; workers that
 * notice it claim task indices from the slot's atomic counter (so fast
 * threads take more tasks), and the caller claims tasks too. The caller
 * waits only for tasks that were claimed, never for a worker that has not
 * woken yet: on a loaded machine a descheduled worker would otherwise stall
 * every product. A late worker finds no task left and goes back to wait.
 *
 * A worker registers on a slot (refs) before reading its job and checks the
 * generation again, and the caller reuses a slot only once no worker is
 * registered on it, so a late worker never reads a half-written job.
 * Workers spin briefly before sleeping on a condition variable because a
 * forward pass issues products back to back, microseconds apart.
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

/* Spin iterations before a worker (or the waiting caller) sleeps: some tens
 * of microseconds, long enough to bridge the gap between two products. */
#define NT_POOL_SPIN 20000
#define NT_POOL_MAX_THREADS 1024

typedef struct nt_pool_slot {
    /* The job: written by the caller while no worker is registered. */
    nt_pool_task_fn fn;
    void *ctx;
    int64_t n_tasks;
    _Atomic int64_t next; /* next task index to claim */
    _Atomic int64_t done; /* tasks finished */
    _Atomic int32_t refs; /* workers registered on this slot */
} nt_pool_slot;

struct nt_pool {
    int32_t n_threads; /* including the caller */
    pthread_t *workers; /* n_threads - 1 of them */
    int32_t n_started;
    int32_t spin; /* iterations to spin before sleeping */

    pthread_mutex_t mu;
    pthread_cond_t wake; /* workers sleep here awaiting a new generation */
    pthread_cond_t done; /* the caller sleeps here awaiting its tasks */

    nt_pool_slot slots[2]; /* generation g uses slots[g & 1] */
    _Atomic uint64_t generation;
    _Atomic int32_t sleepers;      /* workers in (or entering) cond_wait */
    _Atomic bool caller_sleeping;
    _Atomic bool stop;
};

/* Claim and run tasks of `s` until none is left; true if this thread
 * finished the last one. */
static bool nt_pool_drain(nt_pool_slot *s)
{
    const int64_t n = s->n_tasks;
    bool last = false;
    for (;;) {
        int64_t i = atomic_fetch_add(&s->next, 1);
        if (i >= n) break;
        s->fn(s->ctx, i);
        last = atomic_fetch_add(&s->done, 1) + 1 == n;
    }
    return last;
}

static uint64_t nt_pool_await_generation(nt_pool *pool, uint64_t seen)
{
    uint64_t g;
    for (int32_t spin = 0; spin < pool->spin; spin++) {
        if ((g = atomic_load(&pool->generation)) != seen) return g;
        nt_cpu_relax();
    }
    pthread_mutex_lock(&pool->mu);
    /* Announce the sleep before the last check: the caller bumps the
     * generation before reading `sleepers`, so one of us sees the other. */
    atomic_fetch_add(&pool->sleepers, 1);
    while ((g = atomic_load(&pool->generation)) == seen) pthread_cond_wait(&pool->wake, &pool->mu);
    atomic_fetch_sub(&pool->sleepers, 1);
    pthread_mutex_unlock(&pool->mu);
    return g;
}

static void nt_pool_signal_caller(nt_pool *pool)
{
    pthread_mutex_lock(&pool->mu);
    pthread_cond_signal(&pool->done);
    pthread_mutex_unlock(&pool->mu);
}

static void *nt_pool_worker(void *arg)
{
    nt_pool *pool = arg;
    uint64_t seen = 0;
    for (;;) {
        const uint64_t g = nt_pool_await_generation(pool, seen);
        seen = g;
        if (atomic_load(&pool->stop)) break;
        nt_pool_slot *s = &pool->slots[g & 1];
        atomic_fetch_add(&s->refs, 1);
        /* Still generation g: the slot holds g's job and cannot be rewritten
         * (that needs generation g+1 and then no refs). */
        if (atomic_load(&pool->generation) == g && nt_pool_drain(s) && atomic_load(&pool->caller_sleeping))
            nt_pool_signal_caller(pool);
        atomic_fetch_sub(&s->refs, 1);
    }
    return NULL;
}

/* Bump the generation and wake sleeping workers. */
static void nt_pool_publish(nt_pool *pool, uint64_t g)
{
    atomic_store(&pool->generation, g);
    if (atomic_load(&pool->sleepers) > 0) {
        pthread_mutex_lock(&pool->mu);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->mu);
    }
}

static void nt_pool_shutdown(nt_pool *pool)
{
    atomic_store(&pool->stop, true);
    nt_pool_publish(pool, atomic_load(&pool->generation) + 1);
    /* Waking is not conditional here: a worker may be between its spin and
     * its sleep, so broadcast under the lock once more. */
    pthread_mutex_lock(&pool->mu);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mu);
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
    for (int k = 0; k < 2; k++) {
        atomic_init(&pool->slots[k].next, 0);
        atomic_init(&pool->slots[k].done, 0);
        atomic_init(&pool->slots[k].refs, 0);
    }
    atomic_init(&pool->generation, 0);
    atomic_init(&pool->sleepers, 0);
    atomic_init(&pool->caller_sleeping, false);
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
    const uint64_t g = atomic_load(&pool->generation) + 1;
    nt_pool_slot *s = &pool->slots[g & 1];
    /* A worker late from generation g-2 may still be registered here; it
     * only needs to find no task left and leave. */
    while (atomic_load(&s->refs) != 0) nt_cpu_relax();
    s->fn = task;
    s->ctx = ctx;
    s->n_tasks = n_tasks;
    atomic_store(&s->next, 0);
    atomic_store(&s->done, 0);
    nt_pool_publish(pool, g);

    nt_pool_drain(s);

    for (int32_t spin = 0; spin < pool->spin; spin++) {
        if (atomic_load(&s->done) == n_tasks) return;
        nt_cpu_relax();
    }
    if (atomic_load(&s->done) == n_tasks) return;
    pthread_mutex_lock(&pool->mu);
    /* Set before the check, under the lock the finishing worker takes to
     * signal, so its signal cannot fall before our wait. */
    atomic_store(&pool->caller_sleeping, true);
    while (atomic_load(&s->done) != n_tasks) pthread_cond_wait(&pool->done, &pool->mu);
    atomic_store(&pool->caller_sleeping, false);
    pthread_mutex_unlock(&pool->mu);
}
