/* nexttok bench MODEL [--threads T] [--prompt P] [--gen G] [--reps R] [--depth D]
 *                     [--ctx N] [--sessions N] [--budget-us B] [--json] */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "bench_fork.h"
#include "commands.h"
#include "nexttok.h"

#define DEFAULT_PROMPT 64
#define DEFAULT_GEN 32
#define DEFAULT_REPS 5
/* Default context when --ctx is not given: what the run needs, at least
 * this much (a KV cache of a usual size), never beyond the trained context. */
#define DEFAULT_MIN_CTX 512

static void usage(void)
{
    printf("usage: nexttok bench MODEL [--threads T] [--prompt P] [--gen G] [--reps R]\n"
           "                     [--depth D] [--ctx N] [--precision fast|exact|portable]\n"
           "                     [--kv-type f32|f16|q8_0] [--sessions N] [--budget-us B]\n"
           "                     [--fork] [--json]\n\n"
           "Measures two things, R times (default %d) after one untimed warm-up run:\n"
           "  prefill  one batched feed of P prompt tokens (default %d) into an empty\n"
           "           session (positions 0..P-1);\n"
           "  decode   G tokens (default %d) fed one at a time, each followed by reading\n"
           "           its logits, into a session that already holds D tokens (default 0):\n"
           "           positions D..D+G-1.\n"
           "The D context tokens are fed untimed in each repetition, after the timed\n"
           "prefill (the prompt's first D tokens are kept when D <= P, the rest is fed\n"
           "in one batch), so decode is measured at depth D whatever P is. P or G may\n"
           "be 0 to skip that measurement. Token ids are fixed pseudo-random ids of the\n"
           "model's vocabulary, the same in every run.\n\n"
           "--sessions N adds a third measurement, batched decode: N more sessions on\n"
           "one shared pool of T threads, each at depth D, decode G tokens each, all N\n"
           "in one nexttok_sessions_feed per step (each step followed by reading every\n"
           "session's logits); it reports all N sessions' tokens per second.\n\n"
           "--budget-us B adds a budgeted prefill: the P tokens fed in calls of\n"
           "nexttok_session_feed_ex with a budget of B microseconds each, each call\n"
           "resuming where the last stopped; it reports the tokens per second, the\n"
           "longest call and the number of calls (medians over the repetitions).\n\n"
           "The session holds max(P, D+G) positions, at least %d unless --ctx N says\n"
           "otherwise, and never more than the model's trained context (a run that\n"
           "does not fit is an error). --threads T (0 = all cores) sets the session's\n"
           "threads. Prints the median tokens per second of each measurement; --json\n"
           "prints one JSON object instead, with the medians and every repetition's\n"
           "rates and seconds, and the session's precision and memory (KV cache bytes\n"
           "per token and in all, scratch bytes).\n\n"
           "--fork also times, R times, nexttok_session_fork of a session holding the P\n"
           "prompt tokens (fork_us; fork_pool_us onto a shared pool with n_batch 16;\n"
           "fork_rss_bytes the resident memory a fork added,\n"
           "fork_shared_bytes the KV pages it shares, fork_first_write_bytes those its\n"
           "first token copied) and a snapshot of that session to memory and back\n"
           "(snapshot_bytes, snapshot_us, restore_us).\n\n" NT_CLI_SESSION_OPTIONS_HELP,
           DEFAULT_REPS, DEFAULT_PROMPT, DEFAULT_GEN, DEFAULT_MIN_CTX);
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

/* Median of v[0..n) (n > 0), sorting the scratch copy `tmp`, not v. */
static double median(const double *v, double *tmp, size_t n)
{
    memcpy(tmp, v, n * sizeof *v);
    qsort(tmp, n, sizeof *tmp, cmp_double);
    return n % 2 ? tmp[n / 2] : 0.5 * (tmp[n / 2 - 1] + tmp[n / 2]);
}

typedef struct bench_options {
    nt_cli_session_opts sess;
    int64_t n_prompt, n_gen, reps, depth;
    int64_t n_sessions; /* 0: no batched measurement */
    int64_t budget_us;  /* 0: no budgeted prefill */
    int json;
    int fork;
} bench_options;

/*
 * One repetition over the token stream tokens[0 .. max(P, D+G)): reset and
 * time the prefill of tokens[0..P); bring the session to the D tokens
 * tokens[0..D) untimed (rewind when D <= P, feed the rest otherwise); time
 * the decode of tokens[D..D+G) one by one.
 */
static int run_once(nexttok_session *session, const int32_t *tokens, const bench_options *o,
                    double *prefill_s, double *decode_s)
{
    size_t n_prompt = (size_t)o->n_prompt, n_gen = (size_t)o->n_gen, depth = (size_t)o->depth;
    nexttok_status st = nexttok_session_reset(session);
    if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "resetting the session");
    double t0 = now_seconds();
    if (n_prompt) {
        st = nexttok_session_feed(session, tokens, n_prompt, NULL, 0);
        if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "prefill of %zu tokens", n_prompt);
    }
    *prefill_s = now_seconds() - t0;
    if (n_gen == 0) return 0;

    if (depth <= n_prompt) {
        st = nexttok_session_rewind(session, (int32_t)depth);
        if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "rewinding to depth %zu", depth);
    } else {
        st = nexttok_session_feed(session, &tokens[n_prompt], depth - n_prompt, NULL, 0);
        if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "feeding the %zu context tokens", depth);
    }
    double t1 = now_seconds();
    for (size_t i = 0; i < n_gen; i++) {
        st = nexttok_session_feed(session, &tokens[depth + i], 1, NULL, 0);
        if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "decode step %zu", i + 1);
        /* Reading the logits is part of every real generation step. */
        const float *logits = NULL;
        st = nexttok_session_logits_get(session, &logits);
        if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "logits of decode step %zu", i + 1);
    }
    *decode_s = now_seconds() - t1;
    return 0;
}

