/* Bind a GPT-2 GGUF's tensors: learned positions, LayerNorm with bias,
 * fused QKV with bias, tanh-GELU MLP; output.weight optional (tied). */
#include "core/alloc.h"
#include "core/error.h"
#include "model/model.h"

nexttok_status nt_model_bind_gpt2(nexttok_model *m)
{
    const nt_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd, F = hp->n_ff, V = hp->n_vocab;
    char nm[96];
    nexttok_status st;

    /* GPT-2 has no grouped-query attention: the fused QKV holds full K and V
     * and the forward pass caches n_embd floats per position, so fewer KV
     * heads than heads would make it read past the session's smaller cache. */
    if (hp->n_head_kv != hp->n_head)
        return nt_fail(NEXTTOK_ERR_FORMAT,
                       "key '%s.attention.head_count_kv': %d KV heads, but GPT-2 attention has one per head (%d)",
                       m->arch_name, hp->n_head_kv, hp->n_head);

    if ((st = nt_bind_matrix(m, "token_embd.weight", E, V, true, &m->tok_embd)) ||
        (st = nt_bind_matrix(m, "position_embd.weight", E, hp->n_ctx_train, true, &m->pos_embd)) ||
        (st = nt_bind_vector(m, "output_norm.weight", E, true, &m->out_norm_w)) ||
        (st = nt_bind_vector(m, "output_norm.bias", E, true, &m->out_norm_b)) ||
        (st = nt_bind_matrix(m, "output.weight", E, V, false, &m->output)))
        return st;
    m->output_tied = m->output.data == NULL;
    if (m->output_tied) m->output = m->tok_embd;

    m->gpt2_layers = nt_calloc((size_t)hp->n_layer, sizeof *m->gpt2_layers);
    if (!m->gpt2_layers) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory for %d layers", hp->n_layer);

    for (int l = 0; l < hp->n_layer; l++) {
        nt_gpt2_layer *L = &m->gpt2_layers[l];
        if ((st = nt_bind_vector(m, nt_tensor_name(nm, sizeof nm, "blk.%d.attn_norm.weight", l), E, true, &L->attn_norm_w)) ||
            (st = nt_bind_vector(m, nt_tensor_name(nm, sizeof nm, "blk.%d.attn_norm.bias", l), E, true, &L->attn_norm_b)) ||
            (st = nt_bind_matrix(m, nt_tensor_name(nm, sizeof nm, "blk.%d.attn_qkv.weight", l), E, 3 * E, true, &L->attn_qkv)) ||
            (st = nt_bind_vector(m, nt_tensor_name(nm, sizeof nm, "blk.%d.attn_qkv.bias", l), 3 * E, true, &L->attn_qkv_b)) ||
            (st = nt_bind_matrix(m, nt_tensor_name(nm, sizeof nm, "blk.%d.attn_output.weight", l), E, E, true, &L->attn_out)) ||
            (st = nt_bind_vector(m, nt_tensor_name(nm, sizeof nm, "blk.%d.attn_output.bias", l), E, true, &L->attn_out_b)) ||
            (st = nt_bind_vector(m, nt_tensor_name(nm, sizeof nm, "blk.%d.ffn_norm.weight", l), E, true, &L->ffn_norm_w)) ||
            (st = nt_bind_vector(m, nt_tensor_name(nm, sizeof nm, "blk.%d.ffn_norm.bias", l), E, true, &L->ffn_norm_b)) ||
            (st = nt_bind_matrix(m, nt_tensor_name(nm, sizeof nm, "blk.%d.ffn_up.weight", l), E, F, true, &L->ffn_up)) ||
            (st = nt_bind_vector(m, nt_tensor_name(nm, sizeof nm, "blk.%d.ffn_up.bias", l), F, true, &L->ffn_up_b)) ||
            (st = nt_bind_matrix(m, nt_tensor_name(nm, sizeof nm, "blk.%d.ffn_down.weight", l), F, E, true, &L->ffn_down)) ||
            (st = nt_bind_vector(m, nt_tensor_name(nm, sizeof nm, "blk.%d.ffn_down.bias", l), E, true, &L->ffn_down_b)))
            return st;
        if ((st = nt_model_progress(m, (float)(l + 1) / (float)(hp->n_layer + 1)))) return st;
    }
    return NEXTTOK_OK;
}
