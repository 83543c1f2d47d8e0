/*
 * npc_dialogue: a game loop in which several NPCs talk, sharing one model
 * and one thread pool.
 *
 *   npc_dialogue MODEL.gguf [FRAMES [SEED [BUDGET_US]]]
 *
 * Each frame gives the model at most BUDGET_US microseconds of work
 * (default 4000), as a game would between drawing two frames:
 *   - first the shared persona prompt is fed under that budget, a slice a
 *     frame (nexttok_session_feed_ex stops at the deadline and resumes);
 *   - then every NPC is forked from it (copy-on-write: the persona's KV
 *     rows are shared, not copied) and given its own opening line;
 *   - then each frame draws one token for every NPC still talking and
 *     feeds them all in one batched pass (nexttok_sessions_feed).
 * The guard may only answer "attack", "flee" or "trade" (a constraint
 * masks its draws). Half-way, the merchant is saved to a snapshot, freed
 * and restored from it, as a save game would, and must continue with the
 * identical distribution. The end prints each NPC's line and a summary of
 * the frame times.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nexttok.h>

#define N_NPC 4
#define MAX_TOKENS 24 /* tokens an NPC says at most */

static const char persona[] =
    "The village of Oakvale lies at the edge of a dark forest. Travellers stop at its inn, where the "
    "guard, the merchant, the smith and the old farmer meet every evening and talk about the day.";
static const char *const names[N_NPC] = {"guard", "merchant", "smith", "farmer"};
static const char *const openings[N_NPC] = {
    " A wolf comes out of the forest. The guard shouts:",
    " The merchant looks at the stranger's coins and says:",
    " The smith puts down his hammer and says:",
    " The old farmer looks at the sky and says:",
};
static const char *const replies[] = {" attack", " flee", " trade"};

typedef struct npc {
    nexttok_session *session;
    nexttok_sampler_chain *chain;
    nexttok_decoder *decoder;
    nexttok_constraint *constraint; /* the guard's, or NULL */
    char line[1024];
    size_t len;
    int n_said;
    int done;
} npc;

static int fail(const char *what, nexttok_status status)
{
    fprintf(stderr, "npc_dialogue: %s: %s: %s\n", what, nexttok_status_describe(status), nexttok_error_message());
    return 1;
}

#define TRY(call, what)                                 \
    do {                                                \
        nexttok_status st_ = (call);                    \
        if (st_ != NEXTTOK_OK) return fail((what), st_); \
    } while (0)

/* Token ids of `text` (no BOS), into a malloc'd array. */
static int encode(const nexttok_tokenizer *tok, const char *text, uint32_t flags, int32_t **out, size_t *n)
{
    size_t need = 0;
    nexttok_status st = nexttok_tokenizer_encode(tok, text, strlen(text), flags, NULL, 0, &need);
    if (st != NEXTTOK_OK && st != NEXTTOK_ERR_BUFFER_TOO_SMALL) return fail("tokenizing", st);
    *out = malloc((need ? need : 1) * sizeof **out);
    if (!*out) return fail("tokenizing", NEXTTOK_ERR_NO_MEMORY);
    TRY(nexttok_tokenizer_encode(tok, text, strlen(text), flags, *out, need, n), "tokenizing");
    return 0;
}

static int make_chain(int32_t n_vocab, uint64_t seed, int mask, nexttok_sampler_chain **out)
{
    nexttok_sampler_chain_params p;
    nexttok_sampler_chain_params_init(&p, sizeof p);
    p.seed = seed;
    TRY(nexttok_sampler_chain_create(n_vocab, &p, out), "building a sampler chain");
    if (mask) TRY(nexttok_sampler_chain_mask_add(*out), "adding the reply mask");
    TRY(nexttok_sampler_chain_penalties_add(*out, 32, 1.15f, 0.0f, 0.0f), "adding penalties");
    TRY(nexttok_sampler_chain_temperature_add(*out, 0.9f), "adding temperature");
    TRY(nexttok_sampler_chain_top_k_add(*out, 40), "adding top-k");
    TRY(nexttok_sampler_chain_dist_add(*out), "adding the draw");
    return 0;
}