static int bench_option(int argc, char **argv, int *i, void *ctx)
{
    bench_options *o = ctx;
    if (strcmp(argv[*i], "--json") == 0) { /* a flag: nothing to skip */
        o->json = 1;
        return 1;
    }
    if (strcmp(argv[*i], "--fork") == 0) {
        o->fork = 1;
        return 1;
    }
    int r = nt_cli_session_option(argc, argv, i, "bench", &o->sess);
    if (r == 0)
        r = nt_cli_opt_i64(argc, argv, i, "bench", "--prompt", 0, INT32_MAX,
                           "a token count >= 0", &o->n_prompt);
    if (r == 0)
        r = nt_cli_opt_i64(argc, argv, i, "bench", "--gen", 0, INT32_MAX, "a token count >= 0",
                           &o->n_gen);
    if (r == 0)
        r = nt_cli_opt_i64(argc, argv, i, "bench", "--depth", 0, INT32_MAX,
                           "a token count >= 0", &o->depth);
    if (r == 0)
        r = nt_cli_opt_i64(argc, argv, i, "bench", "--budget-us", 1, 1000000000, "microseconds in [1, 1e9]",
                           &o->budget_us);
    if (r == 0)
        r = nt_cli_opt_i64(argc, argv, i, "bench", "--sessions", 1, 4096, "a count in [1, 4096]",
                           &o->n_sessions);
    if (r == 0)
        r = nt_cli_opt_i64(argc, argv, i, "bench", "--reps", 1, 100000,
                           "a count in [1, 100000]", &o->reps);
    return r;
}

static void json_array(const double *v, size_t n, const char *fmt)
{
    putchar('[');
    for (size_t i = 0; i < n; i++) {
        if (i) fputs(", ", stdout);
        printf(fmt, v[i]);
    }
    putchar(']');
}

