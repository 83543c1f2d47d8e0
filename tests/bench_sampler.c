/*
 * Not a test: what a sampler chain and a constraint cost per token,
 * against the bare arg-max a greedy caller would write itself.
 *
 *   build/tests/bench_sampler [n_vocab ...]    (default 512 32000 151936)
 *   build/tests/bench_sampler MODEL.gguf       (whole decode steps)
 *
 * The constrained draw sets a mask stage from a nexttok_constraint before
 * each draw (nexttok_constraint_mask_apply), draws through the default
 * chain behind it and accepts the token into both; its candidates come
 * from the Llama SentencePiece vocabulary of the fixtures
 * ($NEXTTOK_FIXTURES, else ../shared/fixtures; the line is left out
 * without it). On wider rows those token ids are simply a subset.
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
#include "support/bench_clock.h"

#define N_ROWS 8
#define RUNS 7

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

typedef enum { C_ARGMAX, C_GREEDY, C_TEMP, C_DEFAULT, C_LLAMA, C_FULL, C_TOP_P, C_TYPICAL, C_CONSTRAINED, C_N } config;
static const char *const names[C_N] = {
    "bare arg-max loop",
    "chain: greedy",
    "chain: temperature 0.8, dist",
    "default chain: T 0.8, top-k 40, top-p .95, min-p .05, dist",
    "chain: penalties 64/1.1, T 0.8, top-k 40, top-p .95, min-p .05, dist",
    "full chain: bias x8, penalties 64/1.1/.1/.1, default chain's stages",
    "chain: T 0.8, top-p 0.95, dist (no top-k)",
    "chain: T 0.8, typical 0.95, dist",
    "constrained: constraint mask, then the default chain",
};

/* T 0.8, top-k 40, top-p 0.95, min-p 0.05 and a draw: what
 * nexttok_sampler_chain_default_create makes of these params. */
static void default_params(nexttok_sampler_params *p)
{
    nexttok_sampler_params_init(p, sizeof *p);
    p->temperature = 0.8f;
    p->top_k = 40;
    p->top_p = 0.95f;
    p->min_p = 0.05f;
    p->seed = 7;
}

static void default_stages(nexttok_sampler_chain *ch)
{
    must(nexttok_sampler_chain_temperature_add(ch, 0.8f));
    must(nexttok_sampler_chain_top_k_add(ch, 40));
    must(nexttok_sampler_chain_top_p_add(ch, 0.95f));
    must(nexttok_sampler_chain_min_p_add(ch, 0.05f));
    must(nexttok_sampler_chain_dist_add(ch));
}

static nexttok_sampler_chain *make(config c, int32_t V)
{
    nexttok_sampler_chain *ch = NULL;
    if (c == C_DEFAULT) {
        nexttok_sampler_params p;
        default_params(&p);
        must(nexttok_sampler_chain_default_create(V, &p, &ch));
        return ch;
    }
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
    case C_FULL: {
        nexttok_logit_bias b[8];
        for (int i = 0; i < 8; i++) b[i] = (nexttok_logit_bias){(int32_t)((i * 7919) % V), i == 3 ? -INFINITY : 1.5f};
        must(nexttok_sampler_chain_logit_bias_add(ch, b, 8));
        must(nexttok_sampler_chain_penalties_add(ch, 64, 1.1f, 0.1f, 0.1f));
        default_stages(ch);
        break;
    }
    case C_CONSTRAINED:
        must(nexttok_sampler_chain_mask_add(ch));
        default_stages(ch);
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

/* The constraint of the constrained draw, or NULL without the fixture or
 * for rows narrower than its vocabulary. */
static nexttok_constraint *make_constraint(int32_t V)
{
    const char *dir = getenv("NEXTTOK_FIXTURES");
    char path[4096];
    snprintf(path, sizeof path, "%s/vocab/ggml-vocab-llama-spm.gguf", dir && *dir ? dir : "../shared/fixtures");
    nexttok_tokenizer *tok = NULL;
    if (nexttok_tokenizer_load(path, &tok) != NEXTTOK_OK) {
        fprintf(stderr, "bench_sampler: no constrained draw: %s\n", nexttok_error_message());
        return NULL;
    }
    if (nexttok_tokenizer_n_vocab_get(tok) > V) {
        printf("  (no constrained draw: its vocabulary has %d tokens)\n", nexttok_tokenizer_n_vocab_get(tok));
        nexttok_tokenizer_free(tok);
        return NULL;
    }
    static const char context[] = "The knight looked at the dragon and chose to ";
    const char *const endings[] = {"attack", "flee", "trade with the merchant", "ask about the weather",
                                   "sing a song of the old kings", "wait"};
    size_t lens[6];
    for (int i = 0; i < 6; i++) lens[i] = strlen(endings[i]);
    nexttok_constraint *c = NULL;
    must(nexttok_constraint_choices_create(tok, context, sizeof context - 1, endings, lens, 6, &c));
    nexttok_tokenizer_free(tok); /* the constraint keeps its own tokens */
    return c;
}

/* One constrained step: mask, draw, accept into both; a complete ending
 * starts the next answer. */
static int32_t constrained_draw(nexttok_constraint *con, nexttok_sampler_chain *ch, const float *row, int32_t V)
{
    int32_t more = 0;
    if (nexttok_constraint_matched_get(con, &more) >= 0 && !more) nexttok_constraint_reset(con);
    int32_t tok;
    must(nexttok_constraint_mask_apply(con, ch, 0));
    must(nexttok_sampler_chain_logits_sample(ch, row, (size_t)V, &tok));
    must(nexttok_constraint_accept(con, tok));
    must(nexttok_sampler_chain_accept(ch, tok));
    return tok;
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
    nexttok_constraint *con = make_constraint(V);
    for (int c = 0; c < C_N; c++) {
        if (c == C_CONSTRAINED && !con) continue;
        nexttok_sampler_chain *ch = c == C_ARGMAX ? NULL : make((config)c, V);
        double t[RUNS];
        for (int run = 0; run < RUNS; run++) {
            double t0 = nt_bench_cpu_s();
            for (int d = 0; d < draws; d++) {
                const float *row = rows + (size_t)(d % N_ROWS) * V;
                int32_t tok;
                if (!ch) {
                    tok = argmax(row, V);
                } else if (c == C_CONSTRAINED) {
                    tok = constrained_draw(con, ch, row, V);
                } else {
                    must(nexttok_sampler_chain_logits_sample(ch, row, (size_t)V, &tok));
                    must(nexttok_sampler_chain_accept(ch, tok));
                }
                sink += tok;
            }
            t[run] = (nt_bench_cpu_s() - t0) / draws * 1e9;
        }
        qsort(t, RUNS, sizeof *t, cmp);
        printf("  %-70s %10.0f ns\n", names[c], t[RUNS / 2]);
        nexttok_sampler_chain_free(ch);
    }
    nexttok_constraint_free(con);
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
        if (c == C_CONSTRAINED) continue; /* its candidates are another vocabulary's */
        nexttok_sampler_chain *ch = c == C_ARGMAX ? NULL : make((config)c, V);
        double t[RUNS];
        for (int run = 0; run < RUNS; run++) {
            must(nexttok_session_reset(s));
            int32_t tok = 1;
            double t0 = nt_bench_cpu_s();
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
            t[run] = (nt_bench_cpu_s() - t0) / steps * 1e9;
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
