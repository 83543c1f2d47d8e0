/*
 * The numeric kernels the forward passes are written in. Hot loops
 * (matrix-vector products, attention dots) dispatch through the type-traits
 * table and the active ISA; the rest are plain F32 loops.
 */
#ifndef NT_KERNELS_H
#define NT_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/pool.h"
#include "core/stop.h"

/* A 2-D weight bound in place: n_out rows of n_in values of `type`. */
typedef struct nt_weight {
    const void *data;
    uint32_t type;
    int64_t n_in;      /* values per row (GGUF ne[0]) */
    int64_t n_out;     /* rows (GGUF ne[1]) */
    size_t row_bytes;
} nt_weight;

/* Y[t][o] = sum_i W[o][i] * X[t][i] for t < n_tok; X is n_tok x n_in,
 * Y is n_tok x n_out, both row-major F32. Spread over `pool` (may be NULL). */
void nt_matmul(nt_pool *pool, const nt_weight *w, const float *x, int64_t n_tok, float *y);

/* How a product runs: the pool to spread it over (may be NULL), and for
 * fast mode, room for the quantized activations. */
typedef struct nt_matmul_ctx {
    nt_pool *pool;
    bool fast;          /* quantized weights: 8-bit activations, integer dots */
    void *qbuf;         /* fast mode: at least n_tok * nt_act_row_bytes(act, */
    size_t qbuf_bytes;  /*   n_in) bytes (twice that with residual), else
                           the product runs exact */
    bool residual;      /* fast mode: quantize also what the first
                           quantization left over and add its dot, which
                           makes the activations good to ~16 bits */
    float *rbuf;        /* residual: room for one row of n_in floats */
    size_t rbuf_floats;
    /* Stopping part-way (core/stop.h), or NULL: the product runs whole.
     * With `stop`, each chunk of rows is a part of at most about
     * NT_MATMUL_PART_MACS multiply-adds, done[c] (done_cap flags) marks
     * chunk c finished, and `resume` continues this product's stopped run:
     * its flags and quantized activations are kept (nothing else may have
     * used the context since). */
    nt_stop *stop;
    unsigned char *done;
    size_t done_cap;
    bool resume;
    double part_macs;    /* with a deadline: multiply-adds per chunk; 0: NT_MATMUL_PART_MACS */
    int64_t *chunk_rows; /* or NULL: set to the rows per chunk the product
                            used, and read back by a resumed one, whose
                            flags count chunks of those rows */
} nt_matmul_ctx;

/* A chunk's multiply-adds when a product may stop part-way: small enough
 * that the chunks in flight when a deadline passes end within a fraction
 * of a millisecond. */
#define NT_MATMUL_PART_MACS (8 * 1024 * 1024)

/* nt_matmul with a context: in fast mode, a quantized weight multiplies
 * the activations quantized per block (kernels/qdot.h), where the type has
 * such kernels; every other product is the exact one. Each output element
 * is one dot call, so results depend neither on the number of threads nor
 * on n_tok. */
void nt_matmul_ex(const nt_matmul_ctx *ctx, const nt_weight *w, const float *x, int64_t n_tok, float *y);

/* Row `row` of w, dequantized to F32 (embedding look-up). */
void nt_weight_row_get(const nt_weight *w, int64_t row, float *out);

/* F32 vector kernels (dispatched by ISA). */
float nt_dot_f32(const float *a, const float *b, int64_t n);
void nt_axpy_f32(float *y, float a, const float *x, int64_t n); /* y += a*x */

/* Plain F32 operations. out may alias x. */
void nt_rmsnorm(float *out, const float *x, const float *weight, int64_t n, float eps);
void nt_layernorm(float *out, const float *x, const float *weight, const float *bias,
                  int64_t n, float eps);
void nt_softmax(float *x, int64_t n);               /* in place, max-subtracted */
void nt_gelu_tanh(float *x, int64_t n);             /* in place, GPT-2's tanh form */
void nt_silu_mul(float *gate, const float *up, int64_t n); /* gate = silu(gate)*up */
void nt_gelu_mul(float *gate, const float *up, int64_t n); /* gate = gelu_tanh(gate)*up */
void nt_scale(float *x, float s, int64_t n);        /* x *= s */
void nt_softcap(float *x, float cap, int64_t n);    /* x = cap * tanh(x / cap) */
void nt_add(float *y, const float *x, int64_t n);   /* y += x */

/* Elements per task of the pooled activations below: enough to pay for
 * claiming it, small enough that threads even out. A pass that splits
 * their calls (time budgets) cuts at multiples of it, where these cut. */
#define NT_OPS_POOL_CHUNK 8192

/* The activations of a batch spread over `pool` (may be NULL): bitwise
 * the calls above. */
void nt_gelu_tanh_pool(nt_pool *pool, float *x, int64_t n);
void nt_silu_mul_pool(nt_pool *pool, float *gate, const float *up, int64_t n);
void nt_gelu_mul_pool(nt_pool *pool, float *gate, const float *up, int64_t n);

/* Rotary position embedding of one model. */
typedef struct nt_rope_cfg {
    int64_t n_rot;             /* rotated dimensions per head (even) */
    float freq_base;
    float freq_scale;          /* positions are scaled by it (linear scaling: 1/factor) */
    const float *freq_factors; /* n_rot/2 divisors of each pair's frequency, or NULL */
    int neox;
    float mscale;              /* multiplies cos and sin (attention factor); 0 means 1 */
} nt_rope_cfg;

/* Rotate pairs of one head vector of size head_dim at position pos.
 * Normal (interleaved) mode: pairs (2i, 2i+1), as Llama's GGUF layout has it.
 * NeoX mode: pairs (i, i + n_rot/2), i.e. (i, i + head_dim/2) when all
 * dimensions rotate, as ggml does. For i < n_rot/2,
 * theta_i = pos * freq_scale * base^(-2i/n_rot) / freq_factors[i],
 * rotated by mscale * (cos, sin); dimensions from n_rot on are left as
 * they are. */
void nt_rope(float *head, int64_t head_dim, int64_t pos, const nt_rope_cfg *cfg);

/* nt_rope in two halves, for many heads at one position: the rotation of
 * each pair (cos_t, sin_t: min(n_rot, head_dim) / 2 each), then a head
 * rotated by it; together bitwise nt_rope at the same head_dim, pos, cfg. */
void nt_rope_angles(double *cos_t, double *sin_t, int64_t head_dim, int64_t pos, const nt_rope_cfg *cfg);
void nt_rope_apply(float *head, int64_t head_dim, const nt_rope_cfg *cfg, const double *cos_t, const double *sin_t);

#endif
