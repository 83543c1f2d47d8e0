/* nexttok next MODEL (--tokens|--text|--text-file) [--top K] [--temp T] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "nexttok.h"

#define DEFAULT_TOP 10
#define PIECE_CAP 256

static void usage(void)
{
    printf("usage: nexttok next MODEL (--tokens 1,2,3 | --text T | --text-file F)\n"
           "                   [--top K] [--temp T] [--threads T] [--ctx N]\n\n"
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

int nt_cli_next(int argc, char **argv)
{
    const char *path = NULL;
    nt_cli_input input = {0};
    int32_t n_threads = 0, n_ctx = 0;
    int64_t top = DEFAULT_TOP;
    float temp = 1.0f;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = NULL;
        int r;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return 0;
        }
        if ((r = nt_cli_input_option(argc, argv, &i, &input)) != 0) {
            if (r < 0) return NT_CLI_EXIT_USAGE;
            continue;
        }
        if ((r = nt_cli_session_option(argc, argv, &i, "next", &n_threads, &n_ctx)) != 0) {
            if (r < 0) return NT_CLI_EXIT_USAGE;
            continue;
        }
        if ((r = nt_cli_opt_value(argc, argv, &i, "--top", &v)) != 0) {
            if (r < 0) return NT_CLI_EXIT_USAGE;
            if (!nt_cli_parse_i64(v, 1, 1000000, &top))
                return nt_cli_usage_fail("next", "--top: '%s' is not a count in [1, 1000000]", v);
            continue;
        }
        if ((r = nt_cli_opt_value(argc, argv, &i, "--temp", &v)) != 0) {
            if (r < 0) return NT_CLI_EXIT_USAGE;
            if (!nt_cli_parse_f32(v, 0.0f, 1e6f, &temp))
                return nt_cli_usage_fail("next", "--temp: '%s' is not a temperature >= 0", v);
            continue;
        }
        if (a[0] == '-' && a[1] != '\0')
            return nt_cli_usage_fail("next", "unknown option '%s'", a);
        if (path) return nt_cli_usage_fail("next", "unexpected argument '%s'", a);
        path = a;
    }
    if (!path) return nt_cli_usage_fail("next", "no model file given");
    if (!input.tokens && !input.text && !input.text_file)
        return nt_cli_usage_fail("next", "no input: give --tokens, --text or --text-file");
    int32_t *tokens = NULL;
    size_t n = 0;
    int rc = 0;
    /* Bad input is reported before the (slow) model load. */
    if (input.tokens && (rc = nt_cli_input_tokens(&input, NULL, &tokens, &n)) != 0) return rc;
    if ((rc = nt_cli_input_load(&input)) != 0) return rc;

    nexttok_model *model = NULL;
    nexttok_tokenizer *tokenizer = NULL;
    nexttok_session *session = NULL;
    nexttok_token_prob *best = NULL;
    if ((rc = nt_cli_model_load(path, false, &model)) != 0) goto done;
    /* Pieces are a courtesy with --tokens, a requirement with text. */
    if ((rc = nt_cli_tokenizer_create(model, nt_cli_input_needs_tokenizer(&input), &tokenizer)) != 0)
        goto done;
    if (!input.tokens && (rc = nt_cli_input_tokens(&input, tokenizer, &tokens, &n)) != 0) goto done;
    if ((rc = nt_cli_session_create(model, n_ctx, n_threads, &session)) != 0) goto done;
    nexttok_status st = nexttok_session_feed(session, tokens, n, NULL);
    if (st != NEXTTOK_OK) {
        rc = nt_cli_api_fail(st, "feeding the input (%zu tokens)", n);
        goto done;
    }
    best = malloc((size_t)top * sizeof *best);
    if (!best) {
        rc = nt_cli_fail("out of memory for %lld entries", (long long)top);
        goto done;
    }
    size_t n_best = 0;
    st = nexttok_session_topk_get(session, temp, (size_t)top, best, &n_best);
    if (st != NEXTTOK_OK) {
        rc = nt_cli_api_fail(st, "top %lld next tokens", (long long)top);
        goto done;
    }
    for (size_t i = 0; i < n_best; i++) {
        printf("%d\t%.6f", (int)best[i].id, (double)best[i].prob);
        if (tokenizer) print_piece(tokenizer, best[i].id);
        printf("\n");
    }
    if (fflush(stdout) != 0 || ferror(stdout)) rc = nt_cli_fail("cannot write the output");
done:
    free(best);
    nexttok_session_free(session);
    nexttok_tokenizer_free(tokenizer);
    nexttok_model_free(model);
    free(tokens);
    nt_cli_input_release(&input);
    return rc;
}
