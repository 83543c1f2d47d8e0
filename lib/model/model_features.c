/* What a bound model does, in words, for `nexttok inspect` and the info
 * struct: read off its architecture row, hyper-parameters and layers. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "model/model.h"

typedef struct feature_buf {
    char *s;
    size_t size, used;
} feature_buf;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void add(feature_buf *b, const char *fmt, ...)
{
    if (b->used + 1 >= b->size) return;
    if (b->used) b->used += (size_t)snprintf(b->s + b->used, b->size - b->used, ", ");
    if (b->used >= b->size) {
        b->used = b->size - 1;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->s + b->used, b->size - b->used, fmt, ap);
    va_end(ap);
    if (n > 0) b->used += (size_t)n;
    if (b->used >= b->size) b->used = b->size - 1;
}

static int count_layers(const nexttok_model *m, size_t offset)
{
    int n = 0;
    for (int l = 0; l < m->hp.n_layer; l++)
        if (*(const void *const *)(const void *)((const char *)&m->layers[l] + offset)) n++;
    return n;
}

void nt_model_describe(nexttok_model *m)
{
    const nt_arch *a = m->arch;
    const nt_hparams *hp = &m->hp;
    feature_buf b = {m->features, sizeof m->features, 0};
    m->features[0] = '\0';
    add(&b, a->norm == NT_NORM_RMS ? "rmsnorm" : "layernorm");
    if (a->pass == NT_PASS_GPT2) {
        add(&b, "learned positions");
    } else {
        add(&b, "rope-%s", a->rope == NT_ROPE_NEOX ? "neox" : "norm");
        if (hp->n_rot < hp->head_dim) add(&b, "partial rotary %d/%d", hp->n_rot, hp->head_dim);
        if (m->rope.freq_factors) add(&b, "rope frequency factors");
        if (m->rope_long.freq_factors != m->rope.freq_factors) add(&b, "longrope");
        bool sliding = false;
        for (int l = 0; m->layers && l < hp->n_layer; l++) sliding |= m->layers[l].rope == NT_LAYER_ROPE_SWA;
        if (hp->rope_freq_scale != 1.0f)
            add(&b, "linear rope scaling x%g%s", 1.0 / (double)hp->rope_freq_scale,
                sliding && a->swa_rope_unscaled ? " on global layers" : "");
        if (sliding && m->rope_swa.freq_base != m->rope.freq_base)
            add(&b, "rope base %g, sliding layers %g", (double)m->rope.freq_base, (double)m->rope_swa.freq_base);
        if (hp->rope_attn_factor != 1.0f) add(&b, "rope attn_factor %g", (double)hp->rope_attn_factor);
    }
    if (hp->n_head_kv < hp->n_head) add(&b, "gqa %d/%d", hp->n_head, hp->n_head_kv);
    if (hp->head_dim * hp->n_head != hp->n_embd) add(&b, "head_dim %d", hp->head_dim);
    if (m->layers) {
        if (count_layers(m, offsetof(nt_layer, wqkv.data))) add(&b, "fused qkv");
        if (count_layers(m, offsetof(nt_layer, bq))) add(&b, "qkv bias");
        if (count_layers(m, offsetof(nt_layer, q_norm)))
            add(&b, a->qk_norm == NT_QK_NORM_FULL ? "q/k norm (whole vector)"
                    : a->qk_norm == NT_QK_NORM_HEAD_LN ? "q/k layernorm per head"
                                                       : "q/k norm per head");
        if (!count_layers(m, offsetof(nt_layer, attn_norm))) add(&b, "no pre-norms");
        if (count_layers(m, offsetof(nt_layer, post_attn_norm))) add(&b, "post-norms");
        int nope = 0, sliding = 0, parallel = 0;
        for (int l = 0; l < hp->n_layer; l++) {
            nope += m->layers[l].rope == NT_LAYER_ROPE_NONE;
            sliding += m->layers[l].window > 0;
            parallel += m->layers[l].parallel;
        }
        if (nope) add(&b, "no rope on %d of %d layers", nope, hp->n_layer);
        if (sliding) add(&b, "sliding window %d on %d of %d layers", hp->n_swa, sliding, hp->n_layer);
        if (parallel) add(&b, "parallel residual on %d of %d layers", parallel, hp->n_layer);
    }
    static const char *const ffn[] = {"swiglu", "swiglu (fused gate/up)", "geglu", "gelu mlp"};
    add(&b, "%s", ffn[a->ffn]);
    if (hp->embd_scale != 1.0f) add(&b, "embedding scale %g", (double)hp->embd_scale);
    if (hp->kq_scale != 1.0f / sqrtf((float)hp->head_dim)) add(&b, "attention scale %g", (double)hp->kq_scale);
    if (hp->residual_scale != 1.0f) add(&b, "residual scale %g", (double)hp->residual_scale);
    if (hp->logit_scale != 1.0f) add(&b, "logit scale 1/%g", (double)hp->logit_scale);
    if (hp->attn_softcap > 0.0f) add(&b, "attention soft-cap %g", (double)hp->attn_softcap);
    if (hp->final_softcap > 0.0f) add(&b, "final soft-cap %g", (double)hp->final_softcap);
    add(&b, m->output_tied ? "tied output" : "separate output");
}
