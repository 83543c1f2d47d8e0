"""A small Llama (RMSNorm, RoPE, SwiGLU, tied embeddings) in PyTorch,
written so its GGUF export needs no weight reshuffling: RoPE rotates
adjacent pairs (x[2i], x[2i+1]), as GGUF's "llama" architecture does, and
each Linear's weight is GGUF's row-major [out][in] matrix."""
import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class Config:
    n_vocab: int = 2048
    n_ctx: int = 256
    n_embd: int = 256
    n_layer: int = 4
    n_head: int = 4
    n_ff: int = 688
    eps: float = 1e-5
    rope_base: float = 10000.0

    def dict(self):
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(n))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(cfg, dtype=torch.float32):
    hd = cfg.n_embd // cfg.n_head
    i = torch.arange(hd // 2, dtype=torch.float64)
    inv = cfg.rope_base ** (-2.0 * i / hd)
    ang = torch.arange(cfg.n_ctx, dtype=torch.float64)[:, None] * inv[None, :]
    return torch.cos(ang).to(dtype), torch.sin(ang).to(dtype)


def rope(x, cos, sin):
    """x: [B, H, T, hd]; pairs (2i, 2i+1) rotated by angle pos * base^(-2i/hd)."""
    T = x.shape[2]
    c, s = cos[:T], sin[:T]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    y0 = x0 * c - x1 * s
    y1 = x0 * s + x1 * c
    return torch.stack((y0, y1), dim=-1).flatten(-2)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        E, Fd = cfg.n_embd, cfg.n_ff
        self.n_head = cfg.n_head
        self.attn_norm = RMSNorm(E, cfg.eps)
        self.wq = nn.Linear(E, E, bias=False)
        self.wk = nn.Linear(E, E, bias=False)
        self.wv = nn.Linear(E, E, bias=False)
        self.wo = nn.Linear(E, E, bias=False)
        self.ffn_norm = RMSNorm(E, cfg.eps)
        self.gate = nn.Linear(E, Fd, bias=False)
        self.up = nn.Linear(E, Fd, bias=False)
        self.down = nn.Linear(Fd, E, bias=False)
        mask = torch.ones(cfg.n_ctx, cfg.n_ctx, dtype=torch.bool).triu(1)
        self.register_buffer("causal", mask, persistent=False)

    def forward(self, x, cos, sin):
        B, T, E = x.shape
        H = self.n_head
        h = self.attn_norm(x)
        q = self.wq(h).view(B, T, H, -1).transpose(1, 2)
        k = self.wk(h).view(B, T, H, -1).transpose(1, 2)
        v = self.wv(h).view(B, T, H, -1).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        # Debian's torch 1.13 has no scaled_dot_product_attention.
        att = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
        att = att.masked_fill(self.causal[:T, :T], float("-inf")).softmax(-1)
        a = att @ v
        x = x + self.wo(a.transpose(1, 2).reshape(B, T, E))
        h = self.ffn_norm(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embd = nn.Embedding(cfg.n_vocab, cfg.n_embd)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.norm = RMSNorm(cfg.n_embd, cfg.eps)
        cos, sin = rope_tables(cfg, torch.float64)  # cast per call: exact in a float64 reference
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        self.apply(self._init)
        # GPT-2's scaled init of the projections that feed the residual stream.
        for b in self.blocks:
            for w in (b.wo.weight, b.down.weight):
                nn.init.normal_(w, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def forward(self, idx):
        x = self.embd(idx)
        cos, sin = self.cos.to(x.dtype), self.sin.to(x.dtype)
        for b in self.blocks:
            x = b(x, cos, sin)
        return self.norm(x) @ self.embd.weight.t()

    def n_params(self):
        return sum(p.numel() for p in self.parameters())
