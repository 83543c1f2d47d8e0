/*
 * Not a test: what a sampler chain costs per token, against the bare
 * arg-max a greedy caller would write itself.
 *
 *   build/tests/bench_sampler [n_vocab ...]    (default 512 32000 151936)
 *   build/tests/bench_sampler MODEL.gguf       (whole decode steps)
 *
 * Rows are synthetic: logits ~ 2.5 * N(0, 1) from a fixed seed, a shape
 * like a real model's (a few tokens well ahead, a long tail). Each chain
 * draws from the same rows in turn and accepts what it draws; prints the
 * median nanoseconds per draw over 7 timed runs, in the thread's CPU time
 * (a shared machine's other load then inflates the figures less).
 *
 * Given a model, it times whole decode steps on one thread instead: feed
 * one token and pick the next with a bare arg-max, or with each chain.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nexttok.h"
#include "sampling/rng.h"

#define N_ROWS 8
#define RUNS 7

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A benchmark of a failing call measures nothing: stop there. */
static void must(nexttok_status st)
{
    if (st == NEXTTOK_OK) return;
    fprintf(stderr, "bench_sampler: %s\n", nexttok_error_message());
    exit(1);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef enum { C_ARGMAX, C_GREEDY, C_TEMP, C_LLAMA, C_TOP_P, C_TYPICAL, C_N } config;
static const char *const names[C_N] = {
    "bare arg-max loop",
    "chain: greedy",
    "chain: temperature 0.8, dist",
    "chain: penalties 64/1.1, T 0.8, top-k 40, top-p .95, min-p .05, dist",
    "chain: T 0.8, top-p 0.95, dist (no top-k)",
    "chain: T 0.8, typical 0.95, dist",
};

static nexttok_sampler_chain *make(config c, int32_t V)
{
    nexttok_sampler_chain *ch = NULL;
    if (nexttok_sampler_chain_create(V, NULL, &ch) != NEXTTOK_OK) return NULL;
    switch (c) {
    case C_GREEDY: must(nexttok_sampler_chain_greedy_add(ch)); break;
    case C_TEMP:
        must(nexttok_sampler_chain_temperature_add(ch, 0.8f));
        must(nexttok_sampler_chain_dist_add(ch));
        break;
    case C_LLAMA:
        must(nexttok_sampler_chain_penalties_add(ch, 64, 1.1f, 0.0f, 0.0f));
        must(nexttok_sampler_chain_temperature_add(ch, 0.8f));
        must(nexttok_sampler_chain_top_k_add(ch, 40));
        must(nexttok_sampler_chain_top_p_add(ch, 0.95f));
        must(nexttok_sampler_chain_min_p_add(ch, 0.05f));
        must(nexttok_sampler_chain_dist_add(ch));
        break;
    case C_TOP_P:
        must(nexttok_sampler_chain_temperature_add(ch, 0.8f));
        must(nexttok_sampler_chain_top_p_add(ch, 0.95f));
        must(nexttok_sampler_chain_dist_add(ch));
        break;
    case C_TYPICAL:
        must(nexttok_sampler_chain_temperature_add(ch, 0.8f));
        must(nexttok_sampler_chain_typical_add(ch, 0.95f));
        must(nexttok_sampler_chain_dist_add(ch));
        break;
    default: break;
    }
    return ch;
}

static int32_t argmax(const float *row, int32_t V)
{
    int32_t best = 0;
    for (int32_t i = 1; i < V; i++)
        if (row[i] > row[best]) best = i;
    return best;
}

static void bench(int32_t V)
{
    float *rows = malloc((size_t)N_ROWS * V * sizeof *rows);
    if (!rows) return;
    nt_rng r;
    nt_rng_seed(&r, 1);
    for (size_t i = 0; i < (size_t)N_ROWS * V; i++) {
        /* Box-Muller */
        double u1 = nt_rng_unit(&r), u2 = nt_rng_unit(&r);
        rows[i] = (float)(2.5 * sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586 * u2));
    }
    printf("n_vocab %d\n", V);
    const int draws = V > 100000 ? 200 : V > 10000 ? 400 : 20000;
    volatile int32_t sink = 0;
    for (int c = 0; c < C_N; c++) {
        nexttok_sampler_chain *ch = c == C_ARGMAX ? NULL : make((config)c, V);
        double t[RUNS];
        for (int run = 0; run < RUNS; run++) {
            double t0 = now();
            for (int d = 0; d < draws; d++) {
                const float *row = rows + (size_t)(d % N_ROWS) * V;
                int32_t tok;
                if (!ch) {
                    tok = argmax(row, V);
                } else {
                    must(nexttok_sampler_chain_logits_sample(ch, row, (size_t)V, &tok));
                    must(nexttok_sampler_chain_accept(ch, tok));
                }
                sink += tok;
            }
            t[run] = (now() - t0) / draws * 1e9;
        }
        qsort(t, RUNS, sizeof *t, cmp);
        printf("  %-70s %10.0f ns\n", names[c], t[RUNS / 2]);
        nexttok_sampler_chain_free(ch);
    }
    (void)sink;
    free(rows);
}

/* Decode steps: feed the token, then choose the next one. */
static void bench_model(const char *path)
{
    nexttok_model *m = NULL;
    if (nexttok_model_load(path, NULL, &m) != NEXTTOK_OK) {
        fprintf(stderr, "%s: %s\n", path, nexttok_error_message());
        return;
    }
    const int32_t V = nexttok_model_n_vocab_get(m);
    nexttok_session_params sp;
    nexttok_session_params_init(&sp, sizeof sp);
    sp.n_threads = 1; /* so the thread's CPU time is the step's */
    sp.n_ctx = 64;
    nexttok_session *s = NULL;
    if (nexttok_session_create(m, &sp, &s) != NEXTTOK_OK) {
        fprintf(stderr, "%s: %s\n", path, nexttok_error_message());
        nexttok_model_free(m);
        return;
    }
    printf("%s (n_vocab %d), one thread, per decode step:\n", path, V);
    const int steps = 48;
    for (int c = 0; c < C_N; c++) {
        nexttok_sampler_chain *ch = c == C_ARGMAX ? NULL : make((config)c, V);
        double t[RUNS];
        for (int run = 0; run < RUNS; run++) {
            must(nexttok_session_reset(s));
            int32_t tok = 1;
            double t0 = now();
            for (int d = 0; d < steps; d++) {
                must(nexttok_session_feed(s, &tok, 1, NULL, 0));
                const float *lg;
                must(nexttok_session_logits_get(s, &lg));
                if (!ch) {
                    tok = argmax(lg, V);
                } else {
                    must(nexttok_sampler_chain_sample(ch, s, &tok));
                    must(nexttok_sampler_chain_accept(ch, tok));
                }
            }
            t[run] = (now() - t0) / steps * 1e9;
        }
        qsort(t, RUNS, sizeof *t, cmp);
        printf("  feed + %-63s %10.0f ns\n", names[c], t[RUNS / 2]);
        nexttok_sampler_chain_free(ch);
    }
    nexttok_session_free(s);
    nexttok_model_free(m);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strstr(argv[1], ".gguf"))
        for (int i = 1; i < argc; i++) bench_model(argv[i]);
    else if (argc > 1)
        for (int i = 1; i < argc; i++) bench(atoi(argv[i]));
    else {
        bench(512);
        bench(32000);
        bench(151936);
    }
    return 0;
}
