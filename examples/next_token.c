/*
 * next_token: the smallest complete use of libnexttok.
 *
 *   next_token MODEL.gguf "Once upon a time"
 *
 * Loads a model, tokenizes the prompt with the model's own vocabulary,
 * feeds the tokens to a session and prints the five most probable next
 * tokens with their probabilities.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nexttok.h>

/* Print the failed call, the status and the library's message. */
static int fail(const char *what, nexttok_status status)
{
    fprintf(stderr, "next_token: %s: %s: %s\n", what, nexttok_status_describe(status),
            nexttok_error_message());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: next_token MODEL.gguf PROMPT\n");
        return 2;
    }
    const char *path = argv[1], *prompt = argv[2];
    nexttok_model *model = NULL;
    nexttok_tokenizer *tokenizer = NULL;
    nexttok_session *session = NULL;
    int32_t *tokens = NULL;
    int rc = 1;
    nexttok_status st;

    /* 1. Load the model (memory-mapped) and its tokenizer. */
    if ((st = nexttok_model_load(path, NULL, &model)) != NEXTTOK_OK) {
        rc = fail("loading the model", st);
        goto done;
    }
    if ((st = nexttok_tokenizer_create(model, &tokenizer)) != NEXTTOK_OK) {
        rc = fail("creating the tokenizer", st);
        goto done;
    }

    /* 2. Prompt text to token ids; BOS is added if the vocabulary wants it.
     *    A first call with no buffer asks how many ids are needed. */
    size_t n_tokens = 0;
    st = nexttok_tokenizer_encode(tokenizer, prompt, strlen(prompt), NEXTTOK_ENCODE_ADD_SPECIAL,
                                  NULL, 0, &n_tokens);
    if (st != NEXTTOK_OK && st != NEXTTOK_ERR_BUFFER_TOO_SMALL) {
        rc = fail("tokenizing", st);
        goto done;
    }
    tokens = malloc((n_tokens ? n_tokens : 1) * sizeof *tokens);
    if (!tokens) goto done;
    st = nexttok_tokenizer_encode(tokenizer, prompt, strlen(prompt), NEXTTOK_ENCODE_ADD_SPECIAL,
                                  tokens, n_tokens, &n_tokens);
    if (st != NEXTTOK_OK) {
        rc = fail("tokenizing", st);
        goto done;
    }

    /* 3. A session (default context and threads) and one batched feed. */
    if ((st = nexttok_session_create(model, NULL, &session)) != NEXTTOK_OK) {
        rc = fail("creating a session", st);
        goto done;
    }
    if ((st = nexttok_session_feed(session, tokens, n_tokens, NULL, 0)) != NEXTTOK_OK) {
        rc = fail("feeding the prompt", st);
        goto done;
    }

    /* 4. The five most probable next tokens at temperature 1. */
    nexttok_token_prob top[5];
    size_t n_top = 0;
    if ((st = nexttok_session_topk_get(session, 1.0f, 5, top, &n_top)) != NEXTTOK_OK) {
        rc = fail("top-5", st);
        goto done;
    }
    printf("%zu prompt tokens; next token:\n", n_tokens);
    for (size_t i = 0; i < n_top; i++) {
        char piece[128];
        size_t len = 0;
        if (nexttok_tokenizer_piece_get(tokenizer, top[i].id, piece, sizeof piece, &len) != NEXTTOK_OK)
            len = 0;
        printf("  %6d  %.4f  '%.*s'\n", (int)top[i].id, (double)top[i].prob, (int)len, piece);
    }
    rc = 0;

done:
    /* Free in reverse order; every free accepts NULL. */
    free(tokens);
    nexttok_session_free(session);
    nexttok_tokenizer_free(tokenizer);
    nexttok_model_free(model);
    return rc;
}
