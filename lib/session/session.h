/* A session: one conversation over a model, with its KV cache, the tokens
 * fed so far and the run state of its forward pass. */
#ifndef NT_SESSION_H
#define NT_SESSION_H

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
};

/* NEXTTOK_OK when n more tokens fit the session's context, else
 * NEXTTOK_ERR_CONTEXT_FULL with the numbers. */
nexttok_status nt_session_room_check(const nexttok_session *s, size_t n);

/* NEXTTOK_OK when tokens[0 .. n) are all vocabulary ids, else
 * NEXTTOK_ERR_TOKEN_RANGE naming the first that is not. */
nexttok_status nt_session_tokens_check(const nexttok_session *s, const int32_t *tokens, size_t n);

#endif
