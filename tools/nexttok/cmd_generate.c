/*
 * nexttok generate MODEL --text T -n N [sampling options]
 *
 * Prints the prompt, then streams the continuation through a
 * nexttok_decoder (whole UTF-8 characters only), stopping after N tokens
 * or at end-of-sequence. Tokens are drawn by a nexttok_sampler_chain built
 * from the options, in the order --samplers gives. With --choice (or
 * --choices-file) a nexttok_constraint masks every draw, so the
 * continuation is exactly one of the candidates.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "args.h"
#include "commands.h"
#include "nexttok.h"
#include "session_setup.h"

#define DEFAULT_N 50
/* One token's text; a piece longer than this is reported, not cut. */
#define TEXT_CAP 65536
#define DEFAULT_SAMPLERS "penalties,temperature,top-k,typical,top-p,min-p"
#define MAX_BIASES 256
#define MAX_STAGES 16
#define MAX_CHOICES 1024

static void usage(void)
{
    printf("usage: nexttok generate MODEL (--text T | --text-file F | --tokens 1,2,3) [-n N]\n"
           "                       [sampling options] [--threads T] [--ctx N]\n"
           "                       [--precision fast|exact|portable] [--kv-type f32|f16|q8_0]\n"
           "                       [--context-shift N] [--snapshot-in F] [--snapshot-out F]\n\n"
           "Prints the prompt followed by up to N (default %d) generated tokens, stopping\n"
           "at end-of-sequence. Each token is drawn by a chain of stages (nexttok.h gives\n"
           "each stage's exact rule); a stage left at its neutral value is left out.\n\n"
           "  --temp T               temperature (default 1); 0 = greedy (arg-max)\n"
           "  --top-k K              keep the K most probable (0 = off, default)\n"
           "  --top-p P              keep the smallest set reaching mass P (1 = off)\n"
           "  --min-p P              keep tokens with p >= P * p_max (0 = off)\n"
           "  --typical P            locally typical sampling with mass P (1 = off)\n"
           "  --repeat-penalty R     divide positive / multiply negative logits of tokens\n"
           "                         in the window by R (1 = off, default)\n"
           "  --repeat-last-n N      the penalties' window: last N tokens, prompt\n"
           "                         included (default 64; 0 = no penalties)\n"
           "  --frequency-penalty F  subtract F per occurrence in the window (0 = off)\n"
           "  --presence-penalty P   subtract P once from tokens in the window (0 = off)\n"
           "  --logit-bias ID(+|-)B  add B to token ID's logit (-inf bans it); repeatable\n"
           "  --samplers LIST        the filters' order, comma-separated; logit bias\n"
           "                         always comes first (default\n"
           "                         %s)\n"
           "  --seed S               the generator's seed (default 0, so runs repeat)\n"
           "  --choice TEXT          a candidate continuation; repeatable. The output is\n"
           "                         then exactly the prompt and one candidate\n"
           "  --choices-file F       candidates, one a line (empty lines skipped)\n\n"
           "With --temp 0 the chain is the penalties and bias, then greedy; otherwise the\n"
           "listed filters, then a seeded draw.\n\n"
           "  --context-shift N      when the context is full, keep the first N tokens,\n"
           "                         drop half of the rest and go on (instead of refusing\n"
           "                         a prompt and -n that do not fit)\n"
           "  --snapshot-in F        continue the session saved in F (its context, KV type\n"
           "                         and policy) instead of a new one; the prompt is then\n"
           "                         optional and fed after the saved tokens\n"
           "  --snapshot-out F       save the session, every printed token fed, to F\n\n"
           "With candidates (up to %d), the prompt must be text; its trailing white space\n"
           "moves to the front of each candidate (as lm-evaluation-harness splits them),\n"
           "an allowed-token mask ahead of the chain admits only tokens that continue a\n"
           "candidate, and generation ends when one is complete; -n does not apply. Where\n"
           "a candidate is a prefix of another, end-of-sequence may end it there.\n",
           DEFAULT_N, DEFAULT_SAMPLERS, MAX_CHOICES);
}

