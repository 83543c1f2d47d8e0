/* The steps of a pass, and stopping and resuming it between them or
 * part-way through a long one. A pass stops where its run state's stop
 * (core/stop.h) says, at a check between steps, between chunks of a
 * product's rows, between groups of attention's tokens or between parts
 * of a step of row operations (nt_parts: tokens, or blocks of elements of
 * the activation functions, whose single calls took 7 ms on 128 tokens of
 * a 5632-wide MLP, past a 4 ms budget with no check); it then skips its
 * remaining steps. Everything a later step needs is in the run state's
 * scratch and the KV cache, so the call that resumes it skips the steps
 * done, finishes the stopped one's missing parts and goes on: every value
 * is computed once, by the same operations, as in an uninterrupted pass. */
#include "forward/forward.h"

void nt_pass_begin(nt_run *run)
{
    nt_cursor *c = &run->cur;
    c->next = 0;
    if (c->resume && run->stop) return;
    /* a fresh pass: whatever a stopped one left is dropped */
    c->done = 0;
    c->parts = 0;
    c->in_part = false;
    c->partial = false;
    c->pending = false;
}

nt_step_mode nt_step_begin(nt_run *run)
{
    if (!run->stop) return NT_STEP_RUN;
    const int64_t i = run->cur.next++;
    if (i < run->cur.done) return NT_STEP_SKIP;
    /* i == done: steps run in order, and after a stop none runs */
    if (nt_stop_check(run->stop, true)) return NT_STEP_SKIP;
    return run->cur.partial ? NT_STEP_RESUME : NT_STEP_RUN;
}

void nt_step_end(nt_run *run)
{
    if (!run->stop) return;
    nt_cursor *c = &run->cur;
    if (nt_stop_stopped(run->stop)) { /* stopped within it: its parts say how far */
        c->partial = true;
        return;
    }
    nt_stop_progress(run->stop);
    c->done = c->next;
    c->parts = 0;
    c->in_part = false;
    c->partial = false;
}

nt_parts nt_parts_begin(nt_run *run, int64_t n_units)
{
    nt_parts p = {.m = nt_step_begin(run), .n = (int32_t)n_units, .k = 1};
    p.i1 = p.m == NT_STEP_RESUME ? run->cur.parts : 0;
    if (!run->stop || !run->stop->part_ns) p.k = p.n;
    return p;
}

/* Units of the next part: as many as fit the stop's part_ns at the rate
 * the last part ran, at most four times the last (a preempted part makes
 * the next one smaller, never zero). */
static int32_t next_part_units(const nt_run *run, const nt_parts *p, int64_t took_ns)
{
    const double target = (double)run->stop->part_ns;
    double k = took_ns > 0 ? (double)p->k * target / (double)took_ns : 4.0 * p->k;
    if (k > 4.0 * p->k) k = 4.0 * p->k;
    if (k > p->n) k = p->n;
    return k < 1.0 ? 1 : (int32_t)k;
}

bool nt_parts_next(nt_run *run, nt_parts *p)
{
    if (p->m == NT_STEP_SKIP) return false;
    if (p->started) { /* the part [i0, i1) ran */
        if (run->stop) {
            run->cur.parts = p->i1;
            nt_stop_progress(run->stop);
        }
        if (p->i1 >= p->n || nt_stop_check(run->stop, true)) {
            nt_step_end(run);
            p->m = NT_STEP_SKIP;
            return false;
        }
        if (p->k < p->n) p->k = next_part_units(run, p, nt_clock_ns() - p->t0);
    }
    p->started = true;
    if (p->i1 >= p->n) { /* nothing (left) to do */
        nt_step_end(run);
        p->m = NT_STEP_SKIP;
        return false;
    }
    p->i0 = p->i1;
    p->i1 = p->n - p->i0 < p->k ? p->n : p->i0 + p->k;
    if (p->k < p->n) p->t0 = nt_clock_ns();
    return true;
}

/* Multiply-adds of a part of a product or of attention when no rate has
 * been measured yet, and the bounds of the measured ones: a part is worth
 * its check and its pass over the block's activations, and a rate from a
 * preempted product does not make parts of a few rows. */
#define NT_PART_MACS_MIN (512.0 * 1024)
#define NT_PART_MACS_MAX (256.0 * 1024 * 1024)

/* Multiply-adds a part takes in about the stop's part_ns, at the rate
 * products ran at before. */
static double part_macs(const nt_run *run)
{
    if (run->mac_rate <= 0.0) return NT_MATMUL_PART_MACS;
    const double macs = run->mac_rate * (double)run->stop->part_ns;
    return macs < NT_PART_MACS_MIN ? NT_PART_MACS_MIN : macs > NT_PART_MACS_MAX ? NT_PART_MACS_MAX : macs;
}

/* A whole block of `macs` took `ns` on `threads` threads: fold its rate per
 * thread into `rate` (halfway, so one preempted block moves it less). */
static void fold_rate(double *rate, double macs, int64_t ns, int threads)
{
    if (ns <= 0 || macs < NT_PART_MACS_MIN) return;
    const double r = macs / ((double)ns * (threads > 0 ? threads : 1));
    *rate = *rate > 0.0 ? 0.5 * (*rate + r) : r;
}

