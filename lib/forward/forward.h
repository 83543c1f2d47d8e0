/*
 * Forward passes, one per architecture. A pass takes its state explicitly:
 * the model, a run state (scratch and how products run), the KV views of
 * the sequences in the batch, and the batch (tokens with their positions).
 * It runs the batch's tokens through the network, writes each token's K/V
 * rows at its position, and writes logits: every token's row, or the last
 * token's only. It knows nothing of sessions; the caller checks ranges.
 */
#ifndef NT_FORWARD_H
#define NT_FORWARD_H

#include <stdbool.h>
#include <stdint.h>

#include "core/pool.h"
#include "core/stop.h"
#include "kernels/kernels.h"
#include "kvcache/kvcache.h"
#include "model/model.h"

/* Most tokens per forward call; longer feeds are split into chunks of a run
 * state's `batch` (this, or the context if shorter), so scratch stays
 * bounded while weights are read once per chunk. Prefill streams every
 * weight from memory once per chunk: at 32 tokens GPT-2 F32 prefill of 512
 * tokens was memory-bound, at 512 it runs at the kernels' speed. */
#define NT_BATCH 512

/* Tokens of one forward call. */
typedef struct nt_batch {
    int32_t n_tok;          /* 1 .. NT_BATCH */
    const int32_t *tokens;  /* [n_tok] */
    const int32_t *pos;     /* [n_tok] position of each token in its sequence */
    const int32_t *seq;     /* [n_tok] index of each token's KV view, or NULL: view 0 */
    float *logits;          /* out: [n_tok][n_vocab] when all_logits, else [n_vocab] */
    bool all_logits;
} nt_batch;

/* Per-token widths (floats) of the scratch buffers a pass uses. */
typedef struct nt_scratch_dims {
    int64_t x, xb, xb2, qkv, hb, hb2;
} nt_scratch_dims;

/* Working memory of one forward call, sized for NT_BATCH tokens. */
typedef struct nt_scratch {
    float *x;    /* residual stream   [B][n_embd] */
    float *xb;   /* normed input      [B][n_embd] */
    float *xb2;  /* attention output  [B][n_embd] */
    float *qkv;  /* projections       [B][...] */
    float *hb;   /* MLP hidden        [B][n_ff] */
    float *hb2;  /* MLP hidden (up)   [B][n_ff] */
    float *att;  /* attention scores and a decoded value head, [n_head][att_stride] */
    int64_t att_stride;
} nt_scratch;

/* How far a pass that stopped part-way got (time budgets, cancel). A pass
 * is a fixed sequence of steps (a product, the attention of a layer, a few
 * cheap row operations); a stopped pass has finished steps [0, done) and
 * maybe parts of step `done`; a resumed call skips the finished steps and
 * parts and continues, on the same scratch, so its result is the bytes of
 * an uninterrupted pass. */
typedef struct nt_cursor {
    int64_t next;     /* steps met so far by this call of the pass */
    int64_t done;     /* steps finished */
    int32_t parts;    /* tokens of step `done` finished (attention's groups, a
                         product's blocks of tokens) */
    bool in_part;     /* the product's block at `parts` stopped part-way: its
                         chunk flags and quantized activations are kept */
    int32_t part_tok; /* tokens of that block, and its rows per chunk: the */
    int64_t chunk_rows; /*   resumed block has the stopped one's shape */
    bool partial;     /* step `done` stopped part-way */
    bool resume;      /* set by the caller: this call continues the stopped pass */
    /* the stopped feed's chunk, which a later feed must repeat to resume */
    bool pending;
    int32_t pos0, n_tok;
    bool all_logits;
    const float *logits;
} nt_cursor;

/* RoPE's rotations of one batch's positions under one configuration,
 * rows of `stride` pairs per token: every head of every layer that shares
 * the configuration uses them, where each head computed its own. */
typedef struct nt_rope_table {
    double *cos_t, *sin_t; /* [batch][stride] */
    int32_t *pos;          /* [batch] the positions they are for */
    int64_t stride;        /* head_dim / 2 */
    int32_t n_tok;         /* rows valid; 0: none */
    int64_t head_dim;
    nt_rope_cfg cfg;
} nt_rope_table;

