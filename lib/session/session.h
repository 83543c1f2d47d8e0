/* A session: one conversation over a model, with its KV cache, the tokens
 * fed so far and the run state of its forward pass. */
#ifndef NT_SESSION_H
#define NT_SESSION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/pool.h"
#include "forward/forward.h"
#include "kvcache/kvcache.h"
#include "model/model.h"
#include "nexttok.h"

struct nexttok_session {
    const nexttok_model *model;
    int32_t n_ctx;
    int32_t pos;        /* tokens fed so far */
    int32_t *tokens;    /* [n_ctx] history, for rewind */
    nt_kvcache kv;
    nt_kv_view view;    /* the session's one sequence */
    nt_pool *pool;
    bool owns_pool;
    nt_run *run;
    nt_forward_fn forward;
    nexttok_precision precision; /* FAST, EXACT or PORTABLE, as resolved */
    int32_t kv_type;             /* the public nexttok_kv_type */
    float *logits;      /* [n_vocab] after the last fed token */
    bool has_logits;
    /* Batched feeds (batch.c) this session hosts without a caller's
     * logits buffer: rows of n_vocab, grown to the widest batch seen. */
    float *batch_logits;
    size_t batch_logits_rows;
    /* Feeds that may stop part-way (feed.c): a pass without a caller's
     * rows writes its logits here, swapped with `logits` when it ends, so a
     * stopped pass leaves the current logits whole. */
    float *logits_next;
    atomic_int cancel;  /* raised by nexttok_session_cancel from any thread */
    int32_t kv_top;     /* a stopped pass wrote K/V rows up to position kv_top - 1,
                           maybe past pos: a ring's rows before them are gone */
    /* context full policy (nexttok_context_full) and what shifts did */
    int32_t context_full;
    int32_t n_keep;
    int32_t n_discard;
    int64_t n_shifted;
};

/* The session's forward pass over `b` with these run state and views, in
 * the session's precision (a portable one on the scalar kernels). Every
 * pass of a session goes through here. */
void nt_session_pass(const nexttok_session *s, nt_run *run, const nt_kv_view *views, const nt_batch *b);

/* NEXTTOK_OK when n more tokens fit the session's context, else
 * NEXTTOK_ERR_CONTEXT_FULL with the numbers. */
nexttok_status nt_session_room_check(const nexttok_session *s, size_t n);

/* NEXTTOK_OK when tokens[0 .. n) are all vocabulary ids, else
 * NEXTTOK_ERR_TOKEN_RANGE naming the first that is not. */
nexttok_status nt_session_tokens_check(const nexttok_session *s, const int32_t *tokens, size_t n);

/* NEXTTOK_CONTEXT_SHIFT: make room for n more tokens (n <= n_ctx - n_keep)
 * by dropping old ones and turning the kept keys back (shift.c). */
nexttok_status nt_session_shift(nexttok_session *s, size_t n);

/* Whether model m can shift its context; else the reason, for messages. */
const char *nt_session_shift_refusal(const nexttok_model *m);

#endif
