/* A small fixed thread pool: the forward pass splits matrix products over
 * its threads. The caller's thread takes part in the work. */
#ifndef NT_CORE_POOL_H
#define NT_CORE_POOL_H

#include <stdint.h>

#include "nexttok.h"

/* The public nexttok_pool is this pool. */
typedef struct nexttok_pool nt_pool;

/* Run task(ctx, i) for i in [0, n_tasks) across the threads; returns when all
 * are done. Tasks must not call nt_pool_run on the same pool. Several
 * threads may call it on one pool at once: their jobs take turns. */
typedef void (*nt_pool_task_fn)(void *ctx, int64_t i);

/* n_threads <= 0 means the number of online cores. */
nexttok_status nt_pool_create(int32_t n_threads, nt_pool **out);
void nt_pool_free(nt_pool *pool);
int32_t nt_pool_n_threads(const nt_pool *pool); /* 1 for a NULL pool */
/* pool may be NULL: runs on the caller's thread. */
void nt_pool_run(nt_pool *pool, nt_pool_task_fn task, void *ctx, int64_t n_tasks);

#endif