/* A forward pass's run state: scratch, and the context of its products
 * (pool, fast mode and its quantized-activation buffer). One per session. */
typedef struct nt_run {
    nt_matmul_ctx mm;
    nt_scratch sc;
    uint64_t bytes; /* allocated for the scratch */
    int32_t batch;  /* tokens per forward call: min(NT_BATCH, n_ctx) */
    bool long_rope; /* the context passes the model's original one: LongRoPE's long factors */
    nt_stop *stop;  /* set by a feed for one pass: when to stop part-way; NULL: run whole */
    nt_cursor cur;
    double mac_rate; /* multiply-adds per ns and thread that budgeted products
                        ran at (0: none yet), for the sizes of their parts */
    double attn_rate; /* the same for attention's groups of tokens */
    nt_rope_table rope;
} nt_run;

/* The table of batch b under cfg (made unless it is already), or NULL
 * when the run state has none (then rotate with nt_rope). */
const nt_rope_table *nt_run_rope_table(nt_run *run, const nt_batch *b, const nt_rope_cfg *cfg,
                                       int64_t head_dim);

/* Make a run state for `m` with attention over up to n_ctx keys. `pool`
 * is borrowed; `fast` chooses fast mode for quantized weights. */
nexttok_status nt_run_create(const nexttok_model *m, int32_t n_ctx, int32_t n_batch, nt_pool *pool, bool fast,
                             nt_run **out);
void nt_run_free(nt_run *run);

/* Bytes a run state holds. */
uint64_t nt_run_bytes(const nt_run *run);

typedef void (*nt_forward_fn)(const nexttok_model *m, nt_run *run, const nt_kv_view *kv, const nt_batch *b);

/* Each pass (nt_pass in model/arch.h) and its scratch needs. */
void nt_forward_gpt2(const nexttok_model *m, nt_run *run, const nt_kv_view *kv, const nt_batch *b);
void nt_forward_gpt2_scratch(const nexttok_model *m, nt_scratch_dims *d);
void nt_forward_decoder(const nexttok_model *m, nt_run *run, const nt_kv_view *kv, const nt_batch *b);
void nt_forward_decoder_scratch(const nexttok_model *m, nt_scratch_dims *d);

/* The pass of the model's architecture. */
nt_forward_fn nt_forward_for(const nexttok_model *m);

/* Causal multi-head attention with grouped K/V heads over the KV views for
 * one layer: token t (position pos[t] of view kv[seq[t]]) and head h give
 * out[t][h] = softmax(cap(scale * q[t][h] . K[j0..pos[t]])) V[j0..pos[t]],
 * j0 = pos[t] - window + 1 for a sliding window (else 0), cap the
 * soft-cap c tanh(l / c) when softcap > 0. */
typedef struct nt_attention_args {
    const float *q;     /* [n_tok] rows of n_head * head_dim, row stride q_stride */
    int64_t q_stride;
    const nt_kv_view *kv;
    const nt_batch *batch;
    int layer;
    float *out;         /* [n_tok][n_head * head_dim] */
    const nt_scratch *sc;
    int32_t n_head;
    int32_t n_head_kv;
    int32_t head_dim;
    float scale;        /* of the logits: 1/sqrt(head_dim) unless the model says otherwise */
    float softcap;      /* 0: none */
    int32_t window;     /* keys a query sees, itself included; 0: all before it */
} nt_attention_args;

void nt_attention(nt_pool *pool, const nt_attention_args *a);

/* Tokens per product, and per pass of a feed, when a deadline asks for
 * small parts: a product's chunks are then a few rows each, and every
 * chunk passes over all the product's tokens, whose activations must stay
 * in L2 (with 512 tokens of a 2048-wide model they did not: the budgeted
 * prefill took twice as long). The weights are read once per block
 * instead of once. */
#define NT_PART_TOKENS 128

