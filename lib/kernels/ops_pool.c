/* The activation functions of a whole batch spread over a pool. They cost
 * a libm exp per element; on the caller's thread alone they took 10% of a
 * GPT-2 prefill's samples while the other threads waited. Each chunk runs
 * the serial loop over its own elements, so the result is bitwise the
 * serial call's whatever the threads. */
#include "kernels/kernels.h"

/* Below this many elements the pool's wake-up costs more than it saves. */
#define NT_OPS_POOL_MIN 16384

typedef enum { NT_OP_GELU, NT_OP_SILU_MUL, NT_OP_GELU_MUL } nt_op_kind;

typedef struct nt_op_job {
    nt_op_kind kind;
    float *x;
    const float *up;
    int64_t n;
} nt_op_job;

static void nt_op_run(nt_op_kind kind, float *x, const float *up, int64_t n)
{
    switch (kind) {
    case NT_OP_GELU: nt_gelu_tanh(x, n); break;
    case NT_OP_SILU_MUL: nt_silu_mul(x, up, n); break;
    case NT_OP_GELU_MUL: nt_gelu_mul(x, up, n); break;
    }
}

static void nt_op_task(void *ctx, int64_t chunk)
{
    const nt_op_job *job = ctx;
    const int64_t i0 = chunk * NT_OPS_POOL_CHUNK;
    const int64_t n = job->n - i0 < NT_OPS_POOL_CHUNK ? job->n - i0 : NT_OPS_POOL_CHUNK;
    nt_op_run(job->kind, job->x + i0, job->up ? job->up + i0 : NULL, n);
}

static void nt_op_pool(nt_pool *pool, nt_op_kind kind, float *x, const float *up, int64_t n)
{
    if (n < NT_OPS_POOL_MIN || nt_pool_n_threads(pool) < 2) {
        nt_op_run(kind, x, up, n);
        return;
    }
    nt_op_job job = {kind, x, up, n};
    nt_pool_run(pool, nt_op_task, &job, (n + NT_OPS_POOL_CHUNK - 1) / NT_OPS_POOL_CHUNK);
}

void nt_gelu_tanh_pool(nt_pool *pool, float *x, int64_t n) { nt_op_pool(pool, NT_OP_GELU, x, NULL, n); }

void nt_silu_mul_pool(nt_pool *pool, float *gate, const float *up, int64_t n)
{
    nt_op_pool(pool, NT_OP_SILU_MUL, gate, up, n);
}

void nt_gelu_mul_pool(nt_pool *pool, float *gate, const float *up, int64_t n)
{
    nt_op_pool(pool, NT_OP_GELU_MUL, gate, up, n);
}