typedef struct gen_options {
    int64_t n_new;
    float temperature, top_p, min_p, typical, repeat, frequency, presence;
    int64_t top_k, last_n;
    uint64_t seed;
    const char *samplers;
    nexttok_logit_bias biases[MAX_BIASES];
    size_t n_biases;
    const char *choices[MAX_CHOICES]; /* --choice values, then the file's lines */
    size_t n_choices;
    const char *choices_file;
    char *choices_data; /* the file's contents, split in place (free()) */
    const char *snapshot_out; /* feed the last token too, and save there */
    bool shifting;            /* the session shifts a full context */
} gen_options;

/* "ID+B", "ID-B" or "ID-inf" (llama.cpp's --logit-bias form). */
static int parse_bias(const char *v, gen_options *o)
{
    const char *sign = v + strspn(v, "0123456789");
    if (sign == v || (*sign != '+' && *sign != '-')) return 0;
    char id_text[16];
    size_t id_len = (size_t)(sign - v);
    if (id_len >= sizeof id_text) return 0;
    memcpy(id_text, v, id_len);
    id_text[id_len] = '\0';
    int64_t id = 0;
    float bias = 0.0f;
    if (!nt_cli_parse_i64(id_text, 0, INT32_MAX, &id)) return 0;
    if (strcmp(sign, "-inf") == 0) bias = -INFINITY;
    else if (!nt_cli_parse_f32(sign, -1e30f, 1e30f, &bias)) return 0;
    o->biases[o->n_biases++] = (nexttok_logit_bias){(int32_t)id, bias};
    return 1;
}

static const char *const stage_names[] = {"penalties", "temperature", "top-k", "top_k", "top-p",
                                          "top_p", "min-p", "min_p", "typical", "typ_p"};

static int stage_known(const char *name, size_t len)
{
    for (size_t k = 0; k < sizeof stage_names / sizeof stage_names[0]; k++)
        if (len == strlen(stage_names[k]) && memcmp(name, stage_names[k], len) == 0) return 1;
    return 0;
}

/* Parse the sampling options; 1 consumed, 0 not one of them, -1 error. */
static int sampling_option(int argc, char **argv, int *i, gen_options *o)
{
    /* --n-predict is -n's long name; a bad value is reported as -n's. */
    int r = nt_cli_opt_i64(argc, argv, i, "generate", "-n", 0, INT32_MAX, "a token count >= 0",
                           &o->n_new);
    const char *v = NULL;
    if (r == 0 && (r = nt_cli_opt_value(argc, argv, i, "--n-predict", &v)) > 0 &&
        !nt_cli_parse_i64(v, 0, INT32_MAX, &o->n_new)) {
        nt_cli_usage_fail("generate", "-n: '%s' is not a token count >= 0", v);
        return -1;
    }
    if (r == 0)
        r = nt_cli_opt_f32(argc, argv, i, "generate", "--temp", 0.0f, 1e6f, "a temperature >= 0",
                           &o->temperature);
    if (r == 0)
        r = nt_cli_opt_u64(argc, argv, i, "generate", "--seed", "an unsigned 64-bit integer",
                           &o->seed);
    if (r == 0)
        r = nt_cli_opt_i64(argc, argv, i, "generate", "--top-k", 0, INT32_MAX,
                           "a count >= 0 (0 = off)", &o->top_k);
    if (r == 0)
        r = nt_cli_opt_f32(argc, argv, i, "generate", "--top-p", 0.0f, 1.0f,
                           "a probability in [0, 1]", &o->top_p);
    if (r == 0)
        r = nt_cli_opt_f32(argc, argv, i, "generate", "--min-p", 0.0f, 1.0f,
                           "a probability in [0, 1]", &o->min_p);
    if (r == 0)
        r = nt_cli_opt_f32(argc, argv, i, "generate", "--typical", 0.0f, 1.0f,
                           "a probability in [0, 1]", &o->typical);
    if (r == 0)
        r = nt_cli_opt_f32(argc, argv, i, "generate", "--repeat-penalty", 0.0f, 1e6f,
                           "a penalty > 0 (1 = off)", &o->repeat);
    if (r == 0)
        r = nt_cli_opt_i64(argc, argv, i, "generate", "--repeat-last-n", 0, 1 << 20,
                           "a token count >= 0", &o->last_n);
    if (r == 0)
        r = nt_cli_opt_f32(argc, argv, i, "generate", "--frequency-penalty", -1e6f, 1e6f,
                           "a number", &o->frequency);
    if (r == 0)
        r = nt_cli_opt_f32(argc, argv, i, "generate", "--presence-penalty", -1e6f, 1e6f,
                           "a number", &o->presence);
    if (r == 0 && (r = nt_cli_opt_value(argc, argv, i, "--samplers", &v)) > 0) {
        /* Checked now, so a typo is reported before the model loads. */
        for (const char *q = v; *q;) {
            size_t len = strcspn(q, ",;");
            if (len && !stage_known(q, len)) {
                nt_cli_usage_fail("generate",
                                  "--samplers: unknown stage '%.*s' (penalties, temperature, top-k, "
                                  "typical, top-p, min-p)",
                                  (int)len, q);
                return -1;
            }
            q += len;
            if (*q) q++;
        }
        o->samplers = v;
    }
    if (r == 0 && (r = nt_cli_opt_value(argc, argv, i, "--choice", &v)) > 0) {
        if (o->n_choices == MAX_CHOICES) {
            nt_cli_usage_fail("generate", "--choice: more than %d candidates", MAX_CHOICES);
            return -1;
        }
        o->choices[o->n_choices++] = v;
    }
    if (r == 0 && (r = nt_cli_opt_value(argc, argv, i, "--choices-file", &v)) > 0) o->choices_file = v;
    if (r == 0 && (r = nt_cli_opt_value(argc, argv, i, "--logit-bias", &v)) > 0) {
        if (o->n_biases == MAX_BIASES) {
            nt_cli_usage_fail("generate", "--logit-bias: more than %d entries", MAX_BIASES);
            return -1;
        }
        if (!parse_bias(v, o)) {
            nt_cli_usage_fail("generate", "--logit-bias: '%s' is not ID+BIAS, ID-BIAS or ID-inf", v);
            return -1;
        }
    }
    return r;
}

