/*
 * Weight-type traits: the one table that drives dispatch. A row of types.c
 * gives a ggml type's block size, bytes per block and fast-mode activation
 * type; each ISA's file exports a table of its kernels by type
 * (nt_isa_kernels), and a missing entry falls back to the scalar table.
 * Adding a type means a row in types.c, its kernels, and their entries in
 * the ISA tables, nothing else.
 */
#ifndef NT_TYPES_H
#define NT_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/isa.h"

/* ggml type ids as GGUF stores them. */
enum {
    NT_TYPE_F32 = 0,
    NT_TYPE_F16 = 1,
    NT_TYPE_Q4_0 = 2,
    NT_TYPE_Q4_1 = 3,
    NT_TYPE_Q5_0 = 6,
    NT_TYPE_Q5_1 = 7,
    NT_TYPE_Q8_0 = 8,
    NT_TYPE_Q8_1 = 9,
    NT_TYPE_Q2_K = 10,
    NT_TYPE_Q3_K = 11,
    NT_TYPE_Q4_K = 12,
    NT_TYPE_Q5_K = 13,
    NT_TYPE_Q6_K = 14,
    NT_TYPE_Q8_K = 15,
    NT_TYPE_I8 = 24,
    NT_TYPE_I16 = 25,
    NT_TYPE_I32 = 26,
    NT_TYPE_I64 = 27,
    NT_TYPE_F64 = 28,
    NT_TYPE_BF16 = 30,
    NT_TYPE_ID_LIMIT = 64 /* ids at or above this are unknown */
};


/* Dequantize n values (n a multiple of the block size) into dst. */
typedef void (*nt_to_float_fn)(const void *src, float *dst, int64_t n);
/* Quantize n F32 values (n a multiple of the block size) into dst. */
typedef void (*nt_from_float_fn)(const float *src, void *dst, int64_t n);
/* Dot product of n weights of a type (one row) with n F32 values. */
typedef float (*nt_vec_dot_fn)(int64_t n, const void *w, const float *x);
/* Multi-token dots over a span of one row: out[t] = dot(row w, x + t*stride)
 * for t < the ISA's dotk_tokens, over values [i0, i1) of the n in the row,
 * so long rows can be processed in blocks that keep x in L1. The running
 * accumulators go to `state` (NT_DOTK_STATE_FLOATS floats) when i1 < n and
 * are read back when i0 > 0; out is written when i1 == n. i0 must be a
 * multiple of NT_DOTK_ALIGN; state may be NULL for a whole row. Each token's
 * result is bitwise the same ISA's vec_dot. */
typedef void (*nt_dotk_fn)(int64_t n, const void *w, const float *x, int64_t stride,
                           int64_t i0, int64_t i1, float *state, float *out);
/* Register-blocked product of n_rows weight rows (row_bytes apart) with
 * n_tok activation rows (x_stride floats apart): y[t * y_stride + r] =
 * vec_dot(n, row r, x + t * x_stride), bitwise that ISA's vec_dot, for any
 * n, n_rows and n_tok. `next` (may be NULL) is a hint: next_bytes of the
 * rows the caller will probably multiply next, prefetched (never read)
 * while these are multiplied. */
typedef void (*nt_gemm_fn)(int64_t n, const void *w, size_t row_bytes, int64_t n_rows, const float *x,
                           int64_t x_stride, int64_t n_tok, float *y, int64_t y_stride, const void *next,
                           size_t next_bytes);
#define NT_DOTK_MAX 4
#define NT_DOTK_STATE_FLOATS 256 /* 4 tokens x 4 accumulators x 16 lanes */
#define NT_DOTK_ALIGN 64         /* the widest main-loop step (AVX-512) */

/* Fast mode (kernels/qdot.h): activations quantized to 8-bit blocks and
 * integer dots with the weights' quants. */
typedef void (*nt_quantize_act_fn)(const float *x, void *dst, int64_t n);
typedef float (*nt_vec_dot_q_fn)(int64_t n, const void *w, const void *xq);
typedef void (*nt_dotk_q_fn)(int64_t n, const void *w, const void *xq, size_t xq_stride, int k,
                             float *out);
/* Tokens per pass over a row: a batch of 8 sessions' decodes, or 8 rows
 * of a prefill, read and unpack each weight block once. */
