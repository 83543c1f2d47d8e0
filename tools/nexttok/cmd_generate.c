/*
 * nexttok generate MODEL --text T -n N [--temp T] [--seed S] [--top-k K]
 *                  [--top-p P]
 *
 * Prints the prompt, then streams the continuation through a
 * nexttok_decoder (whole UTF-8 characters only), stopping after N tokens
 * or at end-of-sequence.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "nexttok.h"
#include "session_setup.h"

#define DEFAULT_N 50
/* One token's text; a piece longer than this is reported, not cut. */
#define TEXT_CAP 65536

static void usage(void)
{
    printf("usage: nexttok generate MODEL (--text T | --text-file F | --tokens 1,2,3) [-n N]\n"
           "                       [--temp T] [--seed S] [--top-k K] [--top-p P] [--min-p P]\n"
           "                       [--threads T] [--ctx N]\n"
           "                       [--precision fast|exact] [--kv-type f32|f16|q8_0]\n\n"
           "Prints the prompt followed by up to N (default %d) generated tokens, stopping\n"
           "at end-of-sequence. --temp 0 is greedy (arg-max); otherwise the sampler draws\n"
           "at temperature T (default 1) after the top-k / top-p / min-p filters (off by\n"
           "default), from a generator seeded with S (default 0, so runs repeat).\n",
           DEFAULT_N);
}

typedef struct gen_options {
    int64_t n_new;
    nexttok_sampler_params sampling;
} gen_options;

/* Parse the sampling options; 1 consumed, 0 not one of them, -1 error. */
static int sampling_option(int argc, char **argv, int *i, gen_options *o)
{
    nexttok_sampler_params *p = &o->sampling;
    int64_t top_k = 0;
    /* --n-predict is -n's long name; a bad value is reported as -n's. */
    int r = nt_cli_opt_i64(argc, argv, i, "generate", "-n", 0, INT32_MAX, "a token count >= 0",
                           &o->n_new);
    const char *v = NULL;
    if (r == 0 && (r = nt_cli_opt_value(argc, argv, i, "--n-predict", &v)) > 0 &&
        !nt_cli_parse_i64(v, 0, INT32_MAX, &o->n_new)) {
        nt_cli_usage_fail("generate", "-n: '%s' is not a token count >= 0", v);
        return -1;
    }
    if (r == 0)
        r = nt_cli_opt_f32(argc, argv, i, "generate", "--temp", 0.0f, 1e6f, "a temperature >= 0",
                           &p->temperature);
    if (r == 0)
        r = nt_cli_opt_u64(argc, argv, i, "generate", "--seed", "an unsigned 64-bit integer",
                           &p->seed);
    if (r == 0 &&
        (r = nt_cli_opt_i64(argc, argv, i, "generate", "--top-k", 0, INT32_MAX,
                            "a count >= 0 (0 = off)", &top_k)) > 0)
        p->top_k = (int32_t)top_k;
    if (r == 0)
        r = nt_cli_opt_f32(argc, argv, i, "generate", "--top-p", 0.0f, 1.0f,
                           "a probability in [0, 1]", &p->top_p);
    if (r == 0)
        r = nt_cli_opt_f32(argc, argv, i, "generate", "--min-p", 0.0f, 1.0f,
                           "a probability in [0, 1]", &p->min_p);
    return r;
}

/* Push one token through the decoder; print its text when `print`. */
static int decode_token(nexttok_decoder *decoder, int32_t token, char *text, int print)
{
    size_t len = 0;
    nexttok_status st = nexttok_decoder_push(decoder, token, text, TEXT_CAP, &len);
    if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "decoding token %d", (int)token);
    if (print && len) {
        fwrite(text, 1, len, stdout);
        fflush(stdout); /* stream: show each token as it comes */
    }
    return 0;
}

