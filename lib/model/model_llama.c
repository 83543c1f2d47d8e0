/* Bind a Llama GGUF's tensors: RMSNorm, Q/K/V/O (K and V with n_head_kv
 * heads for grouped-query attention), SwiGLU MLP; output.weight optional. */
#include <math.h>

#include "core/alloc.h"
#include "core/error.h"
#include "model/model.h"

nexttok_status nt_model_bind_llama(nexttok_model *m)
{
    const nt_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd, F = hp->n_ff, V = hp->n_vocab;
    const int64_t KV = (int64_t)hp->n_head_kv * hp->head_dim;
    char nm[96];
    nexttok_status st;

    if ((st = nt_bind_matrix(m, "token_embd.weight", E, V, true, &m->tok_embd)) ||
        (st = nt_bind_vector(m, "output_norm.weight", E, true, &m->out_norm_w)) ||
        (st = nt_bind_matrix(m, "output.weight", E, V, false, &m->output)))
        return st;
    m->output_tied = m->output.data == NULL;
    if (m->output_tied) m->output = m->tok_embd;

    /* Llama 3.1-style per-pair frequency divisors, when the file has them. */
    const float *freq_factors;
    if ((st = nt_bind_vector(m, "rope_freqs.weight", hp->n_rot / 2, false, &freq_factors))) return st;
    for (int64_t i = 0; freq_factors && i < hp->n_rot / 2; i++)
        if (!(freq_factors[i] > 0.0f) || !isfinite(freq_factors[i]))
            return nt_fail(NEXTTOK_ERR_FORMAT, "tensor rope_freqs.weight: factor %lld is %g, not a positive number",
                           (long long)i, (double)freq_factors[i]);
    m->rope = (nt_rope_cfg){hp->n_rot, hp->rope_freq_base, hp->rope_freq_scale, freq_factors, 0};

    m->llama_layers = nt_calloc((size_t)hp->n_layer, sizeof *m->llama_layers);
    if (!m->llama_layers) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory for %d layers", hp->n_layer);

    for (int l = 0; l < hp->n_layer; l++) {
        nt_llama_layer *L = &m->llama_layers[l];
        if ((st = nt_bind_vector(m, nt_tensor_name(nm, sizeof nm, "blk.%d.attn_norm.weight", l), E, true, &L->attn_norm)) ||
            (st = nt_bind_matrix(m, nt_tensor_name(nm, sizeof nm, "blk.%d.attn_q.weight", l), E, E, true, &L->wq)) ||
            (st = nt_bind_matrix(m, nt_tensor_name(nm, sizeof nm, "blk.%d.attn_k.weight", l), E, KV, true, &L->wk)) ||
            (st = nt_bind_matrix(m, nt_tensor_name(nm, sizeof nm, "blk.%d.attn_v.weight", l), E, KV, true, &L->wv)) ||
            (st = nt_bind_matrix(m, nt_tensor_name(nm, sizeof nm, "blk.%d.attn_output.weight", l), E, E, true, &L->wo)) ||
            (st = nt_bind_vector(m, nt_tensor_name(nm, sizeof nm, "blk.%d.ffn_norm.weight", l), E, true, &L->ffn_norm)) ||
            (st = nt_bind_matrix(m, nt_tensor_name(nm, sizeof nm, "blk.%d.ffn_gate.weight", l), E, F, true, &L->ffn_gate)) ||
            (st = nt_bind_matrix(m, nt_tensor_name(nm, sizeof nm, "blk.%d.ffn_up.weight", l), E, F, true, &L->ffn_up)) ||
            (st = nt_bind_matrix(m, nt_tensor_name(nm, sizeof nm, "blk.%d.ffn_down.weight", l), F, E, true, &L->ffn_down)))
            return st;
        if ((st = nt_model_progress(m, (float)(l + 1) / (float)(hp->n_layer + 1)))) return st;
    }
    return NEXTTOK_OK;
}