/* Draw the NPC's next token from its session's logits; *stop when its line
 * is over (end of sequence, a complete reply, or MAX_TOKENS). */
static int npc_draw(npc *c, int32_t eos, int32_t *token, int *stop)
{
    const float *logits = NULL;
    TRY(nexttok_session_logits_get(c->session, &logits), "reading logits");
    if (c->constraint) {
        int32_t allowed[64];
        size_t n = 0;
        TRY(nexttok_constraint_allowed_get(c->constraint, allowed, 64, &n), "listing the allowed replies");
        TRY(nexttok_sampler_chain_mask_tokens_set(c->chain, 0, allowed, n), "masking the draw");
    }
    const int32_t n_vocab = nexttok_sampler_chain_n_vocab_get(c->chain);
    TRY(nexttok_sampler_chain_logits_sample(c->chain, logits, (size_t)n_vocab, token), "drawing a token");
    TRY(nexttok_sampler_chain_accept(c->chain, *token), "accepting a token");
    *stop = *token == eos;
    if (c->constraint) {
        TRY(nexttok_constraint_accept(c->constraint, *token), "following the replies");
        int32_t more = 0;
        *stop = nexttok_constraint_matched_get(c->constraint, &more) >= 0 && !more;
    }
    if (*token != eos) {
        char piece[256];
        size_t len = 0;
        TRY(nexttok_decoder_push(c->decoder, *token, piece, sizeof piece, &len), "decoding a token");
        if (c->len + len < sizeof c->line) {
            memcpy(c->line + c->len, piece, len);
            c->len += len;
        }
    }
    if (++c->n_said >= MAX_TOKENS) *stop = 1;
    return 0;
}

/* Save the NPC to a snapshot, free it and restore it: the restored session
 * must give the same next distribution, byte for byte. */
static int npc_save_restore(npc *c, const nexttok_model *model, const nexttok_session_params *sp, size_t *bytes)
{
    const int32_t n_vocab = nexttok_model_n_vocab_get(model);
    const float *before = NULL;
    TRY(nexttok_session_logits_get(c->session, &before), "reading logits");
    float *copy = malloc((size_t)n_vocab * sizeof *copy);
    if (!copy) return fail("saving", NEXTTOK_ERR_NO_MEMORY);
    memcpy(copy, before, (size_t)n_vocab * sizeof *copy);
    size_t size = 0;
    nexttok_status st = nexttok_session_snapshot_write(c->session, NULL, 0, &size);
    void *buf = NULL;
    if (st == NEXTTOK_OK || st == NEXTTOK_ERR_BUFFER_TOO_SMALL) {
        buf = malloc(size);
        st = buf ? nexttok_session_snapshot_write(c->session, buf, size, &size) : NEXTTOK_ERR_NO_MEMORY;
    }
    if (st == NEXTTOK_OK) {
        nexttok_session_free(c->session);
        c->session = NULL;
        st = nexttok_session_restore(model, buf, size, sp, &c->session);
    }
    const float *after = NULL;
    if (st == NEXTTOK_OK) st = nexttok_session_logits_get(c->session, &after);
    int rc = st != NEXTTOK_OK ? fail("saving and restoring the merchant", st) : 0;
    if (!rc && memcmp(copy, after, (size_t)n_vocab * sizeof *copy) != 0) {
        fprintf(stderr, "npc_dialogue: the restored merchant's distribution differs\n");
        rc = 1;
    }
    *bytes = size;
    free(buf);
    free(copy);
    return rc;
}