/* Add the stage called `name`, one of stage_names (if its option is not
 * neutral). 0 or an exit status. */
static int add_stage(nexttok_sampler_chain *c, const char *name, size_t len, const gen_options *o)
{
#define IS(s) (len == strlen(s) && memcmp(name, s, len) == 0)
    nexttok_status st = NEXTTOK_OK;
    int greedy = o->temperature == 0.0f;
    if (IS("penalties")) {
        if (o->last_n > 0 && (o->repeat != 1.0f || o->frequency != 0.0f || o->presence != 0.0f))
            st = nexttok_sampler_chain_penalties_add(c, (int32_t)o->last_n, o->repeat, o->frequency,
                                                     o->presence);
    } else if (IS("temperature")) {
        if (!greedy && o->temperature != 1.0f) st = nexttok_sampler_chain_temperature_add(c, o->temperature);
    } else if (IS("top-k") || IS("top_k")) {
        if (!greedy && o->top_k > 0) st = nexttok_sampler_chain_top_k_add(c, (int32_t)o->top_k);
    } else if (IS("top-p") || IS("top_p")) {
        if (!greedy && o->top_p < 1.0f) st = nexttok_sampler_chain_top_p_add(c, o->top_p);
    } else if (IS("min-p") || IS("min_p")) {
        if (!greedy && o->min_p > 0.0f) st = nexttok_sampler_chain_min_p_add(c, o->min_p);
    } else if (IS("typical") || IS("typ_p")) {
        if (!greedy && o->typical < 1.0f) st = nexttok_sampler_chain_typical_add(c, o->typical);
    }
#undef IS
    if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "building the sampler chain");
    return 0;
}

/* The chain of the options; with `mask`, an allowed-token mask as stage 0,
 * so every filter after it sees only allowed tokens. */
