/* nexttok perplexity MODEL --text-file F [--ctx N] [--stride S] [--json] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "nexttok.h"
#include "progress.h"

static void usage(void)
{
    printf("usage: nexttok perplexity MODEL --text-file F [--ctx N] [--stride S] [--json]\n"
           "                         [--threads T] [--precision fast|exact|portable]\n"
           "                         [--kv-type f32|f16|q8_0] [--batch N]\n\n"
           "Sliding-window perplexity of a text, as Hugging Face's \"perplexity of\n"
           "fixed-length models\" with a stride. The text is tokenized as the vocabulary\n"
           "says (a BOS at its start only, where the vocabulary adds one). Windows of N\n"
           "tokens (--ctx; default the model's context, at most 4096) start every S tokens\n"
           "(--stride; default N/2), until one reaches the end; each scores the tokens\n"
           "no earlier window scored, with the logits after the window's tokens before\n"
           "them (so up to N-S tokens of context before its scored part). A token with\n"
           "nothing before it in its window is not scored: the first token, and with\n"
           "S = N the first token of every window.\n\n"
           "Prints the perplexity exp(mean NLL) with its standard error (perplexity x\n"
           "the standard error of the mean NLL), the mean NLL in nats per token, and bits\n"
           "per byte (total NLL / ln 2 / the text's UTF-8 bytes). --json prints one JSON\n"
           "object instead. Progress is shown on stderr when it is a terminal.\n\n"
           "  --text-file F        the text (UTF-8)\n"
           "  --stride S           tokens between window starts, 1..N (default N/2)\n"
           "  --json               one JSON object on stdout\n" NT_CLI_SESSION_OPTIONS_HELP);
}

typedef struct ppl_options {
    nt_cli_session_opts sess;
    const char *text_file;
    int64_t stride;
    int json;
} ppl_options;

static int ppl_option(int argc, char **argv, int *i, void *ctx)
{
    ppl_options *o = ctx;
    if (strcmp(argv[*i], "--json") == 0) {
        o->json = 1;
        return 1;
    }
    int r = nt_cli_opt_value(argc, argv, i, "--text-file", &o->text_file);
    if (r == 0) r = nt_cli_session_option(argc, argv, i, "perplexity", &o->sess);
    if (r == 0)
        r = nt_cli_opt_i64(argc, argv, i, "perplexity", "--stride", 1, INT32_MAX, "a token count >= 1", &o->stride);
    return r;
}

static int on_progress(float fraction, void *user)
{
    nt_cli_progress_update(user, fraction, NULL);
    return 0;
}

static void print_json(const char *path, const char *text_file, const nexttok_perplexity_info *r)
{
    fputs("{\"model\": ", stdout);
    nt_cli_json_string(path);
    fputs(", \"text_file\": ", stdout);
    nt_cli_json_string(text_file);
    /* %.17g: the doubles read back bit for bit. */
    printf(", \"n_ctx\": %d, \"stride\": %d, \"n_tokens\": %lld, \"n_scored\": %lld, \"n_windows\": %d,"
           " \"n_bytes\": %lld, \"nll_mean\": %.17g, \"nll_stderr\": %.17g, \"nll_sum\": %.17g,"
           " \"perplexity\": %.17g, \"perplexity_stderr\": %.17g, \"bits_per_byte\": %.17g}\n",
           (int)r->n_window, (int)r->stride, (long long)r->n_tokens, (long long)r->n_scored, (int)r->n_windows,
           (long long)r->n_bytes, r->nll_mean, r->nll_se, r->nll_sum, r->perplexity, r->perplexity_se,
           r->bits_per_byte);
}

int nt_cli_perplexity(int argc, char **argv)
{
    const char *path = NULL;
    ppl_options o = {0};
    int rc = 0;
    if (!nt_cli_scan_args(argc, argv, "perplexity", usage, ppl_option, &o, &path, &rc)) return rc;
    if (!path) return nt_cli_usage_fail("perplexity", "no model file given");
    if (!o.text_file) return nt_cli_usage_fail("perplexity", "no text: give --text-file F");

    char *text = NULL;
    size_t len = 0;
    nexttok_model *model = NULL;
    nexttok_tokenizer *tok = NULL;
    nexttok_session *session = NULL;
    /* The file first: a missing one fails before the slow model load. */
    if ((rc = nt_cli_read_file(o.text_file, &text, &len)) != 0) return rc;
    if ((rc = nt_cli_model_load(path, false, &model)) != 0) goto done;
    if ((rc = nt_cli_tokenizer_create(model, true, &tok)) != 0) goto done;
    if ((rc = nt_cli_session_create(model, &o.sess, &session)) != 0) goto done;

    nt_cli_progress progress;
    nt_cli_progress_start(&progress, "perplexity");
    nexttok_perplexity_params params;
    nexttok_perplexity_params_init(&params, sizeof params);
    params.stride = (int32_t)o.stride;
    params.progress = on_progress;
    params.progress_user_data = &progress;
    nexttok_perplexity_info r = {.struct_size = sizeof r};
    nexttok_status st = nexttok_session_text_perplexity_compute(session, tok, text, len, &params, &r);
    nt_cli_progress_end(&progress);
    if (st != NEXTTOK_OK) {
        rc = nt_cli_api_fail(st, "perplexity of %s", o.text_file);
        goto done;
    }
    if (o.json) {
        print_json(path, o.text_file, &r);
    } else {
        printf("perplexity     %.4f +/- %.4f\n", r.perplexity, r.perplexity_se);
        printf("nll            %.6f +/- %.6f nats per token\n", r.nll_mean, r.nll_se);
        printf("bits per byte  %.6f (%lld bytes)\n", r.bits_per_byte, (long long)r.n_bytes);
        printf("tokens         %lld, %lld scored in %d window%s of %d, stride %d\n", (long long)r.n_tokens,
               (long long)r.n_scored, (int)r.n_windows, r.n_windows == 1 ? "" : "s", (int)r.n_window, (int)r.stride);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) rc = nt_cli_fail("cannot write the output");
done:
    nexttok_session_free(session);
    nexttok_tokenizer_free(tok);
    nexttok_model_free(model);
    free(text);
    return rc;
}
