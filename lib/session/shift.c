/* Context shift: drop old tokens from a full session and turn the kept
 * keys back to their new positions. */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "kernels/kernels.h"
#include "session/session.h"
#include "types/types.h"

const char *nt_session_shift_refusal(const nexttok_model *m)
{
    if (m->arch->pass != NT_PASS_DECODER || !m->layers)
        return "the model's positions are learned absolute embeddings, not a rotation that can be turned back";
    if (m->layer_windows)
        return "sliding-window layers keep a ring of recent rows, which a shift would have to rebuild";
    return NULL;
}

/* The rotation layer l's keys got (NULL: none), as the forward pass
 * chooses it (forward_decoder.c layer_rope). */
static const nt_rope_cfg *layer_rope(const nexttok_session *s, int l)
{
    const nexttok_model *m = s->model;
    switch (m->layers[l].rope) {
    case NT_LAYER_ROPE_NONE: return NULL;
    case NT_LAYER_ROPE_SWA: return &m->rope_swa;
    case NT_LAYER_ROPE_GLOBAL: break;
    }
    return s->run->long_rope ? &m->rope_long : &m->rope;
}

/* Rows of positions [from, from + n) of every layer move to [to, to + n)
 * (to < from), keys rotated by to - from. */
static void move_rows(nexttok_session *s, int32_t from, int32_t to, int32_t n, float *buf)
{
    nt_kvcache *c = &s->kv;
    const nt_type_kernels *kern = nt_type_kernels_get(c->type);
    const int32_t hd = c->head_dim;
    for (int l = 0; l < c->n_layer; l++) {
        const nt_rope_cfg *rope = layer_rope(s, l);
        /* the attention factor scales a rotation from the raw key; turning
         * an already scaled key must not scale it again */
        nt_rope_cfg back;
        if (rope) {
            back = *rope;
            back.mscale = 0.0f;
        }
        for (int32_t i = 0; i < n; i++) {
            const unsigned char *kin = nt_kv_k_row(&s->view, l, from + i);
            unsigned char *kout = nt_kv_k_row(&s->view, l, to + i);
            if (rope) {
                kern->to_float(kin, buf, c->kv_dim);
                for (int32_t h = 0; h < c->n_head_kv; h++) nt_rope(buf + (size_t)h * hd, hd, (int64_t)to - from, &back);
                kern->from_float(buf, kout, c->kv_dim);
            } else {
                memcpy(kout, kin, c->row_bytes);
            }
            memcpy(nt_kv_v_row(&s->view, l, to + i), nt_kv_v_row(&s->view, l, from + i), c->row_bytes);
        }
    }
}

nexttok_status nt_session_shift(nexttok_session *s, size_t n)
{
    const int32_t keep = s->n_keep < s->pos ? s->n_keep : s->pos;
    const int32_t rest = s->pos - keep;
    int32_t drop = s->n_discard > 0 ? s->n_discard : rest / 2;
    /* at least the room asked for (up to all of the rest), at least one */
    if ((size_t)drop < n) drop = n < (size_t)rest ? (int32_t)n : rest;
    if (drop > rest) drop = rest;
    if (drop <= 0)
        return nt_fail(NEXTTOK_ERR_CONTEXT_FULL, "context full: nothing after the %d kept tokens to drop", keep);
    const int32_t moved = rest - drop;
    float *buf = nt_malloc_array((size_t)s->kv.kv_dim, sizeof *buf);
    if (!buf) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory for a context shift");
    nexttok_status st = moved > 0 ? nt_kv_prepare(&s->kv, keep, moved) : NEXTTOK_OK;
    if (st != NEXTTOK_OK) {
        nt_free(buf);
        return st;
    }
    move_rows(s, keep + drop, keep, moved, buf);
    nt_free(buf);
    memmove(s->tokens + keep, s->tokens + keep + drop, (size_t)moved * sizeof *s->tokens);
    s->pos = keep + moved;
    s->n_shifted += drop;
    s->run->cur.pending = false; /* a stopped pass's positions are gone */
    return NEXTTOK_OK;
}
