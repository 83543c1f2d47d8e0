/* Bind a RoPE decoder of any family in the table: the global tensors every
 * family has, then each layer's tensors from the row's list, then what the
 * layer does (window, RoPE, parallel) from its row and its tensors. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>

#include "core/alloc.h"
#include "core/error.h"
#include "model/model.h"

static const size_t nt_slot_offset[NT_SLOT_COUNT] = {
    [NT_SLOT_ATTN_NORM] = offsetof(nt_layer, attn_norm),
    [NT_SLOT_ATTN_NORM_B] = offsetof(nt_layer, attn_norm_b),
    [NT_SLOT_WQ] = offsetof(nt_layer, wq),
    [NT_SLOT_WK] = offsetof(nt_layer, wk),
    [NT_SLOT_WV] = offsetof(nt_layer, wv),
    [NT_SLOT_WQKV] = offsetof(nt_layer, wqkv),
    [NT_SLOT_BQ] = offsetof(nt_layer, bq),
    [NT_SLOT_BK] = offsetof(nt_layer, bk),
    [NT_SLOT_BV] = offsetof(nt_layer, bv),
    [NT_SLOT_BQKV] = offsetof(nt_layer, bqkv),
    [NT_SLOT_WO] = offsetof(nt_layer, wo),
    [NT_SLOT_BO] = offsetof(nt_layer, bo),
    [NT_SLOT_Q_NORM] = offsetof(nt_layer, q_norm),
    [NT_SLOT_K_NORM] = offsetof(nt_layer, k_norm),
    [NT_SLOT_POST_ATTN_NORM] = offsetof(nt_layer, post_attn_norm),
    [NT_SLOT_FFN_NORM] = offsetof(nt_layer, ffn_norm),
    [NT_SLOT_FFN_NORM_B] = offsetof(nt_layer, ffn_norm_b),
    [NT_SLOT_FFN_GATE] = offsetof(nt_layer, ffn_gate),
    [NT_SLOT_FFN_UP] = offsetof(nt_layer, ffn_up),
    [NT_SLOT_FFN_UP_B] = offsetof(nt_layer, ffn_up_b),
    [NT_SLOT_FFN_DOWN] = offsetof(nt_layer, ffn_down),
    [NT_SLOT_FFN_DOWN_B] = offsetof(nt_layer, ffn_down_b),
    [NT_SLOT_POST_FFN_NORM] = offsetof(nt_layer, post_ffn_norm),
};

static int64_t dim_size(const nt_hparams *hp, uint8_t d)
{
    const int64_t q = (int64_t)hp->n_head * hp->head_dim, kv = (int64_t)hp->n_head_kv * hp->head_dim;
    switch ((nt_dim)d) {
    case NT_DIM_1: return 1;
    case NT_DIM_E: return hp->n_embd;
    case NT_DIM_Q: return q;
    case NT_DIM_KV: return kv;
    case NT_DIM_QKV: return q + 2 * kv;
    case NT_DIM_F: return hp->n_ff;
    case NT_DIM_F2: return 2 * (int64_t)hp->n_ff;
    case NT_DIM_HD: return hp->head_dim;
    case NT_DIM_H: return hp->n_head;
    case NT_DIM_HKV: return hp->n_head_kv;
    }
    return 0;
}

static nexttok_status bind_layer_tensor(nexttok_model *m, nt_layer *L, int l, const nt_tensor_spec *ts)
{
    char nm[128];
    snprintf(nm, sizeof nm, "blk.%d.%s", l, ts->name);
    char *slot = (char *)L + nt_slot_offset[ts->slot];
    const int64_t in = dim_size(&m->hp, ts->in), out = dim_size(&m->hp, ts->out);
    if (ts->matrix) return nt_bind_matrix(m, nm, in, out, ts->required, (nt_weight *)(void *)slot);
    return nt_bind_vector2(m, nm, in, out, ts->required, (const float **)(void *)slot);
}

/* Phi-3's fused QKV, or the three separate projections. */
static nexttok_status check_projections(const nexttok_model *m, const nt_layer *L, int l)
{
    if (L->wqkv.data) return NEXTTOK_OK;
    const struct {
        const nt_weight *w;
        const char *name;
    } parts[] = {{&L->wq, "attn_q"}, {&L->wk, "attn_k"}, {&L->wv, "attn_v"}};
    for (size_t i = 0; i < 3; i++)
        if (!parts[i].w->data)
            return nt_fail(NEXTTOK_ERR_FORMAT,
                           "tensor blk.%d.%s.weight: missing, and no fused blk.%d.attn_qkv.weight (architecture %s)",
                           l, parts[i].name, l, m->arch_name);
    return NEXTTOK_OK;
}

/* Element l of a per-layer array of bools or integers, as nonzero. */
static bool layer_flag(const nt_gguf_kv *kv, int l)
{
    static const size_t size[NT_GGUF_VTYPE_COUNT] = {[NT_GGUF_BOOL] = 1, [NT_GGUF_UINT8] = 1, [NT_GGUF_INT8] = 1,
                                                      [NT_GGUF_INT32] = 4, [NT_GGUF_UINT32] = 4};
    const uint8_t *e = kv->arr_data + (size_t)l * size[kv->arr_type];
    for (size_t i = 0; i < size[kv->arr_type]; i++)
        if (e[i]) return true;
    return false;
}

