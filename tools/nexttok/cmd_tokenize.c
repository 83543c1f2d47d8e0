/* nexttok tokenize MODEL (--text T | --text-file F) [--no-bos] [--parse-special] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "nexttok.h"

static void usage(void)
{
    printf("usage: nexttok tokenize MODEL (--text T | --text-file F) [--no-bos] [--parse-special]\n\n"
           "Prints the token ids of the text, space separated, on one line. MODEL is any\n"
           "GGUF file with tokenizer metadata (a vocabulary-only file works).\n"
           "  --no-bos          add no BOS/EOS (by default they are added as the vocabulary says)\n"
           "  --parse-special   turn special-token text such as <s> into its id\n");
}

typedef struct tokenize_options {
    const char *text, *text_file;
    uint32_t flags;
} tokenize_options;

static int tokenize_option(int argc, char **argv, int *i, void *ctx)
{
    tokenize_options *o = ctx;
    const char *a = argv[*i];
    const char *v = NULL;
    int r;
    if (strcmp(a, "--no-bos") == 0) {
        o->flags &= ~NEXTTOK_ENCODE_ADD_SPECIAL;
        return 1;
    }
    if (strcmp(a, "--parse-special") == 0) {
        o->flags |= NEXTTOK_ENCODE_PARSE_SPECIAL;
        return 1;
    }
    if ((r = nt_cli_opt_value(argc, argv, i, "--text", &v)) != 0 ||
        (r = nt_cli_opt_value(argc, argv, i, "--text-file", &v)) != 0) {
        if (r < 0) return -1;
        if (o->text || o->text_file) {
            nt_cli_usage_fail("tokenize", "give one of --text and --text-file, once");
            return -1;
        }
        if (strncmp(a, "--text-file", 11) == 0) o->text_file = v;
        else o->text = v;
        return 1;
    }
    return 0;
}

int nt_cli_tokenize(int argc, char **argv)
{
    const char *path = NULL;
    tokenize_options o = {NULL, NULL, NEXTTOK_ENCODE_ADD_SPECIAL};
    int rc = 0;
    if (!nt_cli_scan_args(argc, argv, "tokenize", usage, tokenize_option, &o, &path, &rc)) return rc;
    if (!path) return nt_cli_usage_fail("tokenize", "no model given");
    if (!o.text && !o.text_file) return nt_cli_usage_fail("tokenize", "no input: give --text or --text-file");

    char *data = NULL;
    size_t len = 0;
    if (o.text_file) {
        rc = nt_cli_read_file(o.text_file, &data, &len);
        if (rc) return rc;
    } else {
        len = strlen(o.text);
    }
    const char *bytes = data ? data : o.text;

    nexttok_tokenizer *tok = NULL;
    nexttok_status st = nexttok_tokenizer_load(path, &tok);
    if (st != NEXTTOK_OK) {
        free(data);
        return nt_cli_api_fail(st, "loading the tokenizer of %s", path);
    }
    size_t n = 0;
    int32_t *ids = NULL;
    st = nexttok_tokenizer_encode(tok, bytes, len, o.flags, NULL, 0, &n);
    if (st == NEXTTOK_ERR_BUFFER_TOO_SMALL) {
        ids = malloc(n * sizeof *ids);
        st = ids ? nexttok_tokenizer_encode(tok, bytes, len, o.flags, ids, n, &n) : NEXTTOK_ERR_NO_MEMORY;
    }
    if (st != NEXTTOK_OK) {
        rc = nt_cli_api_fail(st, "tokenizing");
    } else {
        for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
        if (fflush(stdout) != 0) rc = nt_cli_fail("writing the ids: output error");
    }
    free(ids);
    free(data);
    nexttok_tokenizer_free(tok);
    return rc;
}