static void measure_rate(nt_run *run, double macs, int64_t ns, int threads)
{
    fold_rate(&run->mac_rate, macs, ns, threads);
}

void nt_run_matmul_ex(nt_run *run, const nt_matmul_ctx *mm, const nt_weight *w, const float *x, int32_t n_tok,
                      float *y)
{
    const nt_step_mode m = nt_step_begin(run);
    if (m == NT_STEP_SKIP) return;
    nt_matmul_ctx ctx = *mm;
    ctx.stop = run->stop;
    ctx.chunk_rows = &run->cur.chunk_rows;
    const bool timed = run->stop && run->stop->deadline_ns;
    const int threads = nt_pool_n_threads(mm->pool);
    if (timed) ctx.part_macs = part_macs(run);
    /* the tokens in blocks, each block a product of its own (rows do not
     * depend on the tokens beside them); parts counts the blocks done */
    const int32_t T = timed ? NT_PART_TOKENS : n_tok;
    for (int32_t t = m == NT_STEP_RESUME ? run->cur.parts : 0; t < n_tok;) {
        ctx.resume = m == NT_STEP_RESUME && t == run->cur.parts && run->cur.in_part;
        /* a stopped block resumes whole, as it was cut */
        const int32_t n = ctx.resume ? run->cur.part_tok : n_tok - t < T ? n_tok - t : T;
        const int64_t t0 = timed ? nt_clock_ns() : 0;
        nt_matmul_ex(&ctx, w, x + (int64_t)t * w->n_in, n, y + (int64_t)t * w->n_out);
        if (nt_stop_stopped(run->stop)) { /* a chunk of block t was skipped */
            run->cur.in_part = true;
            run->cur.part_tok = n;
            break;
        }
        if (timed && !ctx.resume)
            measure_rate(run, (double)w->n_in * (double)w->n_out * n * (ctx.residual ? 2 : 1), nt_clock_ns() - t0,
                         threads);
        run->cur.parts = t += n;
        run->cur.in_part = false;
        if (t < n_tok && nt_stop_check(run->stop, true)) break;
    }
    nt_step_end(run);
}

void nt_run_matmul(nt_run *run, const nt_weight *w, const float *x, int32_t n_tok, float *y)
{
    nt_run_matmul_ex(run, &run->mm, w, x, n_tok, y);
}

/* Multiply-adds of the scores and values of tokens [t, t1). */
static double attention_macs(const nt_attention_args *a, int32_t t, int32_t t1)
{
    double macs = 0.0;
    for (; t < t1; t++) {
        const int32_t keys = a->window > 0 && a->batch->pos[t] >= a->window ? a->window : a->batch->pos[t] + 1;
        macs += 2.0 * keys * a->head_dim * a->n_head;
    }
    return macs;
}

/* The end of the group of tokens from t: whole when nothing may stop the
 * pass part-way by time, else about the stop's part_ns at the rate
 * attention ran at (its own: the softmax costs more per multiply-add than
 * a product; before any, half a product's part). */
static int32_t group_end(const nt_run *run, const nt_attention_args *a, int32_t t)
{
    const nt_batch *b = a->batch;
    if (!run->stop || !run->stop->deadline_ns) return b->n_tok;
    double part = 0.5 * part_macs(run);
    if (run->attn_rate > 0.0) {
        part = run->attn_rate * (double)run->stop->part_ns;
        if (part < NT_PART_MACS_MIN) part = NT_PART_MACS_MIN;
        if (part > NT_PART_MACS_MAX) part = NT_PART_MACS_MAX;
    }
    double macs = 0.0;
    for (; t < b->n_tok && macs < part; t++) {
        const int32_t keys = a->window > 0 && b->pos[t] >= a->window ? a->window : b->pos[t] + 1;
        macs += 2.0 * keys * a->head_dim * a->n_head;
    }
    return t;
}

void nt_run_attention(nt_run *run, const nt_attention_args *a)
{
    const nt_step_mode m = nt_step_begin(run);
    if (m == NT_STEP_SKIP) return;
    const nt_batch *b = a->batch;
    const int64_t out_row = (int64_t)a->n_head * a->head_dim;
    for (int32_t t = m == NT_STEP_RESUME ? run->cur.parts : 0; t < b->n_tok;) {
        const int32_t t1 = group_end(run, a, t);
        /* the group's tokens as a batch of their own: each token's
         * attention reads only its own row, position and view */
        const nt_batch sub = {.n_tok = t1 - t, .tokens = b->tokens + t, .pos = b->pos + t,
                              .seq = b->seq ? b->seq + t : NULL};
        nt_attention_args ga = *a;
        ga.q = a->q + t * a->q_stride;
        ga.out = a->out + t * out_row;
        ga.batch = &sub;
        const bool timed = run->stop && run->stop->deadline_ns;
        const int64_t t0 = timed ? nt_clock_ns() : 0;
        nt_attention(run->mm.pool, &ga);
        if (timed)
            fold_rate(&run->attn_rate, attention_macs(a, t, t1), nt_clock_ns() - t0, nt_pool_n_threads(run->mm.pool));
        if (run->stop) nt_stop_progress(run->stop);
        run->cur.parts = t = t1;
        if (t < b->n_tok && nt_stop_check(run->stop, true)) break;
    }
    nt_step_end(run);
}
