"""Rebuild the PyTorch Llama (llama.py) and the BPE tokenizer (bpe.py) from
a GGUF file export.py wrote: the tests' way to run PyTorch on exactly the
weights and merges the library reads."""
import numpy as np
import torch

from gguf_read import read
from llama import Config, Llama


def load_model(path):
    meta, t = read(path)
    if meta.get("general.architecture") != "llama":
        raise ValueError(f"{path}: architecture {meta.get('general.architecture')}, expected llama")
    cfg = Config(n_vocab=len(meta["tokenizer.ggml.tokens"]), n_ctx=meta["llama.context_length"],
                 n_embd=meta["llama.embedding_length"], n_layer=meta["llama.block_count"],
                 n_head=meta["llama.attention.head_count"], n_ff=meta["llama.feed_forward_length"],
                 eps=meta["llama.attention.layer_norm_rms_epsilon"], rope_base=meta["llama.rope.freq_base"])
    m = Llama(cfg)
    names = {"embd.weight": "token_embd.weight", "norm.weight": "output_norm.weight"}
    parts = {"attn_norm": "attn_norm", "wq": "attn_q", "wk": "attn_k", "wv": "attn_v", "wo": "attn_output",
             "ffn_norm": "ffn_norm", "gate": "ffn_gate", "up": "ffn_up", "down": "ffn_down"}
    for i in range(cfg.n_layer):
        for ours, theirs in parts.items():
            names[f"blocks.{i}.{ours}.weight"] = f"blk.{i}.{theirs}.weight"
    state = {k: torch.from_numpy(np.asarray(t[v], dtype=np.float32).copy()) for k, v in names.items()}
    m.load_state_dict(state)
    m.eval()
    return m, meta


def load_merges(meta):
    """The merges as (left id, right id) pairs, in rank order."""
    ids = {s: i for i, s in enumerate(meta["tokenizer.ggml.tokens"])}
    out = []
    for line in meta["tokenizer.ggml.merges"]:
        a, b = line.split(" ")
        out.append((ids[a], ids[b]))
    return out