/* Steps of a pass (steps.c). Every step goes through nt_step_begin /
 * nt_step_end, the NT_STEP wrapper, or one of the nt_run_* calls, so a
 * stopped pass resumes at the step where it stopped. */
typedef enum nt_step_mode { NT_STEP_SKIP, NT_STEP_RUN, NT_STEP_RESUME } nt_step_mode;

/* Start of a pass: a fresh one unless the caller set cur.resume. */
void nt_pass_begin(nt_run *run);
/* Whether the next step runs (RESUME: it stopped part-way before). */
nt_step_mode nt_step_begin(nt_run *run);
/* The step that nt_step_begin let run has returned. */
void nt_step_end(nt_run *run);
/* Run the statement after it as one step of the pass. */
#define NT_STEP(run) \
    for (nt_step_mode nt_step_m_ = nt_step_begin(run); nt_step_m_ != NT_STEP_SKIP; nt_step_m_ = NT_STEP_SKIP, nt_step_end(run))

/* A step of row operations split into parts that may stop: units [0, n)
 * (tokens, or blocks of elements) go in parts whose size follows what the
 * last part took against the stop's part_ns, with a stop check between
 * parts; cur.parts counts the units done. The operations of a unit do not
 * depend on the units beside it, so the bytes are those of one whole call.
 * Without a deadline the step is one part. */
typedef struct nt_parts {
    nt_step_mode m;
    bool started;
    int32_t n, i0, i1; /* units of the step; the part running */
    int32_t k;         /* units of the next part */
    int64_t t0;        /* when the running part started */
} nt_parts;
nt_parts nt_parts_begin(nt_run *run, int64_t n_units);
bool nt_parts_next(nt_run *run, nt_parts *p);
/* Run the statement after it as a step over elements [0, n) in parts of
 * whole multiples of `grain` (the pooled activations' chunk, so parts cut
 * where a pool's chunks would): a and b (int64_t) are the part's range. */
#define NT_STEP_PARTS(run, a, b, n, grain)                                                                    \
    for (nt_parts nt_pp_ = nt_parts_begin(run, ((int64_t)(n) + (grain) - 1) / (grain)); nt_parts_next(run, &nt_pp_);) \
        for (int64_t a = nt_pp_.i0 * (int64_t)(grain),                                                        \
                     b = nt_pp_.i1 * (int64_t)(grain) < (int64_t)(n) ? nt_pp_.i1 * (int64_t)(grain) : (int64_t)(n), \
                     nt_once_ = 1;                                                                            \
             nt_once_; nt_once_ = 0)

/* A product as a step, its chunks of rows the parts (with ctx `mm`, a copy
 * of run->mm that may differ in `residual`). */
void nt_run_matmul_ex(nt_run *run, const nt_matmul_ctx *mm, const nt_weight *w, const float *x, int32_t n_tok,
                      float *y);
void nt_run_matmul(nt_run *run, const nt_weight *w, const float *x, int32_t n_tok, float *y);

/* nt_attention as a step, groups of the batch's tokens the parts. */
void nt_run_attention(nt_run *run, const nt_attention_args *a);

/* The KV view of batch token t. */
static inline const nt_kv_view *nt_batch_view(const nt_kv_view *kv, const nt_batch *b, int32_t t)
{
    return &kv[b->seq ? b->seq[t] : 0];
}

/* y[t] += b for each of n_tok rows of n values. */
void nt_add_bias_rows(float *y, const float *b, int32_t n_tok, int64_t n);

/* y[e] += b[e % n] for the elements e in [e0, e1) of rows of n values (a
 * part of nt_add_bias_rows, element for element the same adds). */
void nt_add_bias_range(float *y, const float *b, int64_t n, int64_t e0, int64_t e1);

/* Final norm of the rows whose logits are wanted, then the output
 * projection into b->logits. `norm` applies the architecture's final norm
 * to one row in place. */
void nt_forward_logits(const nexttok_model *m, nt_run *run, float *x, const nt_batch *b,
                       void (*norm)(const nexttok_model *m, float *row));

#endif