/* Per-repetition results: rates (tokens/s) and seconds of each measurement. */
typedef struct bench_results {
    double *pre_rate, *pre_s, *dec_rate, *dec_s, *scratch;
    double *bat_rate, *bat_s; /* --sessions */
    double *bud_rate, *bud_longest, *bud_calls, *bud_p99; /* --budget-us */
    double pre_median, dec_median, bat_median, bud_median, bud_longest_median, bud_calls_median, bud_p99_median;
} bench_results;

static const char *precision_name(int32_t p)
{
    return p == NEXTTOK_PRECISION_FAST ? "fast" : p == NEXTTOK_PRECISION_PORTABLE ? "portable" : "exact";
}
static const char *kv_type_name(int32_t t)
{
    return t == NEXTTOK_KV_F16 ? "f16" : t == NEXTTOK_KV_Q8_0 ? "q8_0" : "f32";
}

static void print_json(const char *path, const nexttok_model_info *info, const bench_options *o,
                       int32_t threads, int32_t n_ctx, const bench_results *res, const nexttok_session_info *si,
                       const nt_bench_fork *fork)
{
    size_t reps = (size_t)o->reps;
    fputs("{\"model\": ", stdout);
    nt_cli_json_string(path);
    fputs(", \"architecture\": ", stdout);
    nt_cli_json_string(info->architecture);
    printf(", \"n_params\": %llu, \"file_size\": %llu", (unsigned long long)info->n_params,
           (unsigned long long)info->file_size);
    fputs(", \"isa\": ", stdout);
    nt_cli_json_string(nexttok_isa_name_get());
    printf(", \"threads\": %d, \"n_ctx\": %d, \"prompt_tokens\": %lld, \"gen_tokens\": %lld,"
           " \"depth\": %lld, \"reps\": %lld",
           (int)threads, (int)n_ctx, (long long)o->n_prompt, (long long)o->n_gen,
           (long long)o->depth, (long long)o->reps);
    printf(", \"precision\": \"%s\", \"kv_type\": \"%s\", \"kv_bytes\": %llu, \"kv_bytes_per_token\": %llu,"
           " \"scratch_bytes\": %llu", precision_name(si->precision), kv_type_name(si->kv_type),
           (unsigned long long)si->kv_bytes, (unsigned long long)si->kv_bytes_per_pos,
           (unsigned long long)si->scratch_bytes);
    /* A measurement that was not made (P or G 0) is null, its arrays empty. */
    if (o->n_prompt > 0) printf(", \"prefill_tokens_per_s\": %.6g", res->pre_median);
    else fputs(", \"prefill_tokens_per_s\": null", stdout);
    if (o->n_gen > 0) printf(", \"decode_tokens_per_s\": %.6g", res->dec_median);
    else fputs(", \"decode_tokens_per_s\": null", stdout);
    size_t np = o->n_prompt > 0 ? reps : 0, nd = o->n_gen > 0 ? reps : 0;
    fputs(", \"prefill_tokens_per_s_reps\": ", stdout);
    json_array(res->pre_rate, np, "%.6g");
    fputs(", \"prefill_seconds_reps\": ", stdout);
    json_array(res->pre_s, np, "%.9f");
    fputs(", \"decode_tokens_per_s_reps\": ", stdout);
    json_array(res->dec_rate, nd, "%.6g");
    fputs(", \"decode_seconds_reps\": ", stdout);
    json_array(res->dec_s, nd, "%.9f");
    if (o->budget_us > 0 && o->n_prompt > 0) {
        printf(", \"budget_us\": %lld, \"budget_prefill_tokens_per_s\": %.6g, \"budget_longest_call_us\": %.6g,"
               " \"budget_calls\": %.6g, \"budget_call_us_p99\": %.6g", (long long)o->budget_us, res->bud_median,
               res->bud_longest_median, res->bud_calls_median, res->bud_p99_median);
        fputs(", \"budget_prefill_tokens_per_s_reps\": ", stdout);
        json_array(res->bud_rate, reps, "%.6g");
        fputs(", \"budget_longest_call_us_reps\": ", stdout);
        json_array(res->bud_longest, reps, "%.6g");
    }
    if (o->n_sessions > 0) {
        printf(", \"sessions\": %lld", (long long)o->n_sessions);
        if (o->n_gen > 0) printf(", \"batched_decode_tokens_per_s\": %.6g", res->bat_median);
        else fputs(", \"batched_decode_tokens_per_s\": null", stdout);
        fputs(", \"batched_decode_tokens_per_s_reps\": ", stdout);
        json_array(res->bat_rate, nd, "%.6g");
        fputs(", \"batched_decode_seconds_reps\": ", stdout);
        json_array(res->bat_s, nd, "%.9f");
    }
    if (fork) nt_bench_fork_print(fork, true);
    fputs("}\n", stdout);
}

