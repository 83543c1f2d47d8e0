"""The model shipped in models/ through the binding: logits against the
committed PyTorch reference (always), against PyTorch run live on the
weights read back from the file (when torch is importable), and the
tokenizer against the trainer's encoder (ids committed; live when the
regex module is importable)."""
import array
import os
import struct
import sys

import pytest

import nexttok

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL = os.path.join(ROOT, "models", "austen-2.6m.gguf")
DATA = os.path.join(ROOT, "tests", "data", "austen")
TRAIN_TOOLS = os.path.join(ROOT, "tools", "train")


def read_logits_file(path):
    data = open(path, "rb").read()
    n, n_vocab = struct.unpack_from("<ii", data, 0)
    tokens = list(struct.unpack_from("<%di" % n, data, 8))
    flat = array.array("f")
    flat.frombytes(data[8 + 4 * n:])
    assert len(flat) == n * n_vocab
    return tokens, [flat[i * n_vocab:(i + 1) * n_vocab] for i in range(n)]


def sample_ids():
    with open(os.path.join(DATA, "sample.ids")) as f:
        return [int(x) for x in f.read().split()]


def sample_text():
    with open(os.path.join(DATA, "sample.txt"), encoding="utf-8") as f:
        return f.read()


def assert_within_bound(got_rows, want_rows):
    """The fixtures' float bound: 1e-3 * max(1, max |reference| of the row)."""
    assert len(got_rows) == len(want_rows)
    for i, (g, w) in enumerate(zip(got_rows, want_rows)):
        bound = 1e-3 * max(1.0, max(abs(x) for x in w))
        diff = max(abs(a - b) for a, b in zip(g, w))
        assert diff <= bound, "row %d: %g > %g" % (i, diff, bound)


@pytest.fixture(scope="module")
def model():
    with nexttok.Model(MODEL) as m:
        yield m


def test_logits_match_committed_torch_reference(model):
    tokens, want = read_logits_file(os.path.join(DATA, "reference.logits"))
    with model.session() as s:
        assert_within_bound(s.feed(tokens, logits=True), want)


def test_logits_match_torch_live(model):
    torch = pytest.importorskip("torch", reason="torch not importable (Debian python3-torch)")
    sys.path.insert(0, TRAIN_TOOLS)
    from gguf_model import load_model

    tm, _ = load_model(MODEL)
    tokens = sample_ids()[:96]
    with torch.no_grad():
        want = tm.double()(torch.tensor([tokens]))[0].tolist()
    with model.session() as s:
        assert_within_bound(s.feed(tokens, logits=True), want)


def test_tokenizer_matches_trainer_ids(model):
    assert model.tokenizer().encode(sample_text()) == sample_ids()


def test_trainer_encoder_on_the_file_merges_matches_library(model):
    pytest.importorskip("regex", reason="regex not importable (Debian python3-regex)")
    sys.path.insert(0, TRAIN_TOOLS)
    from bpe import Tokenizer
    from gguf_read import read
    from gguf_model import load_merges

    meta, _ = read(MODEL)
    tok = Tokenizer(load_merges(meta))
    assert tok.strs == meta["tokenizer.ggml.tokens"]
    text = sample_text()
    assert tok.encode(text, bos=True) == model.tokenizer().encode(text)
