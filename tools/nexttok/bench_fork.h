/* nexttok bench --fork: the cost of forking, snapshotting and restoring a
 * session that holds the prompt. */
#ifndef NT_CLI_BENCH_FORK_H
#define NT_CLI_BENCH_FORK_H

#include <stdbool.h>
#include <stdint.h>

#include "nexttok.h"

typedef struct nt_bench_fork {
    int64_t prefix;              /* tokens the forked session holds */
    double fork_us;              /* median time of nexttok_session_fork */
    double fork_pool_us;         /* the same onto a shared pool with n_batch 16 */
    int64_t fork_rss_bytes;      /* resident memory one fork added (-1: unknown) */
    uint64_t fork_shared_bytes;  /* KV pages the fork shares with its source */
    uint64_t first_write_bytes;  /* KV pages its first fed token copied */
    uint64_t snapshot_bytes;     /* size of a snapshot of the session */
    double snapshot_us;          /* median time to write it to memory */
    double restore_us;           /* median time to restore it */
} nt_bench_fork;

/* Feed tokens[0..prefix) to `session` (reset first) and time `reps` forks,
 * snapshots and restores of it. Returns 0, or 1 after printing an error. */
int nt_bench_fork_run(const nexttok_model *model, nexttok_session *session, const int32_t *tokens, int64_t prefix,
                      int64_t reps, nt_bench_fork *out);

/* The figures as JSON fields (", \"fork_us\": ...") or text lines. */
void nt_bench_fork_print(const nt_bench_fork *r, bool json);

#endif