static void print_text(const char *path, const nexttok_model_info *info, const bench_options *o,
                       int32_t threads, int32_t n_ctx, const bench_results *res, const nexttok_session_info *si)
{
    printf("model     %s (%s, %d layers, n_embd %d, %.2fM params)\n", path,
           info->architecture ? info->architecture : "?", (int)info->n_layer, (int)info->n_embd,
           (double)info->n_params / 1e6);
    printf("isa       %s\n", nexttok_isa_name_get());
    if (o->sess.n_threads > 0) printf("threads   %d\n", (int)threads);
    else printf("threads   all cores (%d)\n", (int)threads);
    printf("context   %d positions\n", (int)n_ctx);
    printf("precision %s, KV cache %s: %.1f KiB per token, %.1f MiB in all; scratch %.1f MiB\n",
           precision_name(si->precision), kv_type_name(si->kv_type), (double)si->kv_bytes_per_pos / 1024.0,
           (double)si->kv_bytes / 1048576.0, (double)si->scratch_bytes / 1048576.0);
    if (o->n_prompt > 0)
        printf("prefill   %lld tokens at position 0: %.1f tokens/s (median of %lld)\n",
               (long long)o->n_prompt, res->pre_median, (long long)o->reps);
    if (o->n_gen > 0)
        printf("decode    %lld tokens at depth %lld: %.1f tokens/s (median of %lld)\n",
               (long long)o->n_gen, (long long)o->depth, res->dec_median, (long long)o->reps);
    if (o->budget_us > 0 && o->n_prompt > 0)
        printf("budgeted  %lld tokens in calls of %lld us: %.1f tokens/s (%+.1f%% time against the prefill), "
               "longest call %.0f us, 99%% of calls within %.0f us, %.0f calls (medians of %lld)\n",
               (long long)o->n_prompt, (long long)o->budget_us, res->bud_median,
               res->bud_median > 0 ? 100.0 * (res->pre_median / res->bud_median - 1.0) : 0.0,
               res->bud_longest_median, res->bud_p99_median, res->bud_calls_median, (long long)o->reps);
    if (o->n_sessions > 0 && o->n_gen > 0)
        printf("batched   %lld sessions x %lld tokens at depth %lld: %.1f tokens/s (median of %lld), "
               "%.2fx the single-session decode\n",
               (long long)o->n_sessions, (long long)o->n_gen, (long long)o->depth, res->bat_median,
               (long long)o->reps, res->dec_median > 0 ? res->bat_median / res->dec_median : 0.0);
}

/* One budgeted prefill of tokens[0..P) into the reset session: calls of
 * feed_ex with the budget, each resuming the last. */