#define NT_DOTK_Q_MAX 8
/* dotk_q for k (1..NT_DOTK_Q_MAX) tokens that also reads xp, the same
 * activations in the packed layout of kernels/qdot.h (nt_q8a_pack), each
 * token's packed row xq_stride bytes after the last; out[t] bitwise
 * vec_dot_q of token t. */
typedef void (*nt_dotk_qp_fn)(int64_t n, const void *w, const void *xq, const void *xp, size_t xq_stride,
                              int k, float *out);

/* Attention over KV rows of a type, for the nh query heads of one KV
 * head's group (head h at q + h * hd, its scores at scores + h *
 * sc_stride): scores[j] = scale * (q . K_j) for the n key heads at k + j *
 * stride bytes, and out += sum_j w[j] V_j (head h at out + h * hd, its
 * weights at w + h * w_stride) for the value heads at v + j * stride, one
 * running sum per value in the order of j: the caller zeroes out first,
 * and a run of keys split in two (a ring buffer's wrap) gives the same
 * bits. A head's results are the same bits whatever nh: a call reads each
 * row once for all its heads. */
typedef void (*nt_attn_scores_fn)(const float *q, int32_t nh, const void *k, size_t stride, int64_t n,
                                  int64_t hd, float scale, float *scores, int64_t sc_stride);
typedef void (*nt_attn_accum_fn)(float *out, int32_t nh, const float *w, int64_t w_stride, const void *v,
                                 size_t stride, int64_t n, int64_t hd);

/* The activation blocks a type multiplies with in fast mode. */
typedef enum nt_act_type {
    NT_ACT_F32 = 0, /* float types: F32 activations in both modes */
    NT_ACT_Q8A,     /* 32-value blocks (kernels/qdot.h nt_q8a_block) */
    NT_ACT_Q8K,     /* 256-value blocks (nt_q8k_block) */
    NT_ACT_COUNT
} nt_act_type;

/* What a type is: its layout, and the activations fast mode gives it. */
typedef struct nt_type_traits {
    const char *name;        /* "F32", "Q8_0", ... as ggml names them */
    int32_t blck_size;       /* values per block */
    int32_t type_size;       /* bytes per block */
    nt_act_type act;
    bool computable;         /* the scalar table has its decoder and dot */
} nt_type_traits;

/* One ISA's kernels for one type. NULL where that ISA has none; see
 * nt_type_kernels_isa for the fallback. */
typedef struct nt_type_kernels {
    nt_to_float_fn to_float;     /* row decoder (same values on every ISA) */
    nt_from_float_fn from_float; /* row encoder (KV cache rows) */
    nt_vec_dot_fn vec_dot;       /* exact mode: F32 activations */
    nt_dotk_fn dotk;             /* ... for dotk_tokens tokens at once */
    nt_dotk_fn dotk_decoded;     /* quantized types: a multi-token F32 dot
                                    over rows decoded with to_float that
                                    gives bitwise vec_dot */
    nt_gemm_fn gemm;             /* ... for blocks of rows and tokens */
    nt_gemm_fn gemm_decoded;     /* quantized types: the F32 gemm, over
                                    rows decoded with to_float */
    int32_t gemm_rows;           /* rows of a tile of gemm (or gemm_decoded):
                                    a chunk of rows given to it is a
                                    multiple of this, the rest go dot by dot */
    nt_vec_dot_q_fn vec_dot_q;   /* fast mode: quantized activations */
    nt_dotk_q_fn dotk_q;         /* ... for up to NT_DOTK_Q_MAX tokens */
    nt_dotk_qp_fn dotk_qp;       /* ... with packed activations too, or NULL */
    nt_dotk_qp_fn dotk_qt;       /* ... with the transposed layout instead
                                    (kernels/qdot.h nt_q8a_pack_t), or NULL */
    nt_attn_scores_fn attn_scores; /* KV rows of this type (no scalar */
    nt_attn_accum_fn attn_accum;   /*   fallback: NULL where the ISA has none) */
} nt_type_kernels;

typedef void (*nt_axpy_fn)(float *y, float a, const float *x, int64_t n);
/* x = softmax(x) in place (kernels/exp_poly.h: bitwise the same on every ISA) */
typedef void (*nt_softmax_fn)(float *x, int64_t n);

