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

int nt_cli_tokenize(int argc, char **argv)
{
    const char *path = NULL, *text = NULL, *text_file = NULL;
    uint32_t flags = NEXTTOK_ENCODE_ADD_SPECIAL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = NULL;
        int r;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return 0;
        }
        if (strcmp(a, "--no-bos") == 0) {
            flags &= ~NEXTTOK_ENCODE_ADD_SPECIAL;
            continue;
        }
        if (strcmp(a, "--parse-special") == 0) {
            flags |= NEXTTOK_ENCODE_PARSE_SPECIAL;
            continue;
        }
        if ((r = nt_cli_opt_value(argc, argv, &i, "--text", &v)) != 0 ||
            (r = nt_cli_opt_value(argc, argv, &i, "--text-file", &v)) != 0) {
            if (r < 0) return NT_CLI_EXIT_USAGE;
            if (text || text_file)
                return nt_cli_usage_fail("tokenize", "give one of --text and --text-file, once");
            if (strncmp(a, "--text-file", 11) == 0) text_file = v;
            else text = v;
            continue;
        }
        if (a[0] == '-' && a[1] != '\0') return nt_cli_usage_fail("tokenize", "unknown option '%s'", a);
        if (path) return nt_cli_usage_fail("tokenize", "unexpected argument '%s'", a);
        path = a;
    }
    if (!path) return nt_cli_usage_fail("tokenize", "no model given");
    if (!text && !text_file) return nt_cli_usage_fail("tokenize", "no input: give --text or --text-file");

    char *data = NULL;
    size_t len = 0;
    if (text_file) {
        int rc = nt_cli_read_file(text_file, &data, &len);
        if (rc) return rc;
    } else {
        len = strlen(text);
    }
    const char *bytes = data ? data : text;

    nexttok_tokenizer *tok = NULL;
    nexttok_status st = nexttok_tokenizer_load(path, &tok);
    if (st != NEXTTOK_OK) {
        free(data);
        return nt_cli_api_fail(st, "loading the tokenizer of %s", path);
    }
    size_t n = 0;
    int32_t *ids = NULL;
    st = nexttok_tokenizer_encode(tok, bytes, len, flags, NULL, 0, &n);
    if (st == NEXTTOK_ERR_BUFFER_TOO_SMALL) {
        ids = malloc(n * sizeof *ids);
        st = ids ? nexttok_tokenizer_encode(tok, bytes, len, flags, ids, n, &n) : NEXTTOK_ERR_NO_MEMORY;
    }
    int rc = 0;
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