static int run_budgeted(nexttok_session *session, const int32_t *tokens, const bench_options *o, double *seconds,
                        double *longest_s, double *calls, double *p99_s)
{
    /* every call's seconds, for the 99th percentile (a loaded machine
     * preempts some calls whatever the library does) */
    size_t cap = 1024, n_calls = 0;
    double *each = malloc(cap * sizeof *each);
    if (!each) return nt_cli_fail("out of memory");
    nexttok_status st = nexttok_session_reset(session);
    if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "resetting the session");
    nexttok_feed_params fp;
    nexttok_feed_params_init(&fp, sizeof fp);
    fp.budget_ns = o->budget_us * 1000;
    const size_t n = (size_t)o->n_prompt;
    *longest_s = 0;
    *calls = 0;
    const double t0 = now_seconds();
    for (size_t done = 0; done < n;) {
        size_t used = 0;
        const double c0 = now_seconds();
        st = nexttok_session_feed_ex(session, tokens + done, n - done, NULL, 0, &fp, &used);
        const double c = now_seconds() - c0;
        if (c > *longest_s) *longest_s = c;
        *calls += 1;
        if (n_calls == cap) {
            double *more = realloc(each, 2 * cap * sizeof *each);
            if (!more) {
                free(each);
                return nt_cli_fail("out of memory");
            }
            each = more;
            cap *= 2;
        }
        each[n_calls++] = c;
        done += used;
        if (st != NEXTTOK_OK && st != NEXTTOK_ERR_DEADLINE) {
            free(each);
            return nt_cli_api_fail(st, "budgeted prefill");
        }
    }
    *seconds = now_seconds() - t0;
    qsort(each, n_calls, sizeof *each, cmp_double);
    *p99_s = n_calls ? each[(n_calls - 1) * 99 / 100] : 0;
    free(each);
    return 0;
}

/* The batched sessions of --sessions: N sessions with the bench's options
 * on one shared pool (so N sessions do not start N pools). */
typedef struct batch_bench {
    nexttok_pool *pool;
    nexttok_session **ss;
    int32_t *step; /* [N] the tokens of one step */
    size_t n;
} batch_bench;

static void batch_bench_free(batch_bench *bb)
{
    for (size_t i = 0; bb->ss && i < bb->n; i++) nexttok_session_free(bb->ss[i]);
    free(bb->ss);
    free(bb->step);
    nexttok_pool_free(bb->pool);
}

static int batch_bench_create(const nexttok_model *model, const nt_cli_session_opts *so, size_t n, batch_bench *bb)
{
    bb->n = n;
    bb->ss = calloc(n, sizeof *bb->ss);
    bb->step = malloc(n * sizeof *bb->step);
    if (!bb->ss || !bb->step) return nt_cli_fail("out of memory for %zu sessions", n);
    nexttok_status st = nexttok_pool_create(so->n_threads, &bb->pool);
    if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "creating the sessions' pool");
    nexttok_session_params p;
    nexttok_session_params_init(&p, sizeof p);
    p.n_ctx = so->n_ctx;
    p.pool = bb->pool;
    p.precision = so->precision;
    p.kv_type = so->kv_type;
    p.n_batch = so->n_batch;
    for (size_t i = 0; i < n; i++) {
        st = nexttok_session_create(model, &p, &bb->ss[i]);
        if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "creating batched session %zu", i + 1);
    }
    return 0;
}

/* One repetition of the batched decode: every session reset and brought to
 * depth D (untimed; session i reads the stream from offset i), then G timed
 * steps of one token to each. */
