"""Export a checkpoint of tools/train/train.py to GGUF (architecture
"llama", tokenizer "gpt2"), with the project's own writer, and write the
reference logits the tests compare the library with.

  /usr/bin/python3 tools/train/export.py CKPT.pt TOKENIZER.json OUT.gguf \
      [--name NAME] [--ref-text SAMPLE.txt --ref-tokens 64 --ref-out OUT.logits]

Matrices (the embedding, every projection) are stored as F16, the norm
weights as F32. The reference logits come from the same F16-rounded
weights, computed in float64 by PyTorch, for BOS + the first tokens of
--ref-text; they are written in the fixtures' logits format: int32 n,
int32 n_vocab, int32 tokens[n], float32 logits[n][n_vocab].
"""
import argparse
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bpe import Tokenizer  # noqa: E402
from gguf_write import (T_BOOL, T_FLOAT32, T_INT32, T_STRING, T_UINT32,  # noqa: E402
                        GGUFWriter)
from llama import Config, Llama  # noqa: E402

TOKEN_NORMAL, TOKEN_CONTROL = 1, 3


def load(ckpt_path):
    ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    cfg = Config(**ck["config"])
    model = Llama(cfg)
    model.load_state_dict(ck["model"])
    # The shipped weights: matrices rounded to F16, as the GGUF file holds them.
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                p.copy_(p.half().float())
    model.eval()
    return model, cfg, ck


def tensors(model, cfg):
    f16 = lambda t: t.detach().half().numpy()  # noqa: E731
    f32 = lambda t: t.detach().float().numpy()  # noqa: E731
    yield "token_embd.weight", f16(model.embd.weight)
    yield "output_norm.weight", f32(model.norm.weight)
    for i, b in enumerate(model.blocks):
        p = f"blk.{i}."
        yield p + "attn_norm.weight", f32(b.attn_norm.weight)
        yield p + "attn_q.weight", f16(b.wq.weight)
        yield p + "attn_k.weight", f16(b.wk.weight)
        yield p + "attn_v.weight", f16(b.wv.weight)
        yield p + "attn_output.weight", f16(b.wo.weight)
        yield p + "ffn_norm.weight", f32(b.ffn_norm.weight)
        yield p + "ffn_gate.weight", f16(b.gate.weight)
        yield p + "ffn_up.weight", f16(b.up.weight)
        yield p + "ffn_down.weight", f16(b.down.weight)


def write_gguf(model, cfg, tok, path, name):
    w = GGUFWriter()
    w.add("general.architecture", T_STRING, "llama")
    w.add("general.name", T_STRING, name)
    w.add("general.description", T_STRING,
          "A small Llama trained by libnexttok on five of Jane Austen's novels (public domain); "
          "see models/README.md")
    w.add("llama.context_length", T_UINT32, cfg.n_ctx)
    w.add("llama.embedding_length", T_UINT32, cfg.n_embd)
    w.add("llama.block_count", T_UINT32, cfg.n_layer)
    w.add("llama.feed_forward_length", T_UINT32, cfg.n_ff)
    w.add("llama.attention.head_count", T_UINT32, cfg.n_head)
    w.add("llama.attention.head_count_kv", T_UINT32, cfg.n_head)
    w.add("llama.rope.dimension_count", T_UINT32, cfg.n_embd // cfg.n_head)
    w.add("llama.rope.freq_base", T_FLOAT32, cfg.rope_base)
    w.add("llama.attention.layer_norm_rms_epsilon", T_FLOAT32, cfg.eps)
    w.add("tokenizer.ggml.model", T_STRING, "gpt2")
    w.add("tokenizer.ggml.pre", T_STRING, "gpt-2")
    w.add_array("tokenizer.ggml.tokens", T_STRING, tok.strs)
    w.add_array("tokenizer.ggml.token_type", T_INT32,
                [TOKEN_CONTROL if i == tok.eot else TOKEN_NORMAL for i in range(len(tok.strs))])
    w.add_array("tokenizer.ggml.merges", T_STRING, tok.merge_strings())
    w.add("tokenizer.ggml.bos_token_id", T_UINT32, tok.eot)
    w.add("tokenizer.ggml.eos_token_id", T_UINT32, tok.eot)
    w.add("tokenizer.ggml.add_bos_token", T_BOOL, True)
    w.add("tokenizer.ggml.add_eos_token", T_BOOL, False)
    for n, a in tensors(model, cfg):
        w.add_tensor(n, a)
    w.write(path)


def write_logits(path, tokens, logits):
    n, v = logits.shape
    with open(path, "wb") as f:
        f.write(struct.pack("<ii", n, v))
        f.write(np.asarray(tokens, dtype="<i4").tobytes())
        f.write(np.asarray(logits, dtype="<f4").tobytes())


def reference_logits(model, tokens):
    m = model.double()
    with torch.no_grad():
        out = m(torch.tensor([tokens], dtype=torch.long))[0]
    model.float()
    return out.numpy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ckpt")
    ap.add_argument("tokenizer")
    ap.add_argument("out")
    ap.add_argument("--name", default="austen")
    ap.add_argument("--ref-text")
    ap.add_argument("--ref-tokens", type=int, default=64)
    ap.add_argument("--ref-out")
    a = ap.parse_args()
    model, cfg, ck = load(a.ckpt)
    tok = Tokenizer.load(a.tokenizer)
    if len(tok.strs) != cfg.n_vocab:
        sys.exit(f"export: tokenizer has {len(tok.strs)} tokens, model {cfg.n_vocab}")
    write_gguf(model, cfg, tok, a.out, a.name)
    print(f"{a.out}: {model.n_params()} parameters, {os.path.getsize(a.out)} bytes, "
          f"step {ck['step']}, {ck['seconds']:.0f}s of training")
    if a.ref_text:
        with open(a.ref_text, encoding="utf-8") as f:
            tokens = tok.encode(f.read(), bos=True)[:a.ref_tokens]
        write_logits(a.ref_out, tokens, reference_logits(model, tokens))
        print(f"{a.ref_out}: {len(tokens)} positions")


if __name__ == "__main__":
    main()