static double ms(int64_t ns) { return (double)ns / 1e6; }

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 5) {
        fprintf(stderr, "usage: npc_dialogue MODEL.gguf [FRAMES [SEED [BUDGET_US]]]\n");
        return 2;
    }
    const long max_frames = argc > 2 ? atol(argv[2]) : 1000;
    const uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 10) : 0;
    const int64_t budget_ns = (argc > 4 ? atol(argv[4]) : 4000) * 1000;

    nexttok_model *model = NULL;
    nexttok_tokenizer *tok = NULL;
    nexttok_pool *pool = NULL;
    TRY(nexttok_model_load(argv[1], NULL, &model), "loading the model");
    TRY(nexttok_tokenizer_create(model, &tok), "creating the tokenizer");
    TRY(nexttok_pool_create(0, &pool), "creating the thread pool");
    const int32_t n_vocab = nexttok_model_n_vocab_get(model), eos = nexttok_tokenizer_eos_get(tok);

    /* NPC sessions only decode after their opening: small batches keep
     * their scratch small. */
    nexttok_session_params sp;
    nexttok_session_params_init(&sp, sizeof sp);
    sp.pool = pool;
    const int32_t trained = nexttok_model_n_ctx_train_get(model);
    sp.n_ctx = trained < 512 ? trained : 512;
    sp.n_batch = 32;
    nexttok_session *persona_s = NULL;
    TRY(nexttok_session_create(model, &sp, &persona_s), "creating the persona session");
    int32_t *persona_tok = NULL;
    size_t n_persona = 0, fed = 0;
    if (encode(tok, persona, NEXTTOK_ENCODE_ADD_SPECIAL, &persona_tok, &n_persona)) return 1;

    npc npcs[N_NPC];
    memset(npcs, 0, sizeof npcs);
    nexttok_feed_params fp;
    nexttok_feed_params_init(&fp, sizeof fp);
    fp.budget_ns = budget_ns;

    int64_t frame_max = 0, frame_sum = 0, prefill_max = 0;
    long frames = 0, prefill_frames = 0, tokens = 0, batched_frames = 0;
    int64_t decode_ns = 0;
    size_t snapshot_bytes = 0;
    int forked = 0, saved = 0;
    for (; frames < max_frames; frames++) {
        const int64_t t0 = nexttok_clock_ns();
        if (fed < n_persona) {
            /* the persona, a slice of at most the budget each frame */
            size_t n = 0;
            nexttok_status st = nexttok_session_feed_ex(persona_s, persona_tok + fed, n_persona - fed, NULL, 0,
                                                        &fp, &n);
            if (st != NEXTTOK_OK && st != NEXTTOK_ERR_DEADLINE) return fail("feeding the persona", st);
            fed += n;
            prefill_frames++;
            const int64_t dt = nexttok_clock_ns() - t0;
            if (dt > prefill_max) prefill_max = dt;
        } else if (!forked) {
            /* every NPC forked from the persona, then its own opening */
            for (int i = 0; i < N_NPC; i++) {
                npc *c = &npcs[i];
                TRY(nexttok_session_fork(persona_s, &sp, &c->session), "forking an NPC");
                if (make_chain(n_vocab, seed * 131 + (uint64_t)i, i == 0, &c->chain)) return 1;
                TRY(nexttok_decoder_create(tok, NEXTTOK_DECODE_SKIP_SPECIAL, &c->decoder), "creating a decoder");
                int32_t *open = NULL;
                size_t n_open = 0;
                if (i == 0) {
                    /* the constraint tokenizes context and reply together,
                     * as the replies will be scored: feed its context's
                     * tokens after the shared persona ones */
                    const size_t lens[] = {strlen(replies[0]), strlen(replies[1]), strlen(replies[2])};
                    char context[1024];
                    snprintf(context, sizeof context, "%s%s", persona, openings[0]);
                    TRY(nexttok_constraint_choices_create(tok, context, strlen(context), replies, lens, 3,
                                                          &c->constraint),
                        "building the guard's replies");
                    const int32_t *ctx = NULL;
                    size_t n_ctx = 0;
                    TRY(nexttok_constraint_context_get(c->constraint, &ctx, &n_ctx), "reading the context");
                    size_t same = 0; /* where the context leaves the persona's tokens */
                    while (same < n_ctx && same < n_persona && ctx[same] == persona_tok[same]) same++;
                    TRY(nexttok_session_rewind(c->session, (int32_t)same), "rewinding the guard");
                    TRY(nexttok_session_feed(c->session, ctx + same, n_ctx - same, NULL, 0), "feeding the guard");
                } else {
                    if (encode(tok, openings[i], 0, &open, &n_open)) return 1;
                    TRY(nexttok_session_feed(c->session, open, n_open, NULL, 0), "feeding an opening");
                }
                free(open);
            }
            forked = 1;
        } else {
            /* one token for every NPC still talking, fed in one pass */
            nexttok_session *batch[N_NPC];
            int32_t next[N_NPC];
            size_t n = 0;
            for (int i = 0; i < N_NPC; i++) {
                npc *c = &npcs[i];
                if (c->done) continue;
                int32_t token = -1;
                int stop = 0;
                if (npc_draw(c, eos, &token, &stop)) return 1;
                c->done = stop;
                if (!stop) {
                    batch[n] = c->session;
                    next[n++] = token;
                }
            }
            if (n == 0) break;
            const int64_t d0 = nexttok_clock_ns();
            TRY(nexttok_sessions_feed(batch, next, n, NULL, 0), "feeding the NPCs");
            decode_ns += nexttok_clock_ns() - d0;
            tokens += (long)n;
            batched_frames++;
            /* mid-line, or at its end if the merchant says less */
            if (!saved && (npcs[1].n_said >= MAX_TOKENS / 2 || npcs[1].done)) {
                if (npc_save_restore(&npcs[1], model, &sp, &snapshot_bytes)) return 1;
                saved = 1;
            }
        }
        const int64_t dt = nexttok_clock_ns() - t0;
        frame_sum += dt;
        if (dt > frame_max) frame_max = dt;
    }

    for (int i = 0; i < N_NPC; i++) {
        npc *c = &npcs[i];
        char rest[64];
        size_t len = 0;
        if (c->decoder && nexttok_decoder_flush(c->decoder, rest, sizeof rest, &len) == NEXTTOK_OK &&
            c->len + len < sizeof c->line) {
            memcpy(c->line + c->len, rest, len);
            c->len += len;
        }
        for (size_t k = 0; k < c->len; k++) /* one line each, as in a dialogue box */
            if (c->line[k] == '\n' || c->line[k] == '\r') c->line[k] = ' ';
        printf("%-8s|%s|%.*s\n", names[i], openings[i], (int)c->len, c->line);
    }
    if (npcs[0].constraint) printf("guard reply: %d\n", nexttok_constraint_matched_get(npcs[0].constraint, NULL));
    printf("persona: %zu tokens in %ld frames under a %.1f ms budget, longest %.2f ms\n", n_persona, prefill_frames,
           ms(budget_ns), ms(prefill_max));
    printf("snapshot: merchant saved in %zu bytes and restored: identical distribution\n", snapshot_bytes);
    printf("decode: %ld tokens in %ld batched frames, %.0f tokens/s\n", tokens, batched_frames,
           decode_ns > 0 ? (double)tokens / ((double)decode_ns / 1e9) : 0.0);
    printf("frames: %ld, mean %.2f ms, longest %.2f ms\n", frames, frames ? ms(frame_sum) / (double)frames : 0.0,
           ms(frame_max));

    for (int i = 0; i < N_NPC; i++) {
        nexttok_constraint_free(npcs[i].constraint);
        nexttok_decoder_free(npcs[i].decoder);
        nexttok_sampler_chain_free(npcs[i].chain);
        nexttok_session_free(npcs[i].session);
    }
    free(persona_tok);
    nexttok_session_free(persona_s);
    nexttok_pool_free(pool);
    nexttok_tokenizer_free(tok);
    nexttok_model_free(model);
    return saved ? 0 : (fprintf(stderr, "npc_dialogue: the merchant was never saved\n"), 1);
}
