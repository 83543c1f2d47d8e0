"""Train the shipped Llama on the Austen corpus (tools/corpus/prepare.py),
on the CPU with Debian's PyTorch.

  /usr/bin/python3 tools/train/train.py --data build/austen --out build/austen/run \
      --max-minutes 50 [--steps N --decay-start S]

The learning rate warms up, stays flat, then falls linearly to a tenth
over the last steps (warmup-stable-decay). On a shared machine the step
rate is unknown in advance, so by default the run decides when to decay
from the clock: at 80% of --max-minutes (or of --steps) it fixes the decay
start S and the final step N so the decay fills the remaining time, and
logs both. Given --steps N --decay-start S, the schedule is fixed and the
run repeats a logged one exactly (fixed seeds, same data): the schedule is
a function of the step alone.
"""
import argparse
import json
import math
import os
import sys
import time

# OpenMP threads that spin while waiting make a loaded machine many times
# slower (measured 7x with 2 threads beside other work); sleep instead.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bpe import Tokenizer  # noqa: E402
from llama import Config, Llama  # noqa: E402


def token_file(tok, text_paths, cache_path, tok_path):
    """The novels' ids, each novel starting with BOS as the library feeds a
    text; cached beside the data."""
    if os.path.exists(cache_path) and all(os.path.getmtime(cache_path) > os.path.getmtime(p)
                                          for p in text_paths + [tok_path]):
        return np.load(cache_path)
    ids = []
    for p in text_paths:
        with open(p, encoding="utf-8") as f:
            ids.extend(tok.encode(f.read(), bos=True))
    a = np.array(ids, dtype=np.int32)
    np.save(cache_path, a)
    return a


def lr_at(step, peak, warmup, decay_start, steps):
    if step < warmup:
        return peak * (step + 1) / warmup
    if decay_start is None or step < decay_start:
        return peak
    t = (step - decay_start) / max(1, steps - decay_start)
    return peak * (1.0 - 0.9 * min(1.0, t))


@torch.no_grad()
def evaluate(model, ids, ctx, n_windows):
    """Mean NLL (nats/token) over the first n_windows disjoint windows."""
    model.eval()
    total, count = 0.0, 0
    for w in range(n_windows):
        s = w * ctx
        if s + ctx + 1 > len(ids):
            break
        x = torch.from_numpy(ids[s:s + ctx + 1].astype(np.int64))[None]
        logits = model(x[:, :-1])
        total += F.cross_entropy(logits[0], x[0, 1:], reduction="sum").item()
        count += ctx
    model.train()
    return total / max(1, count)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="directory with train/*.txt, heldout.txt, tokenizer.json")
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=100000, help="the last step (at most)")
    ap.add_argument("--decay-start", type=int, default=None, help="fix the decay's first step")
    ap.add_argument("--max-minutes", type=float, default=55.0)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--embd", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ff", type=int, default=688)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--eval-every", type=int, default=100)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    tok_path = os.path.join(a.data, "tokenizer.json")
    tok = Tokenizer.load(tok_path)
    train_dir = os.path.join(a.data, "train")
    train_ids = token_file(tok, [os.path.join(train_dir, n) for n in sorted(os.listdir(train_dir))],
                           os.path.join(a.data, "train.ids.npy"), tok_path)
    held_ids = token_file(tok, [os.path.join(a.data, "heldout.txt")], os.path.join(a.data, "heldout.ids.npy"),
                          tok_path)
    cfg = Config(n_vocab=len(tok.strs), n_ctx=a.ctx, n_embd=a.embd, n_layer=a.layers, n_head=a.heads,
                 n_ff=a.ff)
    model = Llama(cfg)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    other = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95))
    log = open(os.path.join(a.out, "train.log"), "a")

    def say(msg):
        print(msg, flush=True)
        log.write(msg + "\n")
        log.flush()

    say(f"config {json.dumps(cfg.dict())} params {model.n_params()} train tokens {len(train_ids)} "
        f"heldout tokens {len(held_ids)} args {json.dumps(vars(a))}")
    gen = torch.Generator().manual_seed(a.seed)
    train_t = torch.from_numpy(train_ids.astype(np.int64))
    offsets = torch.arange(a.ctx + 1)
    t0 = time.time()
    step = 0
    stopped_early = False

    def save(tag):
        torch.save({"config": cfg.dict(), "model": model.state_dict(), "step": step,
                    "seconds": time.time() - t0, "args": vars(a)}, os.path.join(a.out, tag + ".pt"))

    steps, decay_start = a.steps, a.decay_start
    budget = a.max_minutes * 60
    step = 0
    while step < steps:
        if decay_start is None:
            el = time.time() - t0
            if step >= 0.8 * steps:
                decay_start = step
            elif el >= 0.8 * budget:
                rate = step / el
                decay_start = step
                steps = min(steps, step + max(1, int(rate * (budget - el))))
            if decay_start is not None:
                say(f"decay from step {decay_start} to step {steps} (reproduce with "
                    f"--steps {steps} --decay-start {decay_start})")
        for g in opt.param_groups:
            g["lr"] = lr_at(step, a.lr, a.warmup, decay_start, steps)
        starts = torch.randint(0, len(train_t) - a.ctx - 1, (a.batch,), generator=gen)
        xy = train_t[starts[:, None] + offsets]
        logits = model(xy[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, cfg.n_vocab), xy[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        el = time.time() - t0
        if step % 25 == 0:
            say(f"step {step} loss {loss.item():.4f} lr {opt.param_groups[0]['lr']:.2e} elapsed {el:.0f}s")
        if (step + 1) % a.eval_every == 0:
            nll = evaluate(model, held_ids, a.ctx, 16)
            say(f"step {step + 1} heldout-slice nll {nll:.4f} elapsed {el:.0f}s")
            save("last")
        step += 1
        if el > budget * 1.05 and step < steps:
            stopped_early = True
            say(f"stopping at step {step}: {a.max_minutes} minutes (+5%) reached")
            break
    save("last")
    nll = evaluate(model, held_ids, a.ctx, 16)
    say(f"done: {step} steps in {time.time() - t0:.0f}s{' (stopped early)' if stopped_early else ''}; "
        f"heldout-slice nll {nll:.4f}")


if __name__ == "__main__":
    main()
