/* nexttok next MODEL (--tokens|--text|--text-file) [--top K] [--temp T] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "nexttok.h"
#include "session_setup.h"

#define DEFAULT_TOP 10
#define PIECE_CAP 256

static void usage(void)
{
    printf("usage: nexttok next MODEL (--tokens 1,2,3 | --text T | --text-file F)\n"
           "                   [--top K] [--temp T] [--threads T] [--ctx N]\n"
           "                       [--precision fast|exact|portable] [--kv-type f32|f16|q8_0]\n\n"
           "Feeds the input and prints the K (default %d) most probable next tokens,\n"
           "one per line: id, probability at temperature T (default 1; 0 = arg-max),\n"
           "and the token's text (quoted, escaped) when the model has a tokenizer.\n",
           DEFAULT_TOP);
}

static void print_piece(const nexttok_tokenizer *tokenizer, int32_t id)
{
    char small[PIECE_CAP];
    char *piece = small;
    size_t len = 0;
    nexttok_status st = nexttok_tokenizer_piece_get(tokenizer, id, small, sizeof small, &len);
    if (st == NEXTTOK_ERR_BUFFER_TOO_SMALL && len > sizeof small) {
        piece = malloc(len);
        if (!piece) return;
        st = nexttok_tokenizer_piece_get(tokenizer, id, piece, len, &len);
    }
    if (st == NEXTTOK_OK) { /* the listing stays useful without a piece */
        printf("\t\"");
        nt_cli_print_escaped(piece, len);
        printf("\"");
    }
    if (piece != small) free(piece);
}

typedef struct next_options {
    nt_cli_setup setup;
    int64_t top;
    float temp;
} next_options;

static int next_option(int argc, char **argv, int *i, void *ctx)
{
    next_options *o = ctx;
    int r = nt_cli_setup_option(argc, argv, i, &o->setup);
    if (r == 0)
        r = nt_cli_opt_i64(argc, argv, i, "next", "--top", 1, 1000000, "a count in [1, 1000000]",
                           &o->top);
    if (r == 0)
        r = nt_cli_opt_f32(argc, argv, i, "next", "--temp", 0.0f, 1e6f, "a temperature >= 0",
                           &o->temp);
    return r;
}

int nt_cli_next(int argc, char **argv)
{
    const char *path = NULL;
    next_options o = {.setup = {.cmd = "next"}, .top = DEFAULT_TOP, .temp = 1.0f};
    nt_cli_setup *s = &o.setup;
    int rc = 0;
    if (!nt_cli_scan_args(argc, argv, "next", usage, next_option, &o, &path, &rc)) return rc;
    if (!path) return nt_cli_usage_fail("next", "no model file given");
    if (!nt_cli_setup_has_input(s))
        return nt_cli_usage_fail("next", "no input: give --tokens, --text or --text-file");
    if ((rc = nt_cli_setup_input(s)) != 0) return rc;

    nexttok_token_prob *best = NULL;
    /* Pieces are a courtesy with --tokens, a requirement with text. */
    if ((rc = nt_cli_setup_load(s, path, NT_CLI_TOKENIZER_IF_ANY)) != 0) goto done;
    if ((rc = nt_cli_setup_session(s)) != 0) goto done;
    nexttok_status st = nexttok_session_feed(s->session, s->tokens, s->n_tokens, NULL, 0);
    if (st != NEXTTOK_OK) {
        rc = nt_cli_api_fail(st, "feeding the input (%zu tokens)", s->n_tokens);
        goto done;
    }
    best = malloc((size_t)o.top * sizeof *best);
    if (!best) {
        rc = nt_cli_fail("out of memory for %lld entries", (long long)o.top);
        goto done;
    }
    size_t n_best = 0;
    st = nexttok_session_topk_get(s->session, o.temp, (size_t)o.top, best, &n_best);
    if (st != NEXTTOK_OK) {
        rc = nt_cli_api_fail(st, "top %lld next tokens", (long long)o.top);
        goto done;
    }
    for (size_t i = 0; i < n_best; i++) {
        printf("%d\t%.6f", (int)best[i].id, (double)best[i].prob);
        if (s->tokenizer) print_piece(s->tokenizer, best[i].id);
        printf("\n");
    }
    if (fflush(stdout) != 0 || ferror(stdout)) rc = nt_cli_fail("cannot write the output");
done:
    free(best);
    nt_cli_setup_release(s);
    return rc;
}
