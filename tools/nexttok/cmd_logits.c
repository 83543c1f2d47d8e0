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
#include "session_setup.h"

static void usage(void)
{
    printf("usage: nexttok logits MODEL (--tokens 1,2,3 | --text T | --text-file F) --out FILE\n"
           "                     [--threads T] [--ctx N]\n"
           "                       [--precision fast|exact|portable] [--kv-type f32|f16|q8_0]\n\n"
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

typedef struct logits_options {
    nt_cli_setup setup;
    const char *out;
} logits_options;

static int logits_option(int argc, char **argv, int *i, void *ctx)
{
    logits_options *o = ctx;
    int r = nt_cli_setup_option(argc, argv, i, &o->setup);
    if (r != 0) return r;
    return nt_cli_opt_value(argc, argv, i, "--out", &o->out);
}

int nt_cli_logits(int argc, char **argv)
{
    const char *path = NULL;
    logits_options o = {.setup = {.cmd = "logits"}};
    nt_cli_setup *s = &o.setup;
    int rc = 0;
    if (!nt_cli_scan_args(argc, argv, "logits", usage, logits_option, &o, &path, &rc)) return rc;
    if (!path) return nt_cli_usage_fail("logits", "no model file given");
    if (!nt_cli_setup_has_input(s))
        return nt_cli_usage_fail("logits", "no input: give --tokens, --text or --text-file");
    if (!o.out || !*o.out) return nt_cli_usage_fail("logits", "no output file: give --out FILE");
    if ((rc = nt_cli_setup_input(s)) != 0) return rc;

    float *logits = NULL;
    if ((rc = nt_cli_setup_load(s, path, NT_CLI_TOKENIZER_FOR_TEXT)) != 0) goto done;
    size_t n = s->n_tokens;
    if (n > INT32_MAX) {
        rc = nt_cli_fail("%zu tokens are more than the file format can hold", n);
        goto done;
    }
    if ((rc = nt_cli_setup_session(s)) != 0) goto done;
    int32_t n_vocab = nexttok_model_n_vocab_get(s->model);
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
    nexttok_status st = nexttok_session_feed(s->session, s->tokens, n, logits, n * (size_t)n_vocab);
    if (st != NEXTTOK_OK) {
        rc = nt_cli_api_fail(st, "feeding the input (%zu tokens)", n);
        goto done;
    }
    rc = write_logits_file(o.out, s->tokens, n, n_vocab, logits);
done:
    free(logits);
    nt_cli_setup_release(s);
    return rc;
}
