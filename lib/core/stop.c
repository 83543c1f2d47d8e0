#include "core/stop.h"

#include <time.h>

int64_t nt_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool stop_with(nt_stop *st, int status)
{
    int expected = 0;
    atomic_compare_exchange_strong_explicit(&st->stopped, &expected, status, memory_order_acq_rel,
                                            memory_order_acquire);
    return true;
}

bool nt_stop_check(nt_stop *st, bool caller)
{
    if (!st) return false;
    if (atomic_load_explicit(&st->stopped, memory_order_acquire)) return true;
    if (st->cancel && atomic_load_explicit(st->cancel, memory_order_acquire))
        return stop_with(st, NEXTTOK_ERR_CANCELLED);
    if (caller && st->check && st->check(st->user)) return stop_with(st, NEXTTOK_ERR_CANCELLED);
    if (st->deadline_ns && atomic_load_explicit(&st->progressed, memory_order_relaxed) &&
        nt_clock_ns() >= st->deadline_ns)
        return stop_with(st, NEXTTOK_ERR_DEADLINE);
    return false;
}

int64_t nt_stop_part_ns(const nt_stop *st, int64_t now)
{
    if (!st->deadline_ns) return 0;
    const int64_t part = (st->deadline_ns - now) / NT_STOP_PARTS_PER_BUDGET;
    return part > NT_STOP_PART_NS_MIN ? part : NT_STOP_PART_NS_MIN;
}