static bool layer_slides(const nt_hparams *hp, int l)
{
    if (hp->n_swa <= 0) return false;
    if (hp->swa_layers) return layer_flag(hp->swa_layers, l);
    if (hp->swa_pattern == 0) return true;
    return l % hp->swa_pattern < hp->swa_pattern - 1;
}

/* Frequency factors: n_rot/2 positive divisors, when the file has them.
 * Older Phi-3 converters sized them head_dim/2 even with partial rotary;
 * the first n_rot/2 are the rotated pairs'. */
static nexttok_status bind_factors(nexttok_model *m, const char *name, const float **out)
{
    const int64_t n = m->hp.n_rot / 2;
    const nt_gguf_tensor *t = nt_gguf_tensor_find(m->gguf, name);
    const int64_t stored = t && t->n_dims == 1 && t->ne[0] == m->hp.head_dim / 2 ? m->hp.head_dim / 2 : n;
    nexttok_status st = nt_bind_vector(m, name, stored, false, out);
    for (int64_t i = 0; st == NEXTTOK_OK && *out && i < n; i++)
        if (!((*out)[i] > 0.0f) || !isfinite((*out)[i]))
            return nt_fail(NEXTTOK_ERR_FORMAT, "tensor %s: factor %lld is %g, not a positive number", name,
                           (long long)i, (double)(*out)[i]);
    return st;
}

static nexttok_status bind_rope(nexttok_model *m)
{
    const nt_arch *a = m->arch;
    const nt_hparams *hp = &m->hp;
    const float *factors = NULL, *long_factors = NULL;
    nexttok_status st;
    if (a->rope_freqs && (st = bind_factors(m, "rope_freqs.weight", &factors))) return st;
    if (a->rope_factors && ((st = bind_factors(m, "rope_factors_short.weight", &factors)) ||
                            (st = bind_factors(m, "rope_factors_long.weight", &long_factors))))
        return st;
    const int neox = a->rope == NT_ROPE_NEOX;
    m->rope = (nt_rope_cfg){hp->n_rot, hp->rope_freq_base, hp->rope_freq_scale, factors, neox,
                            hp->rope_attn_factor};
    m->rope_long = m->rope;
    if (long_factors) m->rope_long.freq_factors = long_factors;
    m->rope_swa = m->rope;
    m->rope_swa.freq_base = hp->rope_freq_base_swa;
    if (a->swa_rope_unscaled) m->rope_swa.freq_scale = 1.0f;
    return NEXTTOK_OK;
}

nexttok_status nt_model_bind_decoder(nexttok_model *m)
{
    const nt_arch *a = m->arch;
    const nt_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd, V = hp->n_vocab;
    nexttok_status st;

    if ((st = nt_bind_matrix(m, "token_embd.weight", E, V, true, &m->tok_embd)) ||
        (st = nt_bind_vector(m, "output_norm.weight", E, true, &m->out_norm_w)) ||
        (a->output_norm_bias && (st = nt_bind_vector(m, "output_norm.bias", E, true, &m->out_norm_b))))
        return st;
    if (a->output != NT_OUTPUT_TIED &&
        (st = nt_bind_matrix(m, "output.weight", E, V, a->output == NT_OUTPUT_REQUIRED, &m->output)))
        return st;
    m->output_tied = m->output.data == NULL;
    if (m->output_tied) m->output = m->tok_embd;
    if ((st = bind_rope(m))) return st;

    m->layers = nt_calloc((size_t)hp->n_layer, sizeof *m->layers);
    if (!m->layers) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory for %d layers", hp->n_layer);
    for (int l = 0; l < hp->n_layer; l++) {
        nt_layer *L = &m->layers[l];
        for (const nt_tensor_spec *ts = a->layer; ts->name; ts++)
            if ((st = bind_layer_tensor(m, L, l, ts))) return st;
        if ((st = check_projections(m, L, l))) return st;
        L->window = layer_slides(hp, l) ? hp->n_swa : 0;
        L->rope = a->nope_every && (l + 1) % a->nope_every == 0 ? NT_LAYER_ROPE_NONE
                  : L->window                                   ? NT_LAYER_ROPE_SWA
                                                                : NT_LAYER_ROPE_GLOBAL;
        L->parallel = a->parallel_without_ffn_norm && !L->ffn_norm;
        m->has_parallel |= L->parallel;
        if ((st = nt_model_progress(m, (float)(l + 1) / (float)(hp->n_layer + 1)))) return st;
    }
    bool slides = false;
    for (int l = 0; l < hp->n_layer; l++) slides |= m->layers[l].window > 0;
    if (slides) {
        m->layer_windows = nt_malloc_array((size_t)hp->n_layer, sizeof *m->layer_windows);
        if (!m->layer_windows) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory for %d layers", hp->n_layer);
        for (int l = 0; l < hp->n_layer; l++) m->layer_windows[l] = m->layers[l].window;
    }
    return NEXTTOK_OK;
}
