/* RoPE's rotations per batch: they depend on the position and the
 * configuration only, so the layers that share a configuration share them
 * (each head of each layer made its own: a tenth of a tiny model's time).
 * The table remembers what it was made for and is remade when a layer or
 * a batch asks for anything else, so a resumed pass finds the same values. */
#include <string.h>

#include "forward/forward.h"

static bool nt_rope_key_eq(const nt_rope_table *rt, const nt_batch *b, const nt_rope_cfg *cfg, int64_t head_dim)
{
    const nt_rope_cfg *c = &rt->cfg;
    return rt->n_tok == b->n_tok && rt->head_dim == head_dim && c->n_rot == cfg->n_rot &&
           c->freq_base == cfg->freq_base && c->freq_scale == cfg->freq_scale && c->freq_factors == cfg->freq_factors &&
           c->mscale == cfg->mscale && memcmp(rt->pos, b->pos, (size_t)b->n_tok * sizeof *b->pos) == 0;
}

const nt_rope_table *nt_run_rope_table(nt_run *run, const nt_batch *b, const nt_rope_cfg *cfg, int64_t head_dim)
{
    nt_rope_table *rt = &run->rope;
    const int64_t n_rot = cfg->n_rot < head_dim ? cfg->n_rot : head_dim;
    if (!rt->cos_t || b->n_tok <= 0 || b->n_tok > run->batch || n_rot / 2 > rt->stride) return NULL;
    if (nt_rope_key_eq(rt, b, cfg, head_dim)) return rt;
    for (int32_t t = 0; t < b->n_tok; t++)
        nt_rope_angles(rt->cos_t + t * rt->stride, rt->sin_t + t * rt->stride, head_dim, b->pos[t], cfg);
    memcpy(rt->pos, b->pos, (size_t)b->n_tok * sizeof *b->pos);
    rt->cfg = *cfg;
    rt->head_dim = head_dim;
    rt->n_tok = b->n_tok;
    return rt;
}