static int build_chain(int32_t n_vocab, const gen_options *o, int mask, nexttok_sampler_chain **out)
{
    nexttok_sampler_chain_params cp;
    nexttok_sampler_chain_params_init(&cp, sizeof cp);
    cp.seed = o->seed;
    nexttok_sampler_chain *c = NULL;
    nexttok_status st = nexttok_sampler_chain_create(n_vocab, &cp, &c);
    if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "creating the sampler chain");
    int rc = 0;
    if (mask && (st = nexttok_sampler_chain_mask_add(c)) != NEXTTOK_OK)
        rc = nt_cli_api_fail(st, "building the sampler chain");
    if (rc == 0 && o->n_biases) {
        st = nexttok_sampler_chain_logit_bias_add(c, o->biases, o->n_biases);
        if (st != NEXTTOK_OK) rc = nt_cli_api_fail(st, "--logit-bias");
    }
    const char *list = o->samplers ? o->samplers : DEFAULT_SAMPLERS;
    for (const char *p = list; rc == 0 && *p;) {
        size_t len = strcspn(p, ",;");
        if (len) rc = add_stage(c, p, len, o);
        p += len;
        if (*p) p++;
    }
    if (rc == 0) {
        st = o->temperature == 0.0f ? nexttok_sampler_chain_greedy_add(c) : nexttok_sampler_chain_dist_add(c);
        if (st != NEXTTOK_OK) rc = nt_cli_api_fail(st, "building the sampler chain");
    }
    if (rc) {
        nexttok_sampler_chain_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* Push one token through the decoder; print its text when `print`. */
static int decode_token(nexttok_decoder *decoder, int32_t token, char *text, int print)
{
    size_t len = 0;
    nexttok_status st = nexttok_decoder_push(decoder, token, text, TEXT_CAP, &len);
    if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "decoding token %d", (int)token);
    if (print && len) {
        fwrite(text, 1, len, stdout);
        fflush(stdout); /* stream: show each token as it comes */
    }
    return 0;
}

static int generate(const nexttok_model *model, const nexttok_tokenizer *tokenizer,
                    nexttok_session *session, const nt_cli_input *input, const int32_t *prompt,
                    size_t n_prompt, const gen_options *o)
{
    int32_t n_ctx = nexttok_session_n_ctx_get(session);
    /* The last generated token is printed, never fed (unless saved): N new
     * tokens need n_prompt + N - 1 positions after the session's. Refuse
     * up front rather than stop short, unless the context shifts. */
    const int64_t held = nexttok_session_position_get(session);
    const int64_t last = o->snapshot_out ? 0 : 1;
    if (!o->shifting && (held + (int64_t)n_prompt > n_ctx ||
                         (o->n_new > 0 && held + (int64_t)n_prompt + o->n_new - last > (int64_t)n_ctx)))
        return nt_cli_fail("context overflow: %lld tokens held, a prompt of %zu tokens and -n %lld need %lld "
                           "positions, the context holds %d (--context-shift N lets it go on)",
                           (long long)held, n_prompt, (long long)o->n_new,
                           (long long)(held + (int64_t)n_prompt + (o->n_new > 0 ? o->n_new - last : 0)), (int)n_ctx);

    nexttok_status st = nexttok_session_feed(session, prompt, n_prompt, NULL, 0);
    if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "feeding the prompt (%zu tokens)", n_prompt);

    nexttok_sampler_chain *chain = NULL;
    nexttok_decoder *decoder = NULL;
    char *text = malloc(TEXT_CAP);
    int rc = 0;
    if (!text) return nt_cli_fail("out of memory");
    if ((rc = build_chain(nexttok_model_n_vocab_get(model), o, 0, &chain)) != 0) goto done;
    /* The prompt counts for the penalties, as in llama.cpp. */
    for (size_t i = 0; i < n_prompt; i++) {
        st = nexttok_sampler_chain_accept(chain, prompt[i]);
        if (st != NEXTTOK_OK) {
            rc = nt_cli_api_fail(st, "prompt token %zu", i);
            goto done;
        }
    }
    st = nexttok_decoder_create(tokenizer, NEXTTOK_DECODE_SKIP_SPECIAL, &decoder);
    if (st != NEXTTOK_OK) {
        rc = nt_cli_api_fail(st, "creating the decoder");
        goto done;
    }
    /* The prompt goes through the decoder too, so the continuation is
     * decoded in context (no leading-space stripping mid-text). Given text
     * is printed as given; given ids are printed as they decode. */
    int print_prompt = input->tokens != NULL;
    if (!print_prompt && input->text_data) {
        fwrite(input->text_data, 1, input->text_len, stdout);
        fflush(stdout);
    }
    for (size_t i = 0; i < n_prompt; i++)
        if ((rc = decode_token(decoder, prompt[i], text, print_prompt)) != 0) goto done;

    int32_t eos = nexttok_tokenizer_eos_get(tokenizer);
    for (int64_t i = 0; i < o->n_new; i++) {
        int32_t token = -1;
        st = nexttok_sampler_chain_sample(chain, session, &token);
        if (st == NEXTTOK_OK) st = nexttok_sampler_chain_accept(chain, token);
        if (st != NEXTTOK_OK) {
            rc = nt_cli_api_fail(st, "sampling token %lld", (long long)i + 1);
            goto done;
        }
        if (eos >= 0 && token == eos) break;
        if ((rc = decode_token(decoder, token, text, 1)) != 0) goto done;
        if (i + 1 < o->n_new || o->snapshot_out) {
            st = nexttok_session_feed(session, &token, 1, NULL, 0);
            if (st != NEXTTOK_OK) {
                rc = nt_cli_api_fail(st, "feeding generated token %d", (int)token);
                goto done;
            }
        }
    }
    size_t len = 0;
    st = nexttok_decoder_flush(decoder, text, TEXT_CAP, &len);
    if (st != NEXTTOK_OK) {
        rc = nt_cli_api_fail(st, "flushing the decoder");
        goto done;
    }
    fwrite(text, 1, len, stdout);
    putchar('\n');
    if (fflush(stdout) != 0 || ferror(stdout)) rc = nt_cli_fail("cannot write the output");
    if (rc == 0 && o->snapshot_out && (st = nexttok_session_snapshot_save(session, o->snapshot_out)) != NEXTTOK_OK)
        rc = nt_cli_api_fail(st, "saving the session to '%s'", o->snapshot_out);
