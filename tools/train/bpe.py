"""Byte-level BPE, as GPT-2 defines it: the text is split by GPT-2's
pre-tokenizer regex, each piece is taken as UTF-8 bytes, and learned
merges join adjacent tokens inside a piece, lowest rank first. Tokens are
stored as GPT-2's printable stand-ins for bytes (bytes_to_unicode), which
is what GGUF's tokenizer.ggml.model = "gpt2" expects.

  bpe.py train TEXT --vocab N --out tokenizer.json
  bpe.py encode tokenizer.json TEXT [--bos]      # ids, space separated

Ids: 0..255 the single bytes in byte order, then one id per merge in the
order learned, then <|endoftext|> (BOS/EOS) last.
"""
import argparse
import collections
import json
import sys

import regex  # Debian python3-regex: \p{L} and \p{N} as the GPT-2 regex needs

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
EOT = "<|endoftext|>"


def bytes_to_unicode():
    """GPT-2's mapping of the 256 bytes to printable code points: printable
    Latin-1 bytes stand for themselves, the rest take 256, 257, ... in
    byte order."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + \
        list(range(0xAE, 0xFF + 1))
    cps = keep[:]
    n = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            cps.append(256 + n)
            n += 1
    return dict(zip(keep, (chr(c) for c in cps)))


B2U = bytes_to_unicode()
PRETOK = regex.compile(GPT2_PATTERN)


def pieces(text):
    return PRETOK.findall(text)


def train(text, vocab_size):
    """Merges learned on the text's pieces: each step joins the most frequent
    adjacent pair (ties: the lowest pair of ids). Pair counts and the
    words holding each pair are updated incrementally, so a step costs the
    words it touches, not the whole corpus."""
    n_merges = vocab_size - 256 - 1
    if n_merges < 0:
        raise ValueError("vocabulary too small")
    freq = collections.Counter(pieces(text))
    words = [list(w.encode("utf-8")) for w in freq]
    counts = list(freq.values())
    pair_count = collections.Counter()
    where = collections.defaultdict(set)
    for i, w in enumerate(words):
        for p in zip(w, w[1:]):
            pair_count[p] += counts[i]
            where[p].add(i)
    merges = []
    for step in range(n_merges):
        if not pair_count:
            break
        best = min(pair_count.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        if pair_count[best] < 2:
            break
        new_id = 256 + step
        merges.append(best)
        for i in sorted(where.pop(best, ())):
            w = words[i]
            c = counts[i]
            for p in zip(w, w[1:]):
                pair_count[p] -= c
                if pair_count[p] <= 0:
                    del pair_count[p]
            out = []
            j = 0
            while j < len(w):
                if j + 1 < len(w) and (w[j], w[j + 1]) == best:
                    out.append(new_id)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for p in zip(out, out[1:]):
                pair_count[p] += c
                where[p].add(i)
    return merges


class Tokenizer:
    def __init__(self, merges):
        self.merges = [tuple(m) for m in merges]
        self.strs = [B2U[b] for b in range(256)]
        for a, b in self.merges:
            self.strs.append(self.strs[a] + self.strs[b])
        self.strs.append(EOT)
        self.eot = len(self.strs) - 1
        self.rank = {m: r for r, m in enumerate(self.merges)}
        self.cache = {}

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            return cls(json.load(f)["merges"])

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"pattern": GPT2_PATTERN, "merges": [list(m) for m in self.merges]}, f)

    def encode_piece(self, piece):
        ids = self.cache.get(piece)
        if ids is not None:
            return ids
        w = list(piece.encode("utf-8"))
        while len(w) > 1:
            best = min(zip(w, w[1:]), key=lambda p: self.rank.get(p, 1 << 30))
            r = self.rank.get(best)
            if r is None:
                break
            new_id, out, j = 256 + r, [], 0
            while j < len(w):
                if j + 1 < len(w) and (w[j], w[j + 1]) == best:
                    out.append(new_id)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            w = out
        self.cache[piece] = w
        return w

    def encode(self, text, bos=False):
        ids = [self.eot] if bos else []
        for p in pieces(text):
            ids.extend(self.encode_piece(p))
        return ids

    def decode(self, ids):
        u2b = {u: b for b, u in B2U.items()}
        return bytes(u2b[c] for i in ids if i != self.eot for c in self.strs[i]).decode("utf-8", "replace")

    def merge_strings(self):
        return [self.strs[a] + " " + self.strs[b] for a, b in self.merges]


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("text")
    t.add_argument("--vocab", type=int, required=True)
    t.add_argument("--out", required=True)
    e = sub.add_parser("encode")
    e.add_argument("tokenizer")
    e.add_argument("text")
    e.add_argument("--bos", action="store_true")
    a = ap.parse_args()
    if a.cmd == "train":
        with open(a.text, encoding="utf-8") as f:
            merges = train(f.read(), a.vocab)
        Tokenizer(merges).save(a.out)
        print(f"{len(merges)} merges, vocabulary {len(merges) + 257}", file=sys.stderr)
    else:
        tok = Tokenizer.load(a.tokenizer)
        with open(a.text, encoding="utf-8") as f:
            print(" ".join(map(str, tok.encode(f.read(), bos=a.bos))))


if __name__ == "__main__":
    main()
