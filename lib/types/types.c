/* The weight-type traits table. Block sizes and bytes per block follow
 * ggml's definitions (kernels/quant_blocks.h, checked below); the kernels
 * live in the ISA tables (kernels/table_<isa>.c). */
#include "types/types.h"

#include <pthread.h>
#include <string.h>

#include "core/isa.h"
#include "types/block_layouts.h"
#include "types/type_kernels.h"

/* Bytes per block, from ggml-common.h's structs: scales as F16 (2 bytes),
 * quants packed by their width. */
_Static_assert(NT_Q4_0_BYTES == 2 + NT_QK32 / 2, "Q4_0 block");
_Static_assert(NT_Q4_1_BYTES == 4 + NT_QK32 / 2, "Q4_1 block");
_Static_assert(NT_Q5_0_BYTES == 2 + 4 + NT_QK32 / 2, "Q5_0 block");
_Static_assert(NT_Q5_1_BYTES == 4 + 4 + NT_QK32 / 2, "Q5_1 block");
_Static_assert(NT_Q8_0_BYTES == 2 + NT_QK32, "Q8_0 block");
_Static_assert(NT_Q2_K_BYTES == NT_QK_K / 16 + NT_QK_K / 4 + 4, "Q2_K block");
_Static_assert(NT_Q3_K_BYTES == NT_QK_K / 8 + NT_QK_K / 4 + 12 + 2, "Q3_K block");
_Static_assert(NT_Q4_K_BYTES == 4 + 12 + NT_QK_K / 2, "Q4_K block");
_Static_assert(NT_Q5_K_BYTES == 4 + 12 + NT_QK_K / 8 + NT_QK_K / 2, "Q5_K block");
_Static_assert(NT_Q6_K_BYTES == NT_QK_K / 2 + NT_QK_K / 4 + NT_QK_K / 16 + 2, "Q6_K block");
_Static_assert(NT_Q8A_VALUES == NT_QK32 && NT_Q8K_VALUES == NT_QK_K, "activation blocks match the weights'");

static const nt_type_traits nt_traits[NT_TYPE_ID_LIMIT] = {
    [NT_TYPE_F32] = {"F32", 1, 4, NT_ACT_F32, true},
    [NT_TYPE_F16] = {"F16", 1, 2, NT_ACT_F32, true},
    [NT_TYPE_BF16] = {"BF16", 1, 2, NT_ACT_F32, true},
    [NT_TYPE_Q4_0] = {"Q4_0", NT_QK32, NT_Q4_0_BYTES, NT_ACT_Q8A, true},
    [NT_TYPE_Q4_1] = {"Q4_1", NT_QK32, NT_Q4_1_BYTES, NT_ACT_Q8A, true},
    [NT_TYPE_Q5_0] = {"Q5_0", NT_QK32, NT_Q5_0_BYTES, NT_ACT_Q8A, true},
    [NT_TYPE_Q5_1] = {"Q5_1", NT_QK32, NT_Q5_1_BYTES, NT_ACT_Q8A, true},
    [NT_TYPE_Q8_0] = {"Q8_0", NT_QK32, NT_Q8_0_BYTES, NT_ACT_Q8A, true},
    [NT_TYPE_Q8_1] = {"Q8_1", NT_QK32, 4 + NT_QK32, NT_ACT_F32, false},
    [NT_TYPE_Q2_K] = {"Q2_K", NT_QK_K, NT_Q2_K_BYTES, NT_ACT_Q8K, true},
    [NT_TYPE_Q3_K] = {"Q3_K", NT_QK_K, NT_Q3_K_BYTES, NT_ACT_Q8K, true},
    [NT_TYPE_Q4_K] = {"Q4_K", NT_QK_K, NT_Q4_K_BYTES, NT_ACT_Q8K, true},
    [NT_TYPE_Q5_K] = {"Q5_K", NT_QK_K, NT_Q5_K_BYTES, NT_ACT_Q8K, true},
    [NT_TYPE_Q6_K] = {"Q6_K", NT_QK_K, NT_Q6_K_BYTES, NT_ACT_Q8K, true},
    [NT_TYPE_Q8_K] = {"Q8_K", NT_QK_K, 4 + NT_QK_K + NT_QK_K / 16 * 2, NT_ACT_F32, false},
    [NT_TYPE_I8] = {"I8", 1, 1, NT_ACT_F32, false},
    [NT_TYPE_I16] = {"I16", 1, 2, NT_ACT_F32, false},
    [NT_TYPE_I32] = {"I32", 1, 4, NT_ACT_F32, false},
    [NT_TYPE_I64] = {"I64", 1, 8, NT_ACT_F32, false},
    [NT_TYPE_F64] = {"F64", 1, 8, NT_ACT_F32, false},
};