done:
    nexttok_decoder_free(decoder);
    nexttok_sampler_chain_free(chain);
    free(text);
    return rc;
}

/* Generation under a constraint: the context's tokens are fed, and each
 * draw is masked to the tokens that continue a candidate (and to
 * end-of-sequence where a candidate is complete but a longer one goes on),
 * until a candidate is complete. */
static int generate_choice(const nexttok_model *model, const nexttok_tokenizer *tokenizer,
                           nexttok_session *session, const nt_cli_input *input, const gen_options *o)
{
    nexttok_constraint *constraint = NULL;
    nexttok_sampler_chain *chain = NULL;
    nexttok_decoder *decoder = NULL;
    size_t lens[MAX_CHOICES];
    for (size_t k = 0; k < o->n_choices; k++) lens[k] = strlen(o->choices[k]);
    int32_t allowed[MAX_CHOICES + 1]; /* a trie node has at most one child per candidate */
    char *text = malloc(TEXT_CAP);
    int rc = 0;
    if (!text) return nt_cli_fail("out of memory");
    nexttok_status st = nexttok_constraint_choices_create(tokenizer, input->text_data, input->text_len,
                                                          o->choices, lens, o->n_choices, &constraint);
    if (st != NEXTTOK_OK) {
        rc = nt_cli_api_fail(st, "building the constraint of %zu candidates", o->n_choices);
        goto done;
    }
    const int32_t *ctx = NULL;
    size_t n_ctx = 0;
    if ((st = nexttok_constraint_context_get(constraint, &ctx, &n_ctx)) != NEXTTOK_OK ||
        (st = nexttok_session_feed(session, ctx, n_ctx, NULL, 0)) != NEXTTOK_OK) {
        rc = nt_cli_api_fail(st, "feeding the prompt (%zu tokens)", n_ctx);
        goto done;
    }
    if ((rc = build_chain(nexttok_model_n_vocab_get(model), o, 1, &chain)) != 0) goto done;
    if ((st = nexttok_decoder_create(tokenizer, NEXTTOK_DECODE_SKIP_SPECIAL, &decoder)) != NEXTTOK_OK) {
        rc = nt_cli_api_fail(st, "creating the decoder");
        goto done;
    }
    for (size_t i = 0; i < n_ctx; i++) {
        if ((st = nexttok_sampler_chain_accept(chain, ctx[i])) != NEXTTOK_OK) {
            rc = nt_cli_api_fail(st, "prompt token %zu", i);
            goto done;
        }
        if ((rc = decode_token(decoder, ctx[i], text, 0)) != 0) goto done;
    }
    /* The prompt's trailing white space now leads each candidate's tokens. */
    size_t kept = input->text_len;
    while (kept > 0 && input->text_data[kept - 1] && strchr(" \t\n\r\v\f", input->text_data[kept - 1])) kept--;
    fwrite(input->text_data, 1, kept, stdout);
    fflush(stdout);

    const int32_t eos = nexttok_tokenizer_eos_get(tokenizer);
    for (int64_t i = 1;; i++) {
        int32_t more = 0;
        const int32_t matched = nexttok_constraint_matched_get(constraint, &more);
        if (matched >= 0 && !more) break;
        size_t n = 0;
        if ((st = nexttok_constraint_allowed_get(constraint, allowed, MAX_CHOICES, &n)) != NEXTTOK_OK) {
            rc = nt_cli_api_fail(st, "listing the allowed tokens");
            goto done;
        }
        if (matched >= 0 && eos >= 0) allowed[n++] = eos;
        int32_t token = -1;
        if ((st = nexttok_sampler_chain_mask_tokens_set(chain, 0, allowed, n)) != NEXTTOK_OK ||
            (st = nexttok_sampler_chain_sample(chain, session, &token)) != NEXTTOK_OK) {
            rc = nt_cli_api_fail(st, "sampling token %lld", (long long)i);
            goto done;
        }
        if (matched >= 0 && token == eos) break;
        if ((st = nexttok_constraint_accept(constraint, token)) != NEXTTOK_OK ||
            (st = nexttok_sampler_chain_accept(chain, token)) != NEXTTOK_OK) {
            rc = nt_cli_api_fail(st, "taking token %d", (int)token);
            goto done;
        }
        if ((rc = decode_token(decoder, token, text, 1)) != 0) goto done;
        /* Fed only when another draw needs its logits. */
        nexttok_constraint_matched_get(constraint, &more);
        if (more && (st = nexttok_session_feed(session, &token, 1, NULL, 0)) != NEXTTOK_OK) {
            rc = nt_cli_api_fail(st, "feeding generated token %d", (int)token);
            goto done;
        }
    }
    size_t len = 0;
    if ((st = nexttok_decoder_flush(decoder, text, TEXT_CAP, &len)) != NEXTTOK_OK) {
        rc = nt_cli_api_fail(st, "flushing the decoder");
        goto done;
    }
    fwrite(text, 1, len, stdout);
    putchar('\n');
    if (fflush(stdout) != 0 || ferror(stdout)) rc = nt_cli_fail("cannot write the output");
done:
    nexttok_decoder_free(decoder);
    nexttok_sampler_chain_free(chain);
    nexttok_constraint_free(constraint);
    free(text);
    return rc;
}

