/* nexttok bench --fork (see bench_fork.h). */
#include "bench_fork.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "args.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

/* Resident bytes of the process (Linux), or -1. */
static int64_t resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long long size = 0, res = -1;
    if (!f) return -1;
    if (fscanf(f, "%lld %lld", &size, &res) != 2) res = -1;
    fclose(f);
    return res < 0 ? -1 : (int64_t)res * (int64_t)sysconf(_SC_PAGESIZE);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int64_t n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static uint64_t shared_of(const nexttok_session *s)
{
    nexttok_session_info i = {.struct_size = sizeof i};
    return nexttok_session_info_get(s, &i) == NEXTTOK_OK ? i.kv_bytes_shared : 0;
}

int nt_bench_fork_run(const nexttok_model *model, nexttok_session *session, const int32_t *tokens, int64_t prefix,
                      int64_t reps, nt_bench_fork *out)
{
    memset(out, 0, sizeof *out);
    out->prefix = prefix;
    nexttok_status st = nexttok_session_reset(session);
    if (st == NEXTTOK_OK && prefix > 0) st = nexttok_session_feed(session, tokens, (size_t)prefix, NULL, 0);
    if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "feeding the %lld-token prefix to fork", (long long)prefix);
    double *t = malloc(4 * (size_t)reps * sizeof *t);
    nexttok_pool *pool = NULL;
    nexttok_session_info si = {.struct_size = sizeof si};
    st = nexttok_session_info_get(session, &si);
    if (st == NEXTTOK_OK) st = nexttok_pool_create(si.n_threads, &pool);
    if (st != NEXTTOK_OK) {
        free(t);
        return nt_cli_api_fail(st, "a pool for forks");
    }
    size_t size = 0;
    st = nexttok_session_snapshot_write(session, NULL, 0, &size);
    unsigned char *snap = st == NEXTTOK_OK ? malloc(size ? size : 1) : NULL;
    if (!t || !snap) {
        free(t);
        free(snap);
        nexttok_pool_free(pool);
        return st != NEXTTOK_OK ? nt_cli_api_fail(st, "snapshot size") : nt_cli_fail("out of memory");
    }
    out->snapshot_bytes = size;
    int rc = 0;
    for (int64_t r = 0; r < reps && rc == 0; r++) {
        nexttok_session *f = NULL;
        const int64_t rss0 = resident_bytes();
        const double t0 = now_us();
        st = nexttok_session_fork(session, NULL, &f);
        t[r] = now_us() - t0;
        const int64_t rss1 = resident_bytes();
        if (st != NEXTTOK_OK) {
            rc = nt_cli_api_fail(st, "fork");
            break;
        }
        if (r == 0) {
            out->fork_rss_bytes = rss0 < 0 || rss1 < 0 ? -1 : rss1 - rss0;
            out->fork_shared_bytes = shared_of(f);
            st = nexttok_session_feed(f, &tokens[prefix > 0 ? prefix - 1 : 0], 1, NULL, 0);
            if (st != NEXTTOK_OK) rc = nt_cli_api_fail(st, "feeding the fork");
            out->first_write_bytes = out->fork_shared_bytes - shared_of(f);
        }
        nexttok_session_free(f);
        /* as a game would fork an NPC: onto its pool, decode-sized scratch */
        nexttok_session_params p;
        nexttok_session_params_init(&p, sizeof p);
        p.pool = pool;
        p.n_batch = 16;
        const double tp = now_us();
        st = nexttok_session_fork(session, &p, &f);
        t[3 * reps + r] = now_us() - tp;
        if (st != NEXTTOK_OK && rc == 0) rc = nt_cli_api_fail(st, "fork onto a pool");
        nexttok_session_free(f);
        const double t1 = now_us();
        st = nexttok_session_snapshot_write(session, snap, size, &size);
        t[reps + r] = now_us() - t1;
        if (st != NEXTTOK_OK && rc == 0) rc = nt_cli_api_fail(st, "snapshot");
        nexttok_session *back = NULL;
        const double t2 = now_us();
        st = nexttok_session_restore(model, snap, size, NULL, &back);
        t[2 * reps + r] = now_us() - t2;
        if (st != NEXTTOK_OK && rc == 0) rc = nt_cli_api_fail(st, "restore");
        nexttok_session_free(back);
    }
    if (rc == 0) {
        out->fork_us = median(t, reps);
        out->snapshot_us = median(t + reps, reps);
        out->restore_us = median(t + 2 * reps, reps);
        out->fork_pool_us = median(t + 3 * reps, reps);
    }
    free(t);
    free(snap);
    nexttok_pool_free(pool);
    return rc;
}

void nt_bench_fork_print(const nt_bench_fork *r, bool json)
{
    if (json) {
        printf(", \"fork_prefix_tokens\": %lld, \"fork_us\": %.3f, \"fork_pool_us\": %.3f, \"fork_rss_bytes\": %lld, "
               "\"fork_shared_bytes\": %llu, \"fork_first_write_bytes\": %llu, \"snapshot_bytes\": %llu, "
               "\"snapshot_us\": %.3f, \"restore_us\": %.3f",
               (long long)r->prefix, r->fork_us, r->fork_pool_us, (long long)r->fork_rss_bytes,
               (unsigned long long)r->fork_shared_bytes, (unsigned long long)r->first_write_bytes,
               (unsigned long long)r->snapshot_bytes, r->snapshot_us, r->restore_us);
        return;
    }
    printf("fork      of %lld tokens: %.1f us (median), %.1f KiB resident added, %.1f MiB of KV shared, "
           "%.1f KiB copied by its first token\n",
           (long long)r->prefix, r->fork_us, r->fork_rss_bytes < 0 ? -1.0 : (double)r->fork_rss_bytes / 1024.0,
           (double)r->fork_shared_bytes / 1048576.0, (double)r->first_write_bytes / 1024.0);
    printf("fork      onto a shared pool, n_batch 16: %.1f us (median)\n", r->fork_pool_us);
    printf("snapshot  %.1f MiB: written in %.1f us, restored in %.1f us (medians)\n",
           (double)r->snapshot_bytes / 1048576.0, r->snapshot_us, r->restore_us);
}
