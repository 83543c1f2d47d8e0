/* Run states: the scratch an architecture asks for, sized for NT_BATCH
 * tokens, and the architectures' passes. */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "forward/forward.h"
#include "types/types.h"

typedef struct nt_forward_row {
    nt_forward_fn forward;
    void (*scratch)(const nexttok_model *m, nt_scratch_dims *d);
} nt_forward_row;

/* The passes the architecture table's rows name. */
static const nt_forward_row nt_forward_rows[] = {
    [NT_PASS_GPT2] = {nt_forward_gpt2, nt_forward_gpt2_scratch},
    [NT_PASS_DECODER] = {nt_forward_decoder, nt_forward_decoder_scratch},
};

nt_forward_fn nt_forward_for(const nexttok_model *m) { return nt_forward_rows[m->arch->pass].forward; }

/* count * width floats, 64-byte aligned for the SIMD kernels; a zero
 * width gives no buffer and no error. */
static bool floats(float **out, int64_t count, int64_t width)
{
    *out = NULL;
    if (width == 0) return true;
    if (count <= 0 || width < 0 || (uint64_t)count > SIZE_MAX / sizeof(float) / (uint64_t)width) return false;
    *out = nt_aligned_alloc(64, (size_t)count * (size_t)width * sizeof(float));
    return *out != NULL;
}

/* The widest quantized-activation row any weight of the model needs in
 * fast mode, in bytes. */
static int64_t widest_act_row(const nexttok_model *m, const nt_scratch_dims *d)
{
    const int64_t widths[] = {m->hp.n_embd, m->hp.n_ff, d->xb2, d->hb};
    int64_t best = 0;
    for (int a = NT_ACT_Q8A; a < NT_ACT_COUNT; a++)
        for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++) {
            const int64_t b = nt_act_row_bytes((nt_act_type)a, widths[i]);
            if (b > best) best = b;
        }
    return best;
}

nexttok_status nt_run_create(const nexttok_model *m, int32_t n_ctx, int32_t n_batch, nt_pool *pool, bool fast,
                             nt_run **out)
{
    *out = NULL;
    const nt_hparams *hp = &m->hp;
    nt_scratch_dims d = {0};
    nt_forward_rows[m->arch->pass].scratch(m, &d);
    nt_run *run = nt_calloc(1, sizeof *run);
    if (!run) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory");
    nt_scratch *sc = &run->sc;
    int32_t B = n_batch > 0 && n_batch < NT_BATCH ? n_batch : NT_BATCH;
    if (n_ctx > 0 && n_ctx < B) B = n_ctx;
    run->batch = B;
    run->long_rope = n_ctx > hp->n_ctx_orig;
    sc->att_stride = ((int64_t)n_ctx + hp->head_dim + 15) / 16 * 16;
    bool ok = floats(&sc->x, B, d.x) && floats(&sc->xb, B, d.xb) && floats(&sc->xb2, B, d.xb2) &&
              floats(&sc->qkv, B, d.qkv) && floats(&sc->hb, B, d.hb) &&
              floats(&sc->hb2, B, d.hb2) && floats(&sc->att, hp->n_head, sc->att_stride);
    run->mm.pool = pool;
    run->mm.fast = fast;
    if (ok && fast) {
        /* room for the residual pass of the output projection too, and
         * for the packed copies of both (kernels/qdot.h nt_q8a_pack) */
        const int64_t row = widest_act_row(m, &d);
        run->mm.qbuf_bytes = (size_t)row * (size_t)B * 4;
        run->mm.qbuf = nt_aligned_alloc(64, run->mm.qbuf_bytes);
        run->mm.rbuf_floats = (size_t)hp->n_embd;
        run->mm.rbuf = nt_aligned_alloc(64, run->mm.rbuf_floats * sizeof(float));
        ok = run->mm.qbuf != NULL && run->mm.rbuf != NULL;
    }
    if (ok) {
        /* a flag per chunk of the widest product, whose chunks are a row
         * at the least (products that stop part-way, steps.c) */
        const int64_t widths[] = {hp->n_vocab, hp->n_embd, hp->n_ff, d.qkv, d.hb, d.hb2, d.xb2};
        int64_t widest = 1;
        for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++)
            if (widths[i] > widest) widest = widths[i];
        run->mm.done_cap = (size_t)widest;
        run->mm.done = nt_calloc(run->mm.done_cap, 1);
        ok = run->mm.done != NULL;
    }
    const int64_t rope_pairs = m->arch->pass == NT_PASS_DECODER ? hp->head_dim / 2 : 0;
    if (ok && rope_pairs > 0) {
        nt_rope_table *rt = &run->rope;
        rt->stride = rope_pairs;
        rt->cos_t = nt_aligned_alloc(64, (size_t)B * (size_t)rope_pairs * sizeof(double));
        rt->sin_t = nt_aligned_alloc(64, (size_t)B * (size_t)rope_pairs * sizeof(double));
        rt->pos = nt_calloc((size_t)B, sizeof(int32_t));
        ok = rt->cos_t && rt->sin_t && rt->pos;
    }
    if (!ok) {
        nt_run_free(run);
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory for the forward pass's scratch (%d positions)", (int)n_ctx);
    }
    const int64_t per_tok = d.x + d.xb + d.xb2 + d.qkv + d.hb + d.hb2;
    run->bytes = (uint64_t)per_tok * B * sizeof(float) + (uint64_t)hp->n_head * (uint64_t)sc->att_stride * sizeof(float) +
                 run->mm.qbuf_bytes + run->mm.rbuf_floats * sizeof(float) + run->mm.done_cap +
                 (uint64_t)B * ((uint64_t)rope_pairs * 2 * sizeof(double) + (rope_pairs ? sizeof(int32_t) : 0));
    *out = run;
    return NEXTTOK_OK;
}

uint64_t nt_run_bytes(const nt_run *run) { return run ? run->bytes : 0; }

void nt_run_free(nt_run *run)
{
    if (!run) return;
    nt_scratch *sc = &run->sc;
    nt_free(sc->x);
    nt_free(sc->xb);
    nt_free(sc->xb2);
    nt_free(sc->qkv);
    nt_free(sc->hb);
    nt_free(sc->hb2);
    nt_free(sc->att);
    nt_free(run->mm.qbuf);
    nt_free(run->mm.rbuf);
    nt_free(run->mm.done);
    nt_free(run->rope.cos_t);
    nt_free(run->rope.sin_t);
    nt_free(run->rope.pos);
    nt_free(run);
}
