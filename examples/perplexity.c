/*
 * perplexity: how well a model predicts a text, through the scoring API.
 *
 *   perplexity MODEL.gguf TEXT_FILE [WINDOW [STRIDE]]
 *
 * Reads the text, and prints its sliding-window perplexity with its
 * standard error and bits per byte: windows of WINDOW tokens (default
 * the session's context) start every STRIDE tokens (default half a
 * window), and each scores only the tokens no earlier window scored.
 */
#include <stdio.h>
#include <stdlib.h>

#include <nexttok.h>

static int fail(const char *what, nexttok_status status)
{
    fprintf(stderr, "perplexity: %s: %s: %s\n", what, nexttok_status_describe(status), nexttok_error_message());
    return 1;
}

/* The whole file in a malloc'd buffer, or NULL. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            char *grown = realloc(buf, cap *= 2);
            if (!grown) free(buf);
            buf = grown;
        }
    }
    if (ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: perplexity MODEL.gguf TEXT_FILE [WINDOW [STRIDE]]\n");
        return 2;
    }
    size_t len = 0;
    char *text = read_file(argv[2], &len);
    if (!text) {
        fprintf(stderr, "perplexity: cannot read %s\n", argv[2]);
        return 1;
    }
    nexttok_model *model = NULL;
    nexttok_tokenizer *tokenizer = NULL;
    nexttok_session *session = NULL;
    int rc = 1;
    nexttok_status st;

    if ((st = nexttok_model_load(argv[1], NULL, &model)) != NEXTTOK_OK) {
        rc = fail("loading the model", st);
        goto done;
    }
    if ((st = nexttok_tokenizer_create(model, &tokenizer)) != NEXTTOK_OK) {
        rc = fail("creating the tokenizer", st);
        goto done;
    }
    if ((st = nexttok_session_create(model, NULL, &session)) != NEXTTOK_OK) {
        rc = fail("creating a session", st);
        goto done;
    }

    /* The library tokenizes, slides the windows and scores them. */
    nexttok_perplexity_params params;
    nexttok_perplexity_params_init(&params, sizeof params);
    if (argc > 3) params.n_window = atoi(argv[3]);
    if (argc > 4) params.stride = atoi(argv[4]);
    nexttok_perplexity_info info = {.struct_size = sizeof info};
    if ((st = nexttok_session_text_perplexity_compute(session, tokenizer, text, len, &params, &info)) != NEXTTOK_OK) {
        rc = fail("perplexity", st);
        goto done;
    }
    printf("tokens %lld, scored %lld in %d windows of %d (stride %d)\n", (long long)info.n_tokens,
           (long long)info.n_scored, (int)info.n_windows, (int)info.n_window, (int)info.stride);
    printf("perplexity %.6f +- %.6f\n", info.perplexity, info.perplexity_se);
    printf("bits per byte %.6f\n", info.bits_per_byte);
    rc = 0;

done:
    nexttok_session_free(session);
    nexttok_tokenizer_free(tokenizer);
    nexttok_model_free(model);
    free(text);
    return rc;
}
