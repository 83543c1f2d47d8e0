/* nexttok bench MODEL [--prompt N] [--gen N] [--threads T] [--reps R] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "nexttok.h"

#define DEFAULT_PROMPT 64
#define DEFAULT_GEN 32
#define DEFAULT_REPS 5

static void usage(void)
{
    printf("usage: nexttok bench MODEL [--prompt N] [--gen N] [--threads T] [--reps R] [--ctx N]\n\n"
           "Times a batched prefill of N prompt tokens (default %d) and the generation\n"
           "of N tokens one at a time (default %d) after it, R times (default %d) after\n"
           "one warm-up run, and prints the median tokens per second of each.\n",
           DEFAULT_PROMPT, DEFAULT_GEN, DEFAULT_REPS);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* One run: reset, prefill, then generation token by token. */
static int run_once(nexttok_session *session, const int32_t *tokens, size_t n_prompt,
                    size_t n_gen, double *prefill_s, double *gen_s)
{
    nexttok_status st = nexttok_session_reset(session);
    if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "resetting the session");
    double t0 = now_seconds();
    if (n_prompt) {
        st = nexttok_session_feed(session, tokens, n_prompt, NULL);
        if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "prefill of %zu tokens", n_prompt);
    }
    double t1 = now_seconds();
    for (size_t i = 0; i < n_gen; i++) {
        st = nexttok_session_feed(session, &tokens[n_prompt + i], 1, NULL);
        if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "generation step %zu", i + 1);
        /* Reading the logits is part of every real generation step. */
        const float *logits = NULL;
        st = nexttok_session_logits_get(session, &logits);
        if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "logits of step %zu", i + 1);
    }
    double t2 = now_seconds();
    *prefill_s = t1 - t0;
    *gen_s = t2 - t1;
    return 0;
}

typedef struct bench_options {
    int32_t n_threads, n_ctx;
    int64_t n_prompt, n_gen, reps;
} bench_options;

static int bench_option(int argc, char **argv, int *i, void *ctx)
{
    bench_options *o = ctx;
    int r = nt_cli_session_option(argc, argv, i, "bench", &o->n_threads, &o->n_ctx);
    if (r == 0)
        r = nt_cli_opt_i64(argc, argv, i, "bench", "--prompt", 0, INT32_MAX,
                           "a token count >= 0", &o->n_prompt);
    if (r == 0)
        r = nt_cli_opt_i64(argc, argv, i, "bench", "--gen", 0, INT32_MAX, "a token count >= 0",
                           &o->n_gen);
    if (r == 0)
        r = nt_cli_opt_i64(argc, argv, i, "bench", "--reps", 1, 100000,
                           "a count in [1, 100000]", &o->reps);
    return r;
}

int nt_cli_bench(int argc, char **argv)
{
    const char *path = NULL;
    bench_options o = {0, 0, DEFAULT_PROMPT, DEFAULT_GEN, DEFAULT_REPS};
    int rc = 0;
    if (!nt_cli_scan_args(argc, argv, "bench", usage, bench_option, &o, &path, &rc)) return rc;
    if (!path) return nt_cli_usage_fail("bench", "no model file given");
    if (o.n_prompt + o.n_gen == 0) return nt_cli_usage_fail("bench", "nothing to time: --prompt and --gen are 0");

    nexttok_model *model = NULL;
    nexttok_session *session = NULL;
    int32_t *tokens = NULL;
    double *samples = NULL;
    if ((rc = nt_cli_model_load(path, false, &model)) != 0) goto done;
    if ((rc = nt_cli_session_create(model, o.n_ctx, o.n_threads, &session)) != 0) goto done;
    int32_t ctx = nexttok_session_n_ctx_get(session);
    if (o.n_prompt + o.n_gen > ctx) {
        rc = nt_cli_fail("context overflow: --prompt %lld + --gen %lld exceed the context of %d "
                         "positions", (long long)o.n_prompt, (long long)o.n_gen, (int)ctx);
        goto done;
    }
    int32_t n_vocab = nexttok_model_n_vocab_get(model);
    size_t n_total = (size_t)(o.n_prompt + o.n_gen);
    tokens = malloc(n_total * sizeof *tokens);
    samples = malloc(2 * (size_t)o.reps * sizeof *samples);
    if (!tokens || !samples) {
        rc = nt_cli_fail("out of memory");
        goto done;
    }
    /* Fixed pseudo-random ids: the cost does not depend on them, and every
     * run feeds the same ones. */
    uint64_t state = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < n_total; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        tokens[i] = (int32_t)((state >> 33) % (uint64_t)(n_vocab > 0 ? n_vocab : 1));
    }
    double pre = 0, gen = 0;
    if ((rc = run_once(session, tokens, (size_t)o.n_prompt, (size_t)o.n_gen, &pre, &gen)) != 0)
        goto done; /* warm-up: page in the weights, settle the threads */
    double *pre_rate = samples, *gen_rate = samples + o.reps;
    for (int64_t r = 0; r < o.reps; r++) {
        if ((rc = run_once(session, tokens, (size_t)o.n_prompt, (size_t)o.n_gen, &pre, &gen)) != 0)
            goto done;
        pre_rate[r] = pre > 0 ? (double)o.n_prompt / pre : 0;
        gen_rate[r] = gen > 0 ? (double)o.n_gen / gen : 0;
    }

    nexttok_model_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    nexttok_status st = nexttok_model_info_get(model, &info);
    if (st != NEXTTOK_OK) {
        rc = nt_cli_api_fail(st, "model facts");
        goto done;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    printf("model     %s (%s, %d layers, n_embd %d, %.2fM params)\n", path,
           info.architecture ? info.architecture : "?", (int)info.n_layer, (int)info.n_embd,
           (double)info.n_params / 1e6);
    printf("isa       %s\n", nexttok_isa_name_get());
    if (o.n_threads > 0) printf("threads   %d\n", (int)o.n_threads);
    else printf("threads   all cores (%ld)\n", cores);
    if (o.n_prompt > 0)
        printf("prefill   %lld tokens: %.1f tokens/s (median of %lld)\n", (long long)o.n_prompt,
               median(pre_rate, (size_t)o.reps), (long long)o.reps);
    if (o.n_gen > 0)
        printf("generate  %lld tokens: %.1f tokens/s (median of %lld)\n", (long long)o.n_gen,
               median(gen_rate, (size_t)o.reps), (long long)o.reps);
    if (fflush(stdout) != 0 || ferror(stdout)) rc = nt_cli_fail("cannot write the output");
done:
    free(samples);
    free(tokens);
    nexttok_session_free(session);
    nexttok_model_free(model);
    return rc;
}
