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

/* A call for a group of query heads gives each head the bytes of a call
 * for that head alone (scores and sums; 5 heads: a full set of 4 that
 * share the value rows' registers and one left over). */
static void group_matches_single_heads(const nt_type_kernels *k, const unsigned char *krows,
                                       const unsigned char *vrows, size_t stride, int64_t n, int64_t hd)
{
    enum { NH = 5 };
    const int64_t sc_stride = n + 3; /* rows of scores apart, not packed */
    float *q = malloc((size_t)(NH * hd) * sizeof *q), *sc = malloc((size_t)(NH * sc_stride) * sizeof *sc);
    float *one = malloc((size_t)n * sizeof *one), *out = calloc((size_t)(NH * hd), sizeof *out);
    float *solo = malloc((size_t)hd * sizeof *solo);
    cr_assert(q && sc && one && out && solo);
    for (int64_t i = 0; i < NH * hd; i++) q[i] = rnd();
    k->attn_scores(q, NH, krows, stride, n, hd, 0.125f, sc, sc_stride);
    for (int h = 0; h < NH; h++) {
        k->attn_scores(q + h * hd, 1, krows, stride, n, hd, 0.125f, one, n);
        cr_assert(memcmp(one, sc + h * sc_stride, (size_t)n * sizeof *one) == 0, "hd %lld head %d: group scores differ",
                  (long long)hd, h);
        for (int64_t j = 0; j < n; j++) sc[h * sc_stride + j] = fabsf(rnd());
    }
    k->attn_accum(out, NH, sc, sc_stride, vrows, stride, n, hd);
    for (int h = 0; h < NH; h++) {
        for (int64_t i = 0; i < hd; i++) solo[i] = 0.0f;
        k->attn_accum(solo, 1, sc + h * sc_stride, n, vrows, stride, n, hd);
        cr_assert(memcmp(solo, out + h * hd, (size_t)hd * sizeof *solo) == 0, "hd %lld head %d: group sums differ",
                  (long long)hd, h);
    }
    free(q), free(sc), free(one), free(out), free(solo);
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
                k->attn_scores(q, 1, krows, stride, n, hd, scale, scores, n);
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
                k->attn_accum(out, 1, scores, n, vrows, stride, n, hd);
                cr_assert(out[hd] == 12345.0f, "accum wrote past the head");
                /* keys split in two runs (a ring buffer's wrap) add up to the same bits */
                float split[257];
                for (int64_t i = 0; i < hd; i++) split[i] = 0.0f;
                const int64_t n1 = n / 3;
                k->attn_accum(split, 1, scores, n, vrows, stride, n1, hd);
                k->attn_accum(split, 1, scores + n1, n, vrows + (size_t)n1 * stride, stride, n - n1, hd);
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
                group_matches_single_heads(k, krows, vrows, stride, n, hd);
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

/* One layer's attention at depth through nt_attention, on every ISA and
 * row type: the output of a token is the same bytes on 1 to 4 threads
 * (the jobs take one or several KV heads, or a share of a group's query
 * heads) and whether the token comes alone or in a batch with others.
 * 8 query heads share 2 KV heads (groups of 4); 3 KV heads also leave
 * threads and KV heads without a common divisor. The depth spans several
 * segments and ends off a 16-key group. */
#include "core/pool.h"
#include "forward/forward.h"
#include "kvcache/kvcache.h"

static void attention_at_depth(uint32_t type, int32_t n_head, int32_t n_head_kv)
{
    enum { HD = 64, DEPTH = 611, NB = 5 };
    const int32_t n_ctx = DEPTH + NB + 8, dim = n_head * HD, kv_dim = n_head_kv * HD;
    nt_kvcache c;
    cr_assert(nt_kvcache_init(&c, type, 1, n_ctx, n_head_kv, HD, NULL, NB) == NEXTTOK_OK);
    cr_assert(nt_kv_prepare(&c, 0, DEPTH + NB) == NEXTTOK_OK);
    nt_kv_view view = {&c};
    float *k = malloc(sizeof(float) * kv_dim), *v = malloc(sizeof(float) * kv_dim);
    float *q = malloc(sizeof(float) * dim * NB);
    const int64_t att_stride = (n_ctx + HD + 15) / 16 * 16;
    float *att = malloc(sizeof(float) * (size_t)(n_head * att_stride));
    float *want = malloc(sizeof(float) * dim * NB), *got = malloc(sizeof(float) * dim * NB);
    cr_assert(k && v && q && att && want && got);
    for (int32_t p = 0; p < DEPTH + NB; p++) {
        for (int32_t i = 0; i < kv_dim; i++) k[i] = rnd(), v[i] = rnd();
        nt_kv_store(&view, 0, p, k, v);
    }
    for (int32_t i = 0; i < dim * NB; i++) q[i] = rnd();
    nt_scratch sc = {0};
    sc.att = att;
    sc.att_stride = att_stride;
    int32_t pos[NB];
    for (int32_t t = 0; t < NB; t++) pos[t] = DEPTH + t;
    for (int isa = 0; isa < NT_ISA_COUNT; isa++) {
        if (!nt_isa_supported((nt_isa)isa)) continue;
        const int prev = nt_isa_thread_set(isa);
        for (int32_t threads = 1; threads <= 4; threads++) {
            nt_pool *pool = NULL;
            if (threads > 1) cr_assert(nt_pool_create(threads, &pool) == NEXTTOK_OK);
            /* the NB tokens one at a time, then together */
            for (int32_t t = 0; t < NB; t++) {
                nt_batch b = {.n_tok = 1, .pos = &pos[t]};
                nt_attention_args a = {q + t * dim, dim, &view, &b, 0, (threads == 1 ? want : got) + t * dim,
                                       &sc, n_head, n_head_kv, HD, 0.125f, 0.0f, 0};
                nt_attention(pool, &a);
            }
            if (threads > 1)
                cr_assert(memcmp(got, want, sizeof(float) * dim * NB) == 0, "%s %s, %d KV heads: %d threads differ",
                          nt_isa_name((nt_isa)isa), nt_type_traits_get(type)->name, n_head_kv, threads);
            nt_batch b = {.n_tok = NB, .pos = pos};
            nt_attention_args a = {q, dim, &view, &b, 0, got, &sc, n_head, n_head_kv, HD, 0.125f, 0.0f, 0};
            nt_attention(pool, &a);
            cr_assert(memcmp(got, want, sizeof(float) * dim * NB) == 0, "%s %s, %d KV heads, %d threads: batch differs",
                      nt_isa_name((nt_isa)isa), nt_type_traits_get(type)->name, n_head_kv, threads);
            nt_pool_free(pool);
        }
        nt_isa_thread_set(prev);
    }
    nt_kvcache_release(&c);
    free(k), free(v), free(q), free(att), free(want), free(got);
}

Test(attention, at_depth_same_bytes_on_any_threads_and_batch)
{
    const uint32_t types[] = {NT_TYPE_F32, NT_TYPE_F16, NT_TYPE_Q8_0};
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        attention_at_depth(types[ti], 8, 2);
        attention_at_depth(types[ti], 12, 3);
    }
}
