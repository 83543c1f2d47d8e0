/* A session: one conversation over a model, with its KV cache, the tokens
 * fed so far and the scratch buffers of the forward pass. */
#ifndef NT_SESSION_H
#define NT_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "core/pool.h"
#include "model/model.h"
#include "nexttok.h"

/* Tokens per forward call; longer feeds are split into chunks of this size,
 * so scratch stays bounded while weights are read once per chunk. */
#define NT_BATCH 32

/* Working memory of one forward call, sized for NT_BATCH tokens. */
typedef struct nt_scratch {
    float *x;    /* residual stream   [B][n_embd] */
    float *xb;   /* normed input      [B][n_embd] */
    float *xb2;  /* attention output  [B][n_embd] */
    float *qkv;  /* projections       [B][n_embd + 2 * kv_dim] */
    float *hb;   /* MLP hidden        [B][n_ff] */
    float *hb2;  /* MLP hidden (up)   [B][n_ff] */
    float *att;  /* attention scores  [n_head][n_ctx] */
} nt_scratch;

struct nexttok_session {
    const nexttok_model *model;
    int32_t n_ctx;
    int32_t pos;        /* tokens fed so far */
    int32_t *tokens;    /* [n_ctx] history, for rewind */
    int32_t kv_dim;     /* n_head_kv * head_dim */
    float *k_cache;     /* [n_layer][n_ctx][kv_dim] */
    float *v_cache;
    nt_pool *pool;
    nt_scratch scratch;
    float *logits;      /* [n_vocab] after the last fed token */
    bool has_logits;
};

/* K (or V) cache row of `layer` at position `pos`. */
static inline float *nt_kv_row(const nexttok_session *s, float *cache, int layer, int32_t pos)
{
    return cache + ((int64_t)layer * s->n_ctx + pos) * s->kv_dim;
}

#endif