/* Add the lines of --choices-file to the candidates (empty lines and a
 * final newline skipped; a CR before the newline dropped). */
static int read_choices(gen_options *o)
{
    size_t size = 0;
    int rc = nt_cli_read_file(o->choices_file, &o->choices_data, &size);
    if (rc) return rc;
    if (memchr(o->choices_data, '\0', size))
        return nt_cli_fail("%s: a NUL byte in a candidate", o->choices_file);
    char *line = o->choices_data, *end = o->choices_data + size;
    while (line < end) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        char *stop = nl ? nl : end;
        if (stop > line && stop[-1] == '\r') stop--;
        if (stop > line) {
            if (o->n_choices == MAX_CHOICES)
                return nt_cli_fail("%s: more than %d candidates", o->choices_file, MAX_CHOICES);
            *stop = '\0';
            o->choices[o->n_choices++] = line;
        }
        line = nl ? nl + 1 : end;
    }
    if (o->n_choices == 0) return nt_cli_fail("%s: no candidates in the file", o->choices_file);
    return 0;
}

typedef struct generate_options {
    nt_cli_setup setup;
    gen_options gen;
    const char *snapshot_in;
    int64_t n_keep; /* --context-shift N, or -1 */
} generate_options;

static int generate_option(int argc, char **argv, int *i, void *ctx)
{
    generate_options *o = ctx;
    int r = nt_cli_setup_option(argc, argv, i, &o->setup);
    if (r != 0) return r;
    if ((r = nt_cli_opt_value(argc, argv, i, "--snapshot-in", &o->snapshot_in)) != 0) return r;
    if ((r = nt_cli_opt_value(argc, argv, i, "--snapshot-out", &o->gen.snapshot_out)) != 0) return r;
    if ((r = nt_cli_opt_i64(argc, argv, i, "generate", "--context-shift", 0, INT32_MAX,
                            "a count of kept tokens >= 0", &o->n_keep)) != 0)
        return r;
    return sampling_option(argc, argv, i, &o->gen);
}

