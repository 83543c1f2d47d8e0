/* When a running forward pass must stop part-way: a deadline, a cancel
 * flag another thread may raise, and a caller's callback. The caller's
 * thread and the pool's workers check it between parts of the pass (steps,
 * chunks of a product's rows); once a check fails the pass finishes only
 * the parts in flight, and the next call can resume it. */
#ifndef NT_CORE_STOP_H
#define NT_CORE_STOP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "nexttok.h"

typedef struct nt_stop {
    int64_t deadline_ns;      /* nt_clock_ns() time; 0: none */
    const atomic_int *cancel; /* nonzero: stop at once; or NULL */
    int (*check)(void *user); /* the caller's: nonzero stops; or NULL */
    void *user;
    atomic_int stopped;       /* 0 while running, else NEXTTOK_ERR_DEADLINE or _CANCELLED */
    int64_t part_ns;          /* with a deadline: about what a part of a step should
                                 take (from the budget); 0: steps run whole */
    atomic_int progressed;    /* some part ran: a deadline is not honoured before, so
                                 every call makes progress however short its budget */
} nt_stop;

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t nt_clock_ns(void);

/* A part of a step under a deadline takes about this share of the time
 * left: the parts in flight when it passes end within a fraction of the
 * budget, and a call runs a few dozen of them. */
#define NT_STOP_PARTS_PER_BUDGET 16
/* Nor less than this: a tiny budget still gets parts worth their check. */
#define NT_STOP_PART_NS_MIN 20000

/* The part_ns of a stop with this deadline, for a call starting at `now`
 * (0 without a deadline). */
int64_t nt_stop_part_ns(const nt_stop *st, int64_t now);

/* Whether the pass must stop now (recording why): any thread may call it.
 * The callback is the caller's own code and runs only where `caller` says
 * this is the thread that called the feed. */
bool nt_stop_check(nt_stop *st, bool caller);

static inline bool nt_stop_stopped(const nt_stop *st)
{
    return st && atomic_load_explicit(&st->stopped, memory_order_acquire) != 0;
}

/* A part of the pass ran to its end. */
static inline void nt_stop_progress(nt_stop *st)
{
    if (st) atomic_store_explicit(&st->progressed, 1, memory_order_relaxed);
}

#endif
