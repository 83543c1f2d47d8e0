/* Attention's per-ISA loops (scores of a query head against a run of key
 * heads, and the weighted sum of value heads) against a double-precision
 * reference, for F32, F16 and Q8_0 rows and head sizes that do and do not fill
 * whole vectors (Q8_0: heads of whole 32-value blocks). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support/harness.h"

#include "core/isa.h"
#include "types/types.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static float rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((double)(rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* Row j's head value i as the cache holds it (F16 rounded). */
static double value(uint32_t type, const unsigned char *rows, size_t stride, int64_t j, int64_t i)
{
    const unsigned char *r = rows + (size_t)j * stride;
    if (type == NT_TYPE_F32) {
        float f;
        memcpy(&f, r + 4 * i, 4);
        return f;
    }
    if (type == NT_TYPE_Q8_0) { /* {F16 d; int8 q[32]} blocks */
        const unsigned char *blk = r + (i / 32) * 34;
        uint16_t h;
        memcpy(&h, blk, 2);
        return (double)nt_fp16_to_fp32(h) * (double)(int8_t)blk[2 + i % 32];
    }
    uint16_t h;
    memcpy(&h, r + 2 * i, 2);
    return nt_fp16_to_fp32(h);
}

Test(attention, isa_loops_match_a_double_reference)
{
    const uint32_t types[] = {NT_TYPE_F32, NT_TYPE_F16, NT_TYPE_Q8_0};
    const int64_t hds[] = {8, 16, 40, 64, 72, 128, 256};
    const int64_t n = 37; /* keys */
    int checked = 0;
    for (int isa = 0; isa < NT_ISA_COUNT; isa++) {
        if (!nt_isa_supported((nt_isa)isa)) continue;
        for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++)
            for (size_t hi = 0; hi < sizeof hds / sizeof hds[0]; hi++) {
                const nt_type_kernels *k = nt_type_kernels_isa(types[ti], (nt_isa)isa);
                if (!k->attn_scores) continue;
                cr_assert(k->attn_accum, "scores without accum");
                const int64_t hd = hds[hi];
                if (types[ti] == NT_TYPE_Q8_0 && hd % 32 != 0) continue; /* heads are whole blocks */
                uint64_t head_bytes = 0;
                cr_assert(nt_type_row_bytes(types[ti], hd, &head_bytes));
                const size_t stride = (size_t)head_bytes + 96; /* other heads between rows */
                unsigned char *krows = calloc((size_t)n, stride), *vrows = calloc((size_t)n, stride);
                float *q = malloc((size_t)hd * sizeof *q), *x = malloc((size_t)hd * sizeof *x);
                float *scores = malloc((size_t)n * sizeof *scores), *out = malloc((size_t)(hd + 1) * sizeof *out);
                cr_assert(krows && vrows && q && x && scores && out);
                const nt_type_kernels *enc = nt_type_kernels_isa(types[ti], NT_ISA_SCALAR);
                for (int64_t j = 0; j < n; j++) {
                    for (int64_t i = 0; i < hd; i++) x[i] = rnd();
                    enc->from_float(x, krows + (size_t)j * stride, hd);
                    for (int64_t i = 0; i < hd; i++) x[i] = rnd();
                    enc->from_float(x, vrows + (size_t)j * stride, hd);
                }
                for (int64_t i = 0; i < hd; i++) q[i] = rnd();
                const float scale = 0.125f;
                k->attn_scores(q, krows, stride, n, hd, scale, scores);
                for (int64_t j = 0; j < n; j++) {
                    double want = 0.0, mag = 0.0;
                    for (int64_t i = 0; i < hd; i++) {
                        want += (double)q[i] * value(types[ti], krows, stride, j, i);
                        mag += fabs((double)q[i] * value(types[ti], krows, stride, j, i));
                    }
                    want *= scale;
                    cr_assert(fabs(scores[j] - want) <= (double)(hd + 2) * 1.2e-7 * mag * scale + 1e-30,
                              "%s %s hd %lld key %lld: %.9g vs %.9g", nt_isa_name((nt_isa)isa),
                              nt_type_traits_get(types[ti])->name, (long long)hd, (long long)j, scores[j], want);
                }
                for (int64_t j = 0; j < n; j++) scores[j] = fabsf(rnd());
                out[hd] = 12345.0f; /* must stay untouched */
                for (int64_t i = 0; i < hd; i++) out[i] = 0.0f;
                k->attn_accum(out, scores, vrows, stride, n, hd);
                cr_assert(out[hd] == 12345.0f, "accum wrote past the head");
                /* keys split in two runs (a ring buffer's wrap) add up to the same bits */
                float split[257];
                for (int64_t i = 0; i < hd; i++) split[i] = 0.0f;
                const int64_t n1 = n / 3;
                k->attn_accum(split, scores, vrows, stride, n1, hd);
                k->attn_accum(split, scores + n1, vrows + (size_t)n1 * stride, stride, n - n1, hd);
                cr_assert(memcmp(split, out, (size_t)hd * sizeof *out) == 0, "%s %s hd %lld: split accum differs",
                          nt_isa_name((nt_isa)isa), nt_type_traits_get(types[ti])->name, (long long)hd);
                for (int64_t i = 0; i < hd; i++) {
                    double want = 0.0, mag = 0.0;
                    for (int64_t j = 0; j < n; j++) {
                        want += (double)scores[j] * value(types[ti], vrows, stride, j, i);
                        mag += fabs((double)scores[j] * value(types[ti], vrows, stride, j, i));
                    }
                    cr_assert(fabs(out[i] - want) <= (double)(n + 2) * 1.2e-7 * mag + 1e-30,
                              "%s %s hd %lld value %lld: %.9g vs %.9g", nt_isa_name((nt_isa)isa),
                              nt_type_traits_get(types[ti])->name, (long long)hd, (long long)i, out[i], want);
                }
                checked++;
                free(krows);
                free(vrows);
                free(q);
                free(x);
                free(scores);
                free(out);
            }
    }
#if defined(__x86_64__)
    if (nt_isa_supported(NT_ISA_AVX2)) cr_assert(checked >= 17, "only %d cases had ISA loops", checked);
#endif
    cr_log_info("attention loops checked: %d cases", checked);
}