/* The session --snapshot-in saved, on the --threads given. */
static int restore_session(nt_cli_setup *s, const char *path)
{
    nexttok_session_params p;
    nexttok_session_params_init(&p, sizeof p);
    p.n_threads = s->opts.n_threads;
    nexttok_status st = nexttok_session_restore_file(s->model, path, &p, &s->session);
    if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "restoring the session from '%s'", path);
    return 0;
}

int nt_cli_generate(int argc, char **argv)
{
    const char *path = NULL;
    generate_options o = {.setup = {.cmd = "generate"},
                          .gen = {.n_new = DEFAULT_N, .temperature = 1.0f, .top_p = 1.0f,
                                  .typical = 1.0f, .repeat = 1.0f, .last_n = 64},
                          .n_keep = -1};
    nt_cli_setup *s = &o.setup;
    int rc = 0;
    if (!nt_cli_scan_args(argc, argv, "generate", usage, generate_option, &o, &path, &rc)) return rc;
    if (!path) return nt_cli_usage_fail("generate", "no model file given");
    if (!nt_cli_setup_has_input(s) && !o.snapshot_in)
        return nt_cli_usage_fail("generate", "no prompt: give --text, --text-file or --tokens");
    const int constrained = o.gen.n_choices > 0 || o.gen.choices_file;
    if (constrained && s->input.tokens)
        return nt_cli_usage_fail("generate", "--choice needs the prompt as text (--text or --text-file), "
                                             "not --tokens");
    if (constrained && (o.snapshot_in || o.gen.snapshot_out))
        return nt_cli_usage_fail("generate", "--choice does not combine with --snapshot-in or --snapshot-out");
    if (o.snapshot_in && o.n_keep >= 0)
        return nt_cli_usage_fail("generate", "--context-shift with --snapshot-in: the snapshot's policy applies");
    if ((rc = nt_cli_setup_input(s)) != 0) return rc;
    if (o.gen.choices_file && (rc = read_choices(&o.gen)) != 0) goto done;
    if (o.n_keep >= 0) {
        s->opts.context_full = NEXTTOK_CONTEXT_SHIFT;
        s->opts.n_keep = (int32_t)o.n_keep;
    }

    /* Printing text always needs the tokenizer, whatever the input. */
    if ((rc = nt_cli_setup_load(s, path, NT_CLI_TOKENIZER_ALWAYS)) != 0) goto done;
    if ((rc = o.snapshot_in ? restore_session(s, o.snapshot_in) : nt_cli_setup_session(s)) != 0) goto done;
    if (constrained) {
        rc = generate_choice(s->model, s->tokenizer, s->session, &s->input, &o.gen);
        goto done;
    }
    /* a restored session shifts when it was made to */
    nexttok_session_info si = {.struct_size = sizeof si};
    if (nexttok_session_info_get(s->session, &si) != NEXTTOK_OK) {
        rc = nt_cli_api_fail(NEXTTOK_ERR_STATE, "session facts");
        goto done;
    }
    o.gen.shifting = si.context_full == NEXTTOK_CONTEXT_SHIFT;
    rc = generate(s->model, s->tokenizer, s->session, &s->input, s->tokens, s->n_tokens, &o.gen);
done:
    free(o.gen.choices_data);
    nt_cli_setup_release(s);
    return rc;
}
