/*
 * nexttok logits MODEL (--tokens ...|--text T|--text-file F) --out FILE
 *
 * Writes the logits after every fed position in the fixtures' binary
 * format, little-endian whatever the host:
 *   int32 n, int32 n_vocab, int32 tokens[n], float32 logits[n][n_vocab]
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "nexttok.h"

static void usage(void)
{
    printf("usage: nexttok logits MODEL (--tokens 1,2,3 | --text T | --text-file F) --out FILE\n"
           "                     [--threads T] [--ctx N]\n\n"
           "Feeds the tokens in one batch and writes one row of logits per position:\n"
           "int32 n, int32 n_vocab, int32 tokens[n], float32 logits[n][n_vocab]\n"
           "(little-endian). Text gets BOS/EOS as the model's vocabulary says.\n");
}

static void put_u32le(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v & 0xFF);
    p[1] = (unsigned char)((v >> 8) & 0xFF);
    p[2] = (unsigned char)((v >> 16) & 0xFF);
    p[3] = (unsigned char)((v >> 24) & 0xFF);
}

/* Values as 32-bit little-endian words, in chunks so a large file needs no
 * second copy of the logits. */
static int write_words(FILE *f, const void *values, size_t n, int is_float)
{
    unsigned char buf[4096];
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t w;
        if (is_float) memcpy(&w, (const float *)values + i, 4);
        else memcpy(&w, (const int32_t *)values + i, 4);
        put_u32le(buf + used, w);
        used += 4;
        if (used == sizeof buf || i + 1 == n) {
            if (fwrite(buf, 1, used, f) != used) return -1;
            used = 0;
        }
    }
    return 0;
}

static int write_logits_file(const char *path, const int32_t *tokens, size_t n, int32_t n_vocab,
                             const float *logits)
{
    FILE *f = fopen(path, "wb");
    if (!f) return nt_cli_fail("cannot create %s: %s", path, strerror(errno));
    int32_t header[2] = {(int32_t)n, n_vocab};
    int bad = write_words(f, header, 2, 0) || write_words(f, tokens, n, 0) ||
              write_words(f, logits, n * (size_t)n_vocab, 1);
    int err = errno;
    if (fclose(f) != 0) bad = 1;
    if (bad) {
        remove(path); /* no half-written file left behind */
        return nt_cli_fail("cannot write %s: %s", path, strerror(err));
    }
    return 0;
}

int nt_cli_logits(int argc, char **argv)
{
    const char *path = NULL, *out = NULL;
    nt_cli_input input = {0};
    int32_t n_threads = 0, n_ctx = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return 0;
        }
        if ((r = nt_cli_input_option(argc, argv, &i, &input)) != 0) {
            if (r < 0) return NT_CLI_EXIT_USAGE;
            continue;
        }
        if ((r = nt_cli_session_option(argc, argv, &i, "logits", &n_threads, &n_ctx)) != 0) {
            if (r < 0) return NT_CLI_EXIT_USAGE;
            continue;
        }
        if ((r = nt_cli_opt_value(argc, argv, &i, "--out", &out)) != 0) {
            if (r < 0) return NT_CLI_EXIT_USAGE;
            continue;
        }
        if (a[0] == '-' && a[1] != '\0')
            return nt_cli_usage_fail("logits", "unknown option '%s'", a);
        if (path) return nt_cli_usage_fail("logits", "unexpected argument '%s'", a);
        path = a;
    }
    if (!path) return nt_cli_usage_fail("logits", "no model file given");
    if (!input.tokens && !input.text && !input.text_file)
        return nt_cli_usage_fail("logits", "no input: give --tokens, --text or --text-file");
    if (!out || !*out) return nt_cli_usage_fail("logits", "no output file: give --out FILE");
    int32_t *tokens = NULL;
    size_t n = 0;
    int rc = 0;
    /* Bad input is reported before the (slow) model load. */
    if (input.tokens && (rc = nt_cli_input_tokens(&input, NULL, &tokens, &n)) != 0) return rc;
    if ((rc = nt_cli_input_load(&input)) != 0) return rc;

    nexttok_model *model = NULL;
    nexttok_tokenizer *tokenizer = NULL;
    nexttok_session *session = NULL;
    float *logits = NULL;
    if ((rc = nt_cli_model_load(path, false, &model)) != 0) goto done;
    if (nt_cli_input_needs_tokenizer(&input)) {
        if ((rc = nt_cli_tokenizer_create(model, true, &tokenizer)) != 0) goto done;
        if ((rc = nt_cli_input_tokens(&input, tokenizer, &tokens, &n)) != 0) goto done;
    }
    if (n > INT32_MAX) {
        rc = nt_cli_fail("%zu tokens are more than the file format can hold", n);
        goto done;
    }
    if ((rc = nt_cli_session_create(model, n_ctx, n_threads, &session)) != 0) goto done;
    int32_t n_vocab = nexttok_model_n_vocab_get(model);
    if (n_vocab <= 0) {
        rc = nt_cli_fail("model reports a vocabulary of %d tokens", (int)n_vocab);
        goto done;
    }
    /* Context overflow is the library's call (all or nothing), but refuse a
     * logits buffer larger than memory can index before asking for it. */
    if (n > SIZE_MAX / sizeof(float) / (size_t)n_vocab) {
        rc = nt_cli_fail("%zu positions x %d logits do not fit in memory", n, (int)n_vocab);
        goto done;
    }
    logits = malloc(n * (size_t)n_vocab * sizeof(float));
    if (!logits) {
        rc = nt_cli_fail("out of memory for %zu x %d logits", n, (int)n_vocab);
        goto done;
    }
    nexttok_status st = nexttok_session_feed(session, tokens, n, logits);
    if (st != NEXTTOK_OK) {
        rc = nt_cli_api_fail(st, "feeding the input (%zu tokens)", n);
        goto done;
    }
    rc = write_logits_file(out, tokens, n, n_vocab, logits);
done:
    free(logits);
    nexttok_session_free(session);
    nexttok_tokenizer_free(tokenizer);
    nexttok_model_free(model);
    free(tokens);
    nt_cli_input_release(&input);
    return rc;
}