/* The activations of ops.c (kernels/act_<isa>.c): bitwise the scalar
 * reference on every input, so portable sessions may use them too. */
typedef void (*nt_act_fn)(float *x, int64_t n);
typedef void (*nt_gated_act_fn)(float *gate, const float *up, int64_t n);
typedef void (*nt_exp_f64_fn)(double *y, const double *x, int64_t n); /* y = nt_pexp(x) */

/* The kernels one ISA file exports, indexed by ggml type id. */
typedef struct nt_isa_kernels {
    int32_t dotk_tokens;                    /* tokens per dotk call */
    nt_axpy_fn axpy_f32;                    /* y += a * x */
    nt_softmax_fn softmax_f32;              /* attention's softmax */
    nt_quantize_act_fn quantize[NT_ACT_COUNT]; /* by activation type */
    nt_type_kernels type[NT_TYPE_ID_LIMIT];
    nt_act_fn gelu_f32;                     /* x = gelu_tanh(x) */
    nt_gated_act_fn silu_mul_f32;           /* gate = silu(gate) * up */
    nt_gated_act_fn gelu_mul_f32;           /* gate = gelu_tanh(gate) * up */
    nt_exp_f64_fn exp_f64;
    /* The scalar table's dots, bitwise, with this ISA's instructions: the
     * scalar row takes them where the CPU has the ISA, so portable sessions
     * and NEXTTOK_ISA=scalar give the reference's bits at vector speed. */
    nt_vec_dot_fn scalar_dot[NT_TYPE_ID_LIMIT];
} nt_isa_kernels;

/* The row for ggml type id `type`, or NULL when the id is unknown. */
const nt_type_traits *nt_type_traits_get(uint32_t type);

/* True when we can run a forward pass with weights of this type. */
bool nt_type_is_computable(uint32_t type);

/* The table an ISA's file exports as it is (NULL for an ISA this build
 * lacks): what that ISA has of its own. */
const nt_isa_kernels *nt_isa_kernels_get(nt_isa isa);

/* The kernels of `type` on `isa` with the fallback filled in: each entry
 * the ISA lacks is the scalar one. A dot and its multi-token form fall back
 * together, so a batch always agrees bitwise with the single dot.
 * NULL for an unknown type or an ISA this build lacks. */
const nt_type_kernels *nt_type_kernels_isa(uint32_t type, nt_isa isa);

/* The same for the active ISA. */
const nt_type_kernels *nt_type_kernels_get(uint32_t type);

/* The activation quantizer of `act` on `isa` (falls back to scalar). */
nt_quantize_act_fn nt_act_quantizer(nt_act_type act, nt_isa isa);

/* Bytes of n activations quantized for `act` (n a multiple of its block). */
int64_t nt_act_row_bytes(nt_act_type act, int64_t n);

/* The exact-mode dot product for the active ISA (falls back to scalar). */
nt_vec_dot_fn nt_type_vec_dot(uint32_t type);

/* Bytes of n values of `type`; false when n is not a multiple of the block
 * size or the size overflows. */
bool nt_type_row_bytes(uint32_t type, int64_t n, uint64_t *bytes_out);

/* --- scalar conversions shared by kernels and tests ----------------------- */
/* F16 and BF16 to F32 are exact, so any method gives the same bits; these
 * are inline and free of branches so that the scalar kernels' loops over
 * them vectorize (with the baseline SSE2 or NEON). A subnormal F16 is
 * man * 2^-24: both factors and the product are exact F32 values, so the
 * float multiply rounds nothing under any rounding mode. */
static inline float nt_fp16_to_fp32(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t em = h & 0x7fffu; /* exponent and mantissa */
    const uint32_t exp = em >> 10;
    /* rebias the exponent: +112, or to 255 for infinities and NaNs */
    uint32_t bits = (em << 13) + (exp == 0x1fu ? 0x70000000u : 0x38000000u);
    const float sub = (float)(int32_t)em * 0x1p-24f;
    uint32_t sub_bits;
    memcpy(&sub_bits, &sub, sizeof sub_bits);
    bits = exp == 0 ? sub_bits : bits;
    bits |= sign;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline float nt_bf16_to_fp32(uint16_t h)
{
    const uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t nt_fp32_to_fp16(float f);   /* round to nearest even */
uint16_t nt_fp32_to_bf16(float f);   /* round to nearest even */

#endif