static int run_batched(const batch_bench *bb, const int32_t *tokens, size_t n_tokens, const bench_options *o,
                       double *seconds)
{
    const size_t depth = (size_t)o->depth, n_gen = (size_t)o->n_gen;
    for (size_t i = 0; i < bb->n; i++) {
        nexttok_status st = nexttok_session_reset(bb->ss[i]);
        if (st == NEXTTOK_OK && depth > 0) st = nexttok_session_feed(bb->ss[i], tokens, depth, NULL, 0);
        if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "bringing batched session %zu to depth %zu", i + 1, depth);
    }
    double t0 = now_seconds();
    for (size_t k = 0; k < n_gen; k++) {
        for (size_t i = 0; i < bb->n; i++) bb->step[i] = tokens[(depth + k + i) % n_tokens];
        nexttok_status st = nexttok_sessions_feed(bb->ss, bb->step, bb->n, NULL, 0);
        if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "batched decode step %zu", k + 1);
        for (size_t i = 0; i < bb->n; i++) {
            const float *logits = NULL;
            st = nexttok_session_logits_get(bb->ss[i], &logits);
            if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "logits of batched session %zu", i + 1);
        }
    }
    *seconds = now_seconds() - t0;
    return 0;
}

int nt_cli_bench(int argc, char **argv)
{
    const char *path = NULL;
    bench_options o = {.n_prompt = DEFAULT_PROMPT, .n_gen = DEFAULT_GEN, .reps = DEFAULT_REPS};
    int rc = 0;
    if (!nt_cli_scan_args(argc, argv, "bench", usage, bench_option, &o, &path, &rc)) return rc;
    if (!path) return nt_cli_usage_fail("bench", "no model file given");
    if (o.n_prompt + o.n_gen == 0)
        return nt_cli_usage_fail("bench", "nothing to time: --prompt and --gen are 0");
    if (o.depth > 0 && o.n_gen == 0)
        return nt_cli_usage_fail("bench", "--depth %lld with --gen 0: no decode to time",
                                 (long long)o.depth);
    /* Positions the run needs: the prompt from 0, and the decode after D. */
    int64_t needed = o.n_prompt > o.depth + o.n_gen ? o.n_prompt : o.depth + o.n_gen;

    nexttok_model *model = NULL;
    nexttok_session *session = NULL;
    int32_t *tokens = NULL;
    double *samples = NULL;
    batch_bench bb = {0};
    if ((rc = nt_cli_model_load(path, false, &model)) != 0) goto done;
    int64_t n_ctx_train = nexttok_model_n_ctx_train_get(model);
    if (needed > n_ctx_train || (o.sess.n_ctx > 0 && needed > o.sess.n_ctx)) {
        bool train = needed > n_ctx_train;
        rc = nt_cli_fail("context overflow: --prompt %lld, --depth %lld + --gen %lld need %lld "
                         "positions, more than the %s of %lld",
                         (long long)o.n_prompt, (long long)o.depth, (long long)o.n_gen,
                         (long long)needed, train ? "model's trained context" : "--ctx",
                         (long long)(train ? n_ctx_train : o.sess.n_ctx));
        goto done;
    }
    int32_t n_ctx = o.sess.n_ctx;
    if (n_ctx == 0) {
        int64_t want = needed > DEFAULT_MIN_CTX ? needed : DEFAULT_MIN_CTX;
        n_ctx = (int32_t)(want < n_ctx_train ? want : n_ctx_train);
    }
    nt_cli_session_opts so = o.sess;
    so.n_ctx = n_ctx;
    if ((rc = nt_cli_session_create(model, &so, &session)) != 0) goto done;
    n_ctx = nexttok_session_n_ctx_get(session);

    int32_t n_vocab = nexttok_model_n_vocab_get(model);
    size_t n_total = (size_t)needed, reps = (size_t)o.reps;
    tokens = malloc(n_total * sizeof *tokens);
    samples = malloc(11 * reps * sizeof *samples);
    if (!tokens || !samples) {
        rc = nt_cli_fail("out of memory");
        goto done;
    }
    /* Fixed pseudo-random ids in [0, n_vocab): the cost does not depend on
     * them, and every run feeds the same ones. */
    uint64_t state = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < n_total; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        tokens[i] = (int32_t)((state >> 33) % (uint64_t)(n_vocab > 0 ? n_vocab : 1));
    }
    bench_results res = {samples, samples + reps, samples + 2 * reps, samples + 3 * reps,
                         samples + 4 * reps, samples + 5 * reps, samples + 6 * reps, samples + 7 * reps,
                         samples + 8 * reps, samples + 9 * reps, samples + 10 * reps, 0, 0, 0, 0, 0, 0, 0};
    double pre = 0, dec = 0;
    if ((rc = run_once(session, tokens, &o, &pre, &dec)) != 0)
        goto done; /* warm-up: page in the weights, settle the threads */
    for (size_t r = 0; r < reps; r++) {
        if ((rc = run_once(session, tokens, &o, &pre, &dec)) != 0) goto done;
        res.pre_s[r] = pre;
        res.dec_s[r] = dec;
        res.pre_rate[r] = pre > 0 ? (double)o.n_prompt / pre : 0;
        res.dec_rate[r] = dec > 0 ? (double)o.n_gen / dec : 0;
    }
    res.pre_median = median(res.pre_rate, res.scratch, reps);
    res.dec_median = median(res.dec_rate, res.scratch, reps);
    if (o.budget_us > 0 && o.n_prompt > 0) {
        double secs = 0;
        for (size_t r = 0; r < reps; r++) {
            if ((rc = run_budgeted(session, tokens, &o, &secs, &res.bud_longest[r], &res.bud_calls[r],
                                   &res.bud_p99[r])) != 0)
                goto done;
            res.bud_rate[r] = secs > 0 ? (double)o.n_prompt / secs : 0;
            res.bud_longest[r] *= 1e6;
            res.bud_p99[r] *= 1e6;
        }
        res.bud_median = median(res.bud_rate, res.scratch, reps);
        res.bud_longest_median = median(res.bud_longest, res.scratch, reps);
        res.bud_calls_median = median(res.bud_calls, res.scratch, reps);
        res.bud_p99_median = median(res.bud_p99, res.scratch, reps);
    }
    if (o.n_sessions > 0 && o.n_gen > 0) {
        if ((rc = batch_bench_create(model, &so, (size_t)o.n_sessions, &bb)) != 0) goto done;
        double bat = 0;
        if ((rc = run_batched(&bb, tokens, n_total, &o, &bat)) != 0) goto done; /* warm-up */
        for (size_t r = 0; r < reps; r++) {
            if ((rc = run_batched(&bb, tokens, n_total, &o, &bat)) != 0) goto done;
            res.bat_s[r] = bat;
            res.bat_rate[r] = bat > 0 ? (double)o.n_sessions * (double)o.n_gen / bat : 0;
        }
        res.bat_median = median(res.bat_rate, res.scratch, reps);
    }

    nexttok_model_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    nexttok_status st = nexttok_model_info_get(model, &info);
    if (st != NEXTTOK_OK) {
        rc = nt_cli_api_fail(st, "model facts");
        goto done;
    }
    int32_t threads = o.sess.n_threads;
    if (threads <= 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > 0 ? (int32_t)cores : 1;
    }
    nexttok_session_info si = {.struct_size = sizeof si};
    if (nexttok_session_info_get(session, &si) != NEXTTOK_OK) {
        rc = nt_cli_api_fail(NEXTTOK_ERR_STATE, "session facts");
        goto done;
    }
    nt_bench_fork fork;
    if (o.fork && (rc = nt_bench_fork_run(model, session, tokens, o.n_prompt, o.reps, &fork)) != 0) goto done;
    if (o.json) print_json(path, &info, &o, threads, n_ctx, &res, &si, o.fork ? &fork : NULL);
    else print_text(path, &info, &o, threads, n_ctx, &res, &si);
    if (o.fork && !o.json) nt_bench_fork_print(&fork, false);
    if (fflush(stdout) != 0 || ferror(stdout)) rc = nt_cli_fail("cannot write the output");
done:
    batch_bench_free(&bb);
    free(samples);
    free(tokens);
    nexttok_session_free(session);
    nexttok_model_free(model);
    return rc;
}
