/*
 * generate: stream a continuation of a prompt, drawn by a sampler chain.
 *
 *   generate MODEL.gguf PROMPT [N [SEED]]
 *
 * Prints the prompt, then up to N (default 50) tokens as they come,
 * stopping early at end-of-sequence. Each token is drawn by a chain of
 * the usual controls: a repetition penalty of 1.1 over the last 64 tokens
 * (the prompt included), temperature 0.8, top-k 40, top-p 0.95, then a
 * draw seeded with SEED (default 0). One seed gives one text on every run;
 * `nexttok generate MODEL --text PROMPT -n N --seed SEED --temp 0.8
 * --top-k 40 --top-p 0.95 --repeat-penalty 1.1` prints the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nexttok.h>

static int fail(const char *what, nexttok_status status)
{
    fprintf(stderr, "generate: %s: %s: %s\n", what, nexttok_status_describe(status), nexttok_error_message());
    return 1;
}

/* The chain's stages run in the order they are added; dist draws last. */
static nexttok_status make_chain(int32_t n_vocab, uint64_t seed, nexttok_sampler_chain **out)
{
    nexttok_sampler_chain_params params;
    nexttok_sampler_chain_params_init(&params, sizeof params);
    params.seed = seed;
    nexttok_sampler_chain *chain = NULL;
    nexttok_status st = nexttok_sampler_chain_create(n_vocab, &params, &chain);
    if (st == NEXTTOK_OK) st = nexttok_sampler_chain_penalties_add(chain, 64, 1.1f, 0.0f, 0.0f);
    if (st == NEXTTOK_OK) st = nexttok_sampler_chain_temperature_add(chain, 0.8f);
    if (st == NEXTTOK_OK) st = nexttok_sampler_chain_top_k_add(chain, 40);
    if (st == NEXTTOK_OK) st = nexttok_sampler_chain_top_p_add(chain, 0.95f);
    if (st == NEXTTOK_OK) st = nexttok_sampler_chain_dist_add(chain);
    if (st != NEXTTOK_OK) {
        nexttok_sampler_chain_free(chain);
        return st;
    }
    *out = chain;
    return NEXTTOK_OK;
}

/* Write what the decoder has completed; a token may end mid-character,
 * and its bytes then wait for the next one. */
static nexttok_status print_token(nexttok_decoder *decoder, int32_t token, int print)
{
    char text[4096];
    size_t len = 0;
    nexttok_status st = nexttok_decoder_push(decoder, token, text, sizeof text, &len);
    if (st == NEXTTOK_OK && print) {
        fwrite(text, 1, len, stdout);
        fflush(stdout); /* show each token as it comes */
    }
    return st;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: generate MODEL.gguf PROMPT [N [SEED]]\n");
        return 2;
    }
    const char *prompt = argv[2];
    const long n_new = argc > 3 ? atol(argv[3]) : 50;
    const uint64_t seed = argc > 4 ? strtoull(argv[4], NULL, 10) : 0;
    nexttok_model *model = NULL;
    nexttok_tokenizer *tokenizer = NULL;
    nexttok_session *session = NULL;
    nexttok_sampler_chain *chain = NULL;
    nexttok_decoder *decoder = NULL;
    int32_t *tokens = NULL;
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

    /* Tokenize with the vocabulary's BOS, asking first how many ids. */
    size_t n_tokens = 0;
    st = nexttok_tokenizer_encode(tokenizer, prompt, strlen(prompt), NEXTTOK_ENCODE_ADD_SPECIAL, NULL, 0, &n_tokens);
    if (st != NEXTTOK_OK && st != NEXTTOK_ERR_BUFFER_TOO_SMALL) {
        rc = fail("tokenizing the prompt", st);
        goto done;
    }
    tokens = malloc((n_tokens ? n_tokens : 1) * sizeof *tokens);
    if (!tokens) {
        fprintf(stderr, "generate: out of memory\n");
        goto done;
    }
    if ((st = nexttok_tokenizer_encode(tokenizer, prompt, strlen(prompt), NEXTTOK_ENCODE_ADD_SPECIAL, tokens,
                                       n_tokens, &n_tokens)) != NEXTTOK_OK) {
        rc = fail("tokenizing the prompt", st);
        goto done;
    }
    if ((st = nexttok_session_feed(session, tokens, n_tokens, NULL, 0)) != NEXTTOK_OK) {
        rc = fail("feeding the prompt", st);
        goto done;
    }

    if ((st = make_chain(nexttok_model_n_vocab_get(model), seed, &chain)) != NEXTTOK_OK) {
        rc = fail("building the sampler chain", st);
        goto done;
    }
    /* The prompt counts for the repetition penalty, and goes through the
     * decoder unprinted so the continuation decodes in its context. */
    if ((st = nexttok_decoder_create(tokenizer, NEXTTOK_DECODE_SKIP_SPECIAL, &decoder)) != NEXTTOK_OK) {
        rc = fail("creating the decoder", st);
        goto done;
    }
    for (size_t i = 0; i < n_tokens && st == NEXTTOK_OK; i++) {
        st = nexttok_sampler_chain_accept(chain, tokens[i]);
        if (st == NEXTTOK_OK) st = print_token(decoder, tokens[i], 0);
    }
    if (st != NEXTTOK_OK) {
        rc = fail("taking in the prompt", st);
        goto done;
    }
    fputs(prompt, stdout);

    const int32_t eos = nexttok_tokenizer_eos_get(tokenizer);
    for (long i = 0; i < n_new; i++) {
        int32_t token = -1;
        if ((st = nexttok_sampler_chain_sample(chain, session, &token)) != NEXTTOK_OK ||
            (st = nexttok_sampler_chain_accept(chain, token)) != NEXTTOK_OK) {
            rc = fail("drawing a token", st);
            goto done;
        }
        if (token == eos) break;
        if ((st = print_token(decoder, token, 1)) != NEXTTOK_OK) {
            rc = fail("decoding a token", st);
            goto done;
        }
        /* The last token is printed, not fed: nothing would read its logits. */
        if (i + 1 < n_new && (st = nexttok_session_feed(session, &token, 1, NULL, 0)) != NEXTTOK_OK) {
            rc = fail("feeding a generated token", st);
            goto done;
        }
    }
    char rest[64];
    size_t len = 0;
    if ((st = nexttok_decoder_flush(decoder, rest, sizeof rest, &len)) != NEXTTOK_OK) {
        rc = fail("flushing the decoder", st);
        goto done;
    }
    fwrite(rest, 1, len, stdout);
    putchar('\n');
    rc = 0;

done:
    nexttok_decoder_free(decoder);
    nexttok_sampler_chain_free(chain);
    free(tokens);
    nexttok_session_free(session);
    nexttok_tokenizer_free(tokenizer);
    nexttok_model_free(model);
    return rc;
}
