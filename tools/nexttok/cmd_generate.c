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

#define DEFAULT_N 50
/* One token's text; a piece longer than this is reported, not cut. */
#define TEXT_CAP 65536

static void usage(void)
{
    printf("usage: nexttok generate MODEL (--text T | --text-file F | --tokens 1,2,3) [-n N]\n"
           "                       [--temp T] [--seed S] [--top-k K] [--top-p P] [--min-p P]\n"
           "                       [--threads T] [--ctx N]\n\n"
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
    const char *v = NULL;
    int r;
    int64_t x = 0;
    if ((r = nt_cli_opt_value(argc, argv, i, "-n", &v)) != 0 ||
        (r = nt_cli_opt_value(argc, argv, i, "--n-predict", &v)) != 0) {
        if (r < 0) return -1;
        if (!nt_cli_parse_i64(v, 0, INT32_MAX, &o->n_new)) {
            nt_cli_usage_fail("generate", "-n: '%s' is not a token count >= 0", v);
            return -1;
        }
        return 1;
    }
    if ((r = nt_cli_opt_value(argc, argv, i, "--temp", &v)) != 0) {
        if (r < 0) return -1;
        if (!nt_cli_parse_f32(v, 0.0f, 1e6f, &o->sampling.temperature)) {
            nt_cli_usage_fail("generate", "--temp: '%s' is not a temperature >= 0", v);
            return -1;
        }
        return 1;
    }
    if ((r = nt_cli_opt_value(argc, argv, i, "--seed", &v)) != 0) {
        if (r < 0) return -1;
        if (!nt_cli_parse_u64(v, &o->sampling.seed)) {
            nt_cli_usage_fail("generate", "--seed: '%s' is not an unsigned 64-bit integer", v);
            return -1;
        }
        return 1;
    }
    if ((r = nt_cli_opt_value(argc, argv, i, "--top-k", &v)) != 0) {
        if (r < 0) return -1;
        if (!nt_cli_parse_i64(v, 0, INT32_MAX, &x)) {
            nt_cli_usage_fail("generate", "--top-k: '%s' is not a count >= 0 (0 = off)", v);
            return -1;
        }
        o->sampling.top_k = (int32_t)x;
        return 1;
    }
    if ((r = nt_cli_opt_value(argc, argv, i, "--top-p", &v)) != 0) {
        if (r < 0) return -1;
        if (!nt_cli_parse_f32(v, 0.0f, 1.0f, &o->sampling.top_p)) {
            nt_cli_usage_fail("generate", "--top-p: '%s' is not a probability in [0, 1]", v);
            return -1;
        }
        return 1;
    }
    if ((r = nt_cli_opt_value(argc, argv, i, "--min-p", &v)) != 0) {
        if (r < 0) return -1;
        if (!nt_cli_parse_f32(v, 0.0f, 1.0f, &o->sampling.min_p)) {
            nt_cli_usage_fail("generate", "--min-p: '%s' is not a probability in [0, 1]", v);
            return -1;
        }
        return 1;
    }
    return 0;
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

int nt_cli_generate(int argc, char **argv)
{
    const char *path = NULL;
    nt_cli_input input = {0};
    int32_t n_threads = 0, n_ctx = 0;
    gen_options o;
    o.n_new = DEFAULT_N;
    nexttok_sampler_params_init(&o.sampling);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return 0;
        }
        if ((r = nt_cli_input_option(argc, argv, &i, &input)) != 0 ||
            (r = nt_cli_session_option(argc, argv, &i, "generate", &n_threads, &n_ctx)) != 0 ||
            (r = sampling_option(argc, argv, &i, &o)) != 0) {
            if (r < 0) return NT_CLI_EXIT_USAGE;
            continue;
        }
        if (a[0] == '-' && a[1] != '\0')
            return nt_cli_usage_fail("generate", "unknown option '%s'", a);
        if (path) return nt_cli_usage_fail("generate", "unexpected argument '%s'", a);
        path = a;
    }
    if (!path) return nt_cli_usage_fail("generate", "no model file given");
    if (!input.tokens && !input.text && !input.text_file)
        return nt_cli_usage_fail("generate", "no prompt: give --text, --text-file or --tokens");
    int32_t *tokens = NULL;
    size_t n = 0;
    int rc = 0;
    /* Bad input is reported before the (slow) model load. */
    if (input.tokens && (rc = nt_cli_input_tokens(&input, NULL, &tokens, &n)) != 0) return rc;
    if ((rc = nt_cli_input_load(&input)) != 0) return rc;

    nexttok_model *model = NULL;
    nexttok_tokenizer *tokenizer = NULL;
    nexttok_session *session = NULL;
    if ((rc = nt_cli_model_load(path, false, &model)) != 0) goto done;
    /* Printing text always needs the tokenizer, whatever the input. */
    if ((rc = nt_cli_tokenizer_create(model, true, &tokenizer)) != 0) goto done;
    if (!input.tokens && (rc = nt_cli_input_tokens(&input, tokenizer, &tokens, &n)) != 0) goto done;
    if ((rc = nt_cli_session_create(model, n_ctx, n_threads, &session)) != 0) goto done;
    rc = generate(model, tokenizer, session, &input, tokens, n, &o);
done:
    nexttok_session_free(session);
    nexttok_tokenizer_free(tokenizer);
    nexttok_model_free(model);
    free(tokens);
    nt_cli_input_release(&input);
    return rc;
}