const nt_type_traits *nt_type_traits_get(uint32_t type)
{
    if (type >= NT_TYPE_ID_LIMIT || nt_traits[type].name == NULL) return NULL;
    return &nt_traits[type];
}

bool nt_type_is_computable(uint32_t type)
{
    const nt_type_traits *t = nt_type_traits_get(type);
    return t && t->computable;
}

/* The ISA tables this build has (kernels/table_<isa>.c). */
extern const nt_isa_kernels nt_kernels_scalar;
#if NT_HAVE_X86
extern const nt_isa_kernels nt_kernels_avx2, nt_kernels_avx512;
#endif
#if NT_HAVE_NEON
extern const nt_isa_kernels nt_kernels_neon;
#endif

const nt_isa_kernels *nt_isa_kernels_get(nt_isa isa)
{
    switch (isa) {
    case NT_ISA_SCALAR: return &nt_kernels_scalar;
#if NT_HAVE_X86
    case NT_ISA_AVX2: return &nt_kernels_avx2;
    case NT_ISA_AVX512: return &nt_kernels_avx512;
#endif
#if NT_HAVE_NEON
    case NT_ISA_NEON: return &nt_kernels_neon;
#endif
    default: return NULL;
    }
}

/* Every ISA's table with the scalar entries filled in, built once. */
static nt_type_kernels nt_merged[NT_ISA_COUNT][NT_TYPE_ID_LIMIT];
static pthread_once_t nt_merged_once = PTHREAD_ONCE_INIT;

/* The scalar row's dots from the first ISA this CPU has with a bitwise
 * replica of them (nt_isa_kernels.scalar_dot), else the plain C. */
static void nt_merge_scalar_replicas(void)
{
    for (int isa = 0; isa < NT_ISA_COUNT; isa++) {
        const nt_isa_kernels *k = nt_isa_kernels_get((nt_isa)isa);
        if (!k || isa == NT_ISA_SCALAR || !nt_isa_supported((nt_isa)isa)) continue;
        for (int t = 0; t < NT_TYPE_ID_LIMIT; t++) {
            nt_type_kernels *m = &nt_merged[NT_ISA_SCALAR][t];
            if (k->scalar_dot[t] && m->vec_dot == nt_kernels_scalar.type[t].vec_dot) m->vec_dot = k->scalar_dot[t];
        }
    }
}