static int generate(const nexttok_model *model, const nexttok_tokenizer *tokenizer,
                    nexttok_session *session, const nt_cli_input *input, const int32_t *prompt,
                    size_t n_prompt, const gen_options *o)
{
    int32_t n_ctx = nexttok_session_n_ctx_get(session);
    /* The last generated token is printed, never fed: N new tokens need
     * n_prompt + N - 1 positions. Refuse up front rather than stop short. */
    if (n_prompt > (size_t)n_ctx ||
        (o->n_new > 0 && (int64_t)n_prompt + o->n_new - 1 > (int64_t)n_ctx))
        return nt_cli_fail("context overflow: a prompt of %zu tokens and -n %lld need %lld "
                           "positions, the context holds %d",
                           n_prompt, (long long)o->n_new,
                           (long long)n_prompt + (o->n_new > 0 ? o->n_new - 1 : 0), (int)n_ctx);
    (void)model;

    nexttok_status st = nexttok_session_feed(session, prompt, n_prompt, NULL);
    if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "feeding the prompt (%zu tokens)", n_prompt);

    nexttok_sampler *sampler = NULL;
    nexttok_decoder *decoder = NULL;
    char *text = malloc(TEXT_CAP);
    int rc = 0;
    if (!text) return nt_cli_fail("out of memory");
    st = nexttok_sampler_create(&o->sampling, &sampler);
    if (st != NEXTTOK_OK) {
        rc = nt_cli_api_fail(st, "creating the sampler");
        goto done;
    }
    st = nexttok_decoder_create(tokenizer, NEXTTOK_DECODE_SKIP_SPECIAL, &decoder);
    if (st != NEXTTOK_OK) {
        rc = nt_cli_api_fail(st, "creating the decoder");
        goto done;
    }
    /* The prompt goes through the decoder too, so the continuation is
     * decoded in context (no leading-space stripping mid-text). Given text
     * is printed as given; given ids are printed as they decode. */
    int print_prompt = input->tokens != NULL;
    if (!print_prompt) {
        fwrite(input->text_data, 1, input->text_len, stdout);
        fflush(stdout);
    }
    for (size_t i = 0; i < n_prompt; i++)
        if ((rc = decode_token(decoder, prompt[i], text, print_prompt)) != 0) goto done;

    int32_t eos = nexttok_tokenizer_eos_get(tokenizer);
    for (int64_t i = 0; i < o->n_new; i++) {
        int32_t token = -1;
        st = nexttok_sampler_sample(sampler, session, &token);
        if (st != NEXTTOK_OK) {
            rc = nt_cli_api_fail(st, "sampling token %lld", (long long)i + 1);
            goto done;
        }
        if (eos >= 0 && token == eos) break;
        if ((rc = decode_token(decoder, token, text, 1)) != 0) goto done;
        if (i + 1 < o->n_new) {
            st = nexttok_session_feed(session, &token, 1, NULL);
            if (st != NEXTTOK_OK) {
                rc = nt_cli_api_fail(st, "feeding generated token %d", (int)token);
                goto done;
            }
        }
    }
    size_t len = 0;
    st = nexttok_decoder_flush(decoder, text, TEXT_CAP, &len);
    if (st != NEXTTOK_OK) {
        rc = nt_cli_api_fail(st, "flushing the decoder");
        goto done;
    }
    fwrite(text, 1, len, stdout);
    putchar('\n');
    if (fflush(stdout) != 0 || ferror(stdout)) rc = nt_cli_fail("cannot write the output");
done:
    nexttok_decoder_free(decoder);
    nexttok_sampler_free(sampler);
    free(text);
    return rc;
}

typedef struct generate_options {
    nt_cli_setup setup;
    gen_options gen;
} generate_options;

static int generate_option(int argc, char **argv, int *i, void *ctx)
{
    generate_options *o = ctx;
    int r = nt_cli_setup_option(argc, argv, i, &o->setup);
    if (r != 0) return r;
    return sampling_option(argc, argv, i, &o->gen);
}

int nt_cli_generate(int argc, char **argv)
{
    const char *path = NULL;
    generate_options o = {.setup = {.cmd = "generate"}, .gen = {.n_new = DEFAULT_N}};
    nexttok_sampler_params_init(&o.gen.sampling, sizeof o.gen.sampling);
    nt_cli_setup *s = &o.setup;
    int rc = 0;
    if (!nt_cli_scan_args(argc, argv, "generate", usage, generate_option, &o, &path, &rc)) return rc;
    if (!path) return nt_cli_usage_fail("generate", "no model file given");
    if (!nt_cli_setup_has_input(s))
        return nt_cli_usage_fail("generate", "no prompt: give --text, --text-file or --tokens");
    if ((rc = nt_cli_setup_input(s)) != 0) return rc;

    /* Printing text always needs the tokenizer, whatever the input. */
    if ((rc = nt_cli_setup_load(s, path, NT_CLI_TOKENIZER_ALWAYS)) != 0) goto done;
    if ((rc = nt_cli_setup_session(s)) != 0) goto done;
    rc = generate(s->model, s->tokenizer, s->session, &s->input, s->tokens, s->n_tokens, &o.gen);
done:
    nt_cli_setup_release(s);
    return rc;
}
