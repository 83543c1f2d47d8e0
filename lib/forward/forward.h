/*
 * Forward passes, one per architecture. Each runs n_tok (<= NT_BATCH) tokens
 * at positions s->pos .. s->pos + n_tok - 1 through the network, writes
 * their K/V into the cache, and the logits of the last token into
 * s->logits; when rows != NULL, all n_tok rows of logits into rows.
 * The caller (the session) checks ranges and advances s->pos.
 */
#ifndef NT_FORWARD_H
#define NT_FORWARD_H

#include "session/session.h"

void nt_forward_gpt2(nexttok_session *s, const int32_t *tokens, int32_t n_tok, float *rows);
void nt_forward_llama(nexttok_session *s, const int32_t *tokens, int32_t n_tok, float *rows);

/* Causal multi-head attention with grouped K/V heads over the session's
 * cache for one layer: for each token t (position pos0 + t) and head h,
 * out[t][h] = softmax(q[t][h] . K[0..pos0+t] / sqrt(head_dim)) V. */
typedef struct nt_attention_args {
    const float *q;     /* [n_tok] rows of n_head * head_dim, row stride q_stride */
    int64_t q_stride;
    const float *k;     /* this layer's cache rows, stride kv_dim */
    const float *v;
    int32_t kv_dim;
    float *out;         /* [n_tok][n_head * head_dim] */
    float *scores;      /* [n_head][n_ctx] scratch */
    int32_t n_ctx;
    int32_t n_tok;
    int32_t pos0;
    int32_t n_head;
    int32_t n_head_kv;
    int32_t head_dim;
} nt_attention_args;

void nt_attention(nt_pool *pool, const nt_attention_args *a);

/* y[t] += b for each of n_tok rows of n values. */
void nt_add_bias_rows(float *y, const float *b, int32_t n_tok, int64_t n);

/* Final norm of the rows whose logits are wanted, then the output
 * projection: all rows into `rows` when given, always the last into s->logits.
 * `norm` applies the architecture's final norm to one row in place. */
void nt_forward_logits(nexttok_session *s, float *x, int32_t n_tok, float *rows,
                       void (*norm)(const nexttok_model *m, float *row));

#endif