static void nt_merge_tables(void)
{
    const nt_isa_kernels *sc = &nt_kernels_scalar;
    for (int isa = 0; isa < NT_ISA_COUNT; isa++) {
        const nt_isa_kernels *k = nt_isa_kernels_get((nt_isa)isa);
        if (!k) continue;
        for (int t = 0; t < NT_TYPE_ID_LIMIT; t++) {
            const nt_type_kernels *own = &k->type[t], *ref = &sc->type[t];
            nt_type_kernels *m = &nt_merged[isa][t];
            m->to_float = own->to_float ? own->to_float : ref->to_float;
            m->from_float = own->from_float ? own->from_float : ref->from_float;
            if (own->vec_dot) {
                m->vec_dot = own->vec_dot;
                m->dotk = own->dotk;
                m->dotk_decoded = own->dotk_decoded;
                m->gemm = own->gemm;
                m->gemm_decoded = own->gemm_decoded;
                m->gemm_rows = own->gemm_rows;
            } else {
                m->vec_dot = ref->vec_dot;
                m->dotk = ref->dotk;
                m->dotk_decoded = ref->dotk_decoded;
                m->gemm = ref->gemm;
                m->gemm_decoded = ref->gemm_decoded;
                m->gemm_rows = ref->gemm_rows;
            }
            m->attn_scores = own->attn_scores;
            m->attn_accum = own->attn_accum;
            if (own->vec_dot_q) {
                m->vec_dot_q = own->vec_dot_q;
                m->dotk_q = own->dotk_q;
                m->dotk_qp = own->dotk_qp;
                m->dotk_qt = own->dotk_qt;
            } else {
                m->vec_dot_q = ref->vec_dot_q;
                m->dotk_q = ref->dotk_q;
                m->dotk_qp = ref->dotk_qp;
                m->dotk_qt = ref->dotk_qt;
            }
        }
    }
    nt_merge_scalar_replicas();
}

const nt_type_kernels *nt_type_kernels_isa(uint32_t type, nt_isa isa)
{
    if (!nt_type_traits_get(type) || (unsigned)isa >= NT_ISA_COUNT || !nt_isa_kernels_get(isa)) return NULL;
    pthread_once(&nt_merged_once, nt_merge_tables);
    return &nt_merged[isa][type];
}

const nt_type_kernels *nt_type_kernels_get(uint32_t type)
{
    return nt_type_kernels_isa(type, nt_isa_active());
}

nt_quantize_act_fn nt_act_quantizer(nt_act_type act, nt_isa isa)
{
    if ((unsigned)act >= NT_ACT_COUNT) return NULL;
    const nt_isa_kernels *k = nt_isa_kernels_get(isa);
    if (k && k->quantize[act]) return k->quantize[act];
    return nt_kernels_scalar.quantize[act];
}

int64_t nt_act_row_bytes(nt_act_type act, int64_t n)
{
    switch (act) {
    case NT_ACT_Q8A: return n / NT_Q8A_VALUES * (int64_t)sizeof(nt_q8a_block);
    case NT_ACT_Q8K: return n / NT_Q8K_VALUES * (int64_t)sizeof(nt_q8k_block);
    default: return n * (int64_t)sizeof(float);
    }
}

nt_vec_dot_fn nt_type_vec_dot(uint32_t type)
{
    const nt_type_kernels *k = nt_type_kernels_get(type);
    return k ? k->vec_dot : NULL;
}

bool nt_type_row_bytes(uint32_t type, int64_t n, uint64_t *bytes_out)
{
    const nt_type_traits *t = nt_type_traits_get(type);
    if (!t || n < 0 || n % t->blck_size != 0) return false;
    uint64_t blocks = (uint64_t)(n / t->blck_size);
    if (blocks > UINT64_MAX / (uint64_t)t->type_size) return false;
    *bytes_out = blocks * (uint64_t)t->type_size;
    return true;
}

uint16_t nt_fp32_to_fp16(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t absx = x & 0x7fffffffu;
    if (absx > 0x7f800000u) return (uint16_t)(sign | 0x7e00); /* NaN */
    if (absx >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* overflow to inf */
    if (absx < 0x38800000u) { /* subnormal or zero in half */
        if (absx < 0x33000000u) return (uint16_t)sign;
        uint32_t man = (absx & 0x7fffff) | 0x800000;
        int shift = 126 - (int)(absx >> 23); /* 14..24 */
        uint32_t half = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t r = absx - 0x38000000u; /* rebias exponent */
    uint32_t half = r >> 13;
    uint32_t rem = r & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++;
    return (uint16_t)(sign | half);
}

uint16_t nt_fp32_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40); /* quiet NaN */
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}
