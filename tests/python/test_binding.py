"""Tests of the ctypes binding (bindings/python/nexttok.py).

Run by meson with NEXTTOK_LIB pointing at the built library and
NEXTTOK_FIXTURES at ../shared/fixtures; fixture tests skip without it.
"""
import array
import hashlib
import math
import os
import struct

import pytest

import nexttok

SKIP_MSG = "fixtures not found: ../shared/fixtures is absent, conformance test skipped"


def fixture(rel):
    root = os.environ.get("NEXTTOK_FIXTURES", "")
    path = os.path.join(root, rel)
    if not root or not os.path.exists(path):
        pytest.skip(SKIP_MSG)
    return path


def read_logits_file(path):
    data = open(path, "rb").read()
    n, n_vocab = struct.unpack_from("<ii", data, 0)
    tokens = list(struct.unpack_from("<%di" % n, data, 8))
    flat = array.array("f")
    flat.frombytes(data[8 + 4 * n:])
    assert len(flat) == n * n_vocab
    return tokens, [flat[i * n_vocab:(i + 1) * n_vocab] for i in range(n)]


def tokenizer_or_skip(model):
    try:
        return model.tokenizer()
    except nexttok.NexttokError as e:
        if e.status == nexttok.Status.UNSUPPORTED:
            pytest.skip("tokenizer not available yet: %s" % e)
        raise


@pytest.fixture
def gpt2():
    with nexttok.Model(fixture("models/gpt2-tiny-f32.gguf")) as m:
        yield m


def test_version_is_semver():
    parts = nexttok.version().split(".")
    assert len(parts) == 3 and all(p.isdigit() for p in parts)


def test_isa_is_a_known_name():
    assert nexttok.isa() in ("avx512", "avx2", "neon", "scalar")


def test_missing_file_raises_io_error_naming_it(tmp_path):
    path = tmp_path / "absent.gguf"
    with pytest.raises(nexttok.NexttokError) as info:
        nexttok.Model(path)
    assert info.value.status == nexttok.Status.IO
    assert "absent.gguf" in info.value.message


def test_junk_file_raises_format_error(tmp_path):
    path = tmp_path / "junk.gguf"
    path.write_bytes(b"definitely not GGUF" * 10)
    with pytest.raises(nexttok.NexttokError) as info:
        nexttok.Model(str(path))
    assert info.value.status == nexttok.Status.FORMAT
    assert info.value.message


def test_model_facts(gpt2):
    info = gpt2.info
    assert info.architecture == "gpt2" == gpt2.architecture
    assert info.n_vocab == 50257 == gpt2.n_vocab
    assert info.n_ctx_train == 128 == gpt2.n_ctx_train
    assert info.n_embd == 32 == gpt2.n_embd
    assert info.n_layer == 2
    assert info.n_head == 4
    assert info.gguf_version == 3
    keys = [k for k, _ in gpt2.metadata()]
    assert "general.architecture" in keys


def test_digests_match_hashlib(gpt2):
    path = fixture("models/gpt2-tiny-f32.gguf")
    data = open(path, "rb").read()
    assert gpt2.info.file_size == len(data)
    assert gpt2.digest() == hashlib.blake2b(data, digest_size=32).digest()
    tensors = gpt2.tensors()
    assert tensors
    assert sum(t.n_bytes for t in tensors) <= len(data)
    for i, t in enumerate(tensors):
        chunk = data[t.offset:t.offset + t.n_bytes]
        assert gpt2.tensor_digest(i) == hashlib.blake2b(chunk, digest_size=32).digest(), t.name
    gpt2.verify(gpt2.digest())
    wrong = bytearray(gpt2.digest())
    wrong[0] ^= 1
    with pytest.raises(nexttok.NexttokError) as info:
        gpt2.verify(bytes(wrong))
    assert info.value.status == nexttok.Status.CHECKSUM


def test_feed_logits_match_exact_fixture(gpt2):
    tokens, want = read_logits_file(fixture("logits/gpt2-tiny-f32.t1.exact.logits"))
    with gpt2.session() as s:
        rows = s.feed(tokens, logits=True)
        assert len(rows) == len(tokens)
        assert s.position == len(tokens)
        for i, (g, w) in enumerate(zip(rows, want)):
            bound = 1e-3 * max(1.0, max(abs(x) for x in w))
            diff = max(abs(a - b) for a, b in zip(g, w))
            assert diff <= bound, "row %d: %g > %g" % (i, diff, bound)
        # The session's own last logits are the last row.
        assert s.logits() == rows[-1]


@pytest.mark.parametrize("arch", ["qwen2", "gemma3", "phi3", "stablelm"])
def test_architectures_run_and_describe_themselves(arch):
    """Families beyond gpt2/llama: their features, and logits within the
    fixtures' bound of the float64 reference."""
    tokens, want = read_logits_file(fixture("arch/%s.exact.logits" % arch))
    with nexttok.Model(fixture("arch/%s.gguf" % arch)) as m:
        info = m.info
        assert info.architecture == arch
        assert info.head_dim in (16, 32)
        assert info.features.startswith("layernorm" if arch == "stablelm" else "rmsnorm"), info.features
        with m.session() as s:
            rows = s.feed(tokens, logits=True)
    for i, (g, w) in enumerate(zip(rows, want)):
        bound = 1e-3 * max(1.0, max(abs(x) for x in w))
        assert max(abs(a - b) for a, b in zip(g, w)) <= bound, "%s row %d" % (arch, i)


def test_unsupported_architecture_says_why(tmp_path):
    src = open(fixture("arch/qwen2.gguf"), "rb").read()
    # same length: the architecture string's bytes only
    key = b"general.architecture"
    at = src.index(key) + len(key) + 4 + 8  # value type (u32), string length (u64)
    assert src[at:at + 5] == b"qwen2"
    path = tmp_path / "mamba.gguf"
    path.write_bytes(src[:at] + b"mamba" + src[at + 5:])
    with pytest.raises(nexttok.NexttokError) as err:
        nexttok.Model(str(path))
    assert err.value.status == nexttok.Status.UNSUPPORTED
    assert "state-space" in err.value.message


def test_probs_and_topk_agree(gpt2):
    with gpt2.session() as s:
        s.feed([15496, 995])
        probs = s.probs(1.0)
        assert len(probs) == gpt2.n_vocab
        assert abs(sum(probs) - 1.0) < 1e-3
        top = s.topk(5)
        assert len(top) == 5
        order = sorted(range(len(probs)), key=lambda k: (-probs[k], k))[:5]
        assert [t for t, _ in top] == order
        for t, p in top:
            assert abs(p - probs[t]) < 1e-6
        greedy = s.probs(0.0)
        assert greedy[order[0]] == 1.0 and sum(greedy) == 1.0
        with nexttok.Sampler(temperature=0.0) as sampler:
            assert sampler.sample(s) == order[0]


def test_errors_leave_the_session_unchanged(gpt2):
    with gpt2.session() as s:
        s.feed([1, 2, 3])
        before = s.logits()
        with pytest.raises(nexttok.NexttokError) as info:
            s.feed([4, gpt2.n_vocab])
        assert info.value.status == nexttok.Status.TOKEN_RANGE
        assert s.position == 3
        with pytest.raises(nexttok.NexttokError) as info:
            s.feed(list(range(1, s.n_ctx + 1)))
        assert info.value.status == nexttok.Status.CONTEXT_FULL
        assert "context" in str(info.value)
        assert s.position == 3
        assert s.logits() == before


def test_rewind_replays_the_same_logits(gpt2):
    with gpt2.session(n_ctx=16, n_threads=1) as s:
        assert s.n_ctx == 16
        rows = s.feed([10, 20, 30, 40], logits=True)
        s.rewind(2)
        assert s.position == 2
        assert s.logits() == rows[1]
        again = s.feed([30, 40], logits=True)
        for a, b in zip(again, rows[2:]):
            assert max(abs(x - y) for x, y in zip(a, b)) <= 1e-5
        s.reset()
        assert s.position == 0
        with pytest.raises(nexttok.NexttokError) as info:
            s.logits()
        assert info.value.status == nexttok.Status.STATE


def test_closing_the_model_closes_its_sessions():
    model = nexttok.Model(fixture("models/gpt2-tiny-f32.gguf"))
    session = model.session()
    model.close()
    assert model.closed and session.closed
    with pytest.raises(nexttok.NexttokError) as info:
        session.feed([1])
    assert info.value.status == nexttok.Status.STATE
    model.close()  # twice is fine


def test_progress_callback_can_cancel():
    seen = []
    with nexttok.Model(fixture("models/gpt2-tiny-f32.gguf"), progress=seen.append):
        pass
    assert seen and seen[-1] == 1.0
    assert all(0.0 <= f <= 1.0 for f in seen)
    with pytest.raises(nexttok.NexttokError) as info:
        nexttok.Model(fixture("models/gpt2-tiny-f32.gguf"), progress=lambda f: True)
    assert info.value.status == nexttok.Status.CANCELLED


def test_tokenizer_matches_fixture_tokens():
    with nexttok.Model(fixture("models/aidreams260K.gguf")) as model:
        tok = tokenizer_or_skip(model)
        text = open(fixture("texts/t1.txt"), encoding="utf-8").read()
        tokens, _ = read_logits_file(fixture("logits/aidreams260K.t1.exact.logits"))
        assert tok.encode(text) == tokens  # BOS added as the vocabulary says
        assert tok.bos == tokens[0]
        assert tok.is_control(tok.bos)
        assert tok.decode(tokens, skip_special=True).strip() == text.strip()


def test_feed_text_equals_feeding_the_encoded_ids():
    with nexttok.Model(fixture("models/aidreams260K.gguf")) as model:
        tok = tokenizer_or_skip(model)
        ids = tok.encode("Once upon a time")
        with model.session() as a, model.session() as b:
            a.feed_text(tok, "Once upon a time")
            b.feed(ids)
            assert a.position == b.position == len(ids)
            assert a.logits() == b.logits()
        pieces = b"".join(tok.piece(t) for t in ids if not tok.is_control(t))
        assert pieces.decode("utf-8").strip() == "Once upon a time"


def test_greedy_generation_matches_fixture():
    tsv = fixture("generation/aidreams260K.greedy.tsv")
    with nexttok.Model(fixture("models/aidreams260K.gguf")) as model:
        tok = tokenizer_or_skip(model)
        for line in open(tsv, encoding="utf-8"):
            prompt, n_new, expected = line.rstrip("\n").split("\t")
            with model.session() as s, tok.decoder(skip_special=True) as dec, \
                    nexttok.Sampler(temperature=0.0) as sampler:
                prompt_ids = tok.encode(prompt)
                s.feed(prompt_ids)
                for t in prompt_ids:
                    dec.push(t)
                out = []
                for i in range(int(n_new)):
                    t = sampler.sample(s)
                    if t == tok.eos:
                        break
                    out.append(dec.push(t))
                    if i + 1 < int(n_new):
                        s.feed([t])
                out.append(dec.flush())
                assert prompt + "".join(out) == expected


def test_sessions_on_a_shared_pool_match_private_ones(gpt2):
    tokens, _ = read_logits_file(fixture("logits/gpt2-tiny-f32.t1.exact.logits"))
    with gpt2.session(n_threads=2) as own:
        want = own.feed(tokens, logits=True)
    with nexttok.Pool(2) as pool:
        assert pool.n_threads == 2
        a = gpt2.session(pool=pool)
        b = gpt2.session(pool=pool, precision=nexttok.Precision.EXACT, n_batch=5)
        assert [r.tobytes() for r in a.feed(tokens, logits=True)] == [r.tobytes() for r in want]
        assert [r.tobytes() for r in b.feed(tokens, logits=True)] == [r.tobytes() for r in want]
    # closing the pool closed its sessions first
    assert a.closed and b.closed


def test_kv_types_and_bad_options():
    path = fixture("models/llama-q-Q8_0.gguf")
    tokens, want = read_logits_file(fixture("logits/llama-q-Q8_0.t1.exact.logits"))
    with nexttok.Model(path) as model:
        rows = {}
        for kv in nexttok.KvType:
            with model.session(n_ctx=64, kv_type=kv, precision=nexttok.Precision.EXACT) as s:
                rows[kv] = s.feed(tokens, logits=True)
        assert rows[nexttok.KvType.F16][-1].tobytes() != rows[nexttok.KvType.F32][-1].tobytes()
        for kv in nexttok.KvType:
            worst = max(abs(a - b) for r, w in zip(rows[kv], want) for a, b in zip(r, w))
            assert worst < 0.1, (kv, worst)
        with pytest.raises(nexttok.NexttokError) as e:
            model.session(kv_type=9)
        assert e.value.status == nexttok.Status.INVALID_ARGUMENT and "kv_type 9" in str(e.value)
        with pytest.raises(nexttok.NexttokError) as e:
            model.session(precision=5)
        assert "precision 5" in str(e.value)
    with pytest.raises(nexttok.NexttokError) as e:
        nexttok.Pool(-2)
    assert e.value.status == nexttok.Status.INVALID_ARGUMENT


def test_session_info_reports_precision_and_memory():
    with nexttok.Model(fixture("models/llama-q-Q4_0.gguf")) as model:
        with model.session(n_ctx=32, kv_type=nexttok.KvType.F16) as s:
            info = s.info()
            assert info.precision == nexttok.Precision.FAST  # quantized: fast by default
            assert info.kv_type == nexttok.KvType.F16 and info.n_ctx == 32
            # 1 layer x 2 KV heads x 64 x (K and V) x 2 bytes
            assert info.kv_bytes_per_pos == 1 * 2 * 64 * 2 * 2
            assert info.kv_bytes == 32 * info.kv_bytes_per_pos
            assert info.scratch_bytes > 0
        with model.session(precision=nexttok.Precision.EXACT) as s:
            assert s.info().precision == nexttok.Precision.EXACT


# --- scoring and perplexity -------------------------------------------------

def log_softmax(row, tok):
    m = max(row)
    return (row[tok] - m) - math.log(math.fsum(math.exp(x - m) for x in row))
# --------------------------------------------------------------------------
# Sampler chains
# --------------------------------------------------------------------------

_M64 = (1 << 64) - 1


class _RefRng:
    """xoshiro256** seeded by splitmix64, from the algorithms' reference
    definitions, to check the library's draws from outside."""

    def __init__(self, seed):
        self.s = []
        x = seed
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & _M64
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
            self.s.append(z ^ (z >> 31))

    @staticmethod
    def _rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & _M64

    def next(self):
        s = self.s
        result = (self._rotl((s[1] * 5) & _M64, 7) * 9) & _M64
        t = (s[1] << 17) & _M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self._rotl(s[3], 45)
        return result

    def unit(self):
        return (self.next() >> 11) / 9007199254740992.0


def _f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def _ref_draw(logits, temperature, top_k, rng):
    """temperature, top-k, dist as nexttok.h defines them."""
    import math
    scaled = [_f32(x / temperature) for x in logits]
    ranked = sorted(range(len(scaled)), key=lambda i: (-scaled[i], i))[:top_k]
    keep = sorted(ranked)
    top = max(scaled[i] for i in keep)
    weights = [math.exp(scaled[i] - top) for i in keep]
    target = rng.unit() * sum(weights)
    acc = 0.0
    for i, w in zip(keep, weights):
        acc += w
        if acc > target:
            return i
    return keep[-1]


@pytest.fixture
def aidreams():
    with nexttok.Model(fixture("models/aidreams260K.gguf")) as m:
        yield m


def cli_or_skip():
    cli = os.environ.get("NEXTTOK_CLI", "")
    if not cli or not os.path.exists(cli):
        pytest.skip("NEXTTOK_CLI not set: the CLI comparison needs the nexttok binary")
    return cli


def test_score_matches_exact_fixture_and_feed_rows(aidreams):
    tokens, want = read_logits_file(fixture("logits/aidreams260K.t2.exact.logits"))
    with aidreams.session() as s, aidreams.session() as plain:
        s.feed(tokens[:1])
        got = s.score(tokens[1:])
        assert s.position == len(tokens)
        rows = plain.feed(tokens, logits=True)
    assert len(got.tokens) == len(tokens) - 1
    for i, sc in enumerate(got.tokens, start=1):
        assert sc.token == tokens[i]
        w = want[i - 1]
        bound = 1e-3 * max(1.0, max(abs(x) for x in w))
        assert abs(sc.logprob - log_softmax(w, tokens[i])) <= 2 * bound, i
        row = rows[i - 1]
        assert abs(sc.logprob - log_softmax(row, tokens[i])) <= 1e-12, i
        assert sc.rank == 1 + sum(1 for x in row if x > row[tokens[i]]), i
        assert sc.greedy == (sc.rank == 1)
    # The C sum adds the logprobs in token order, as sum() does.
    assert got.logprob_sum == sum(sc.logprob for sc in got.tokens)
    assert got.n_greedy == sum(sc.greedy for sc in got.tokens)
    assert got.greedy == (got.n_greedy == len(got.tokens))


def test_score_needs_a_context_and_shares_it_after_rewind(aidreams):
    tok = tokenizer_or_skip(aidreams)
    ctx = tok.encode("Once upon a time")
    with aidreams.session() as s:
        with pytest.raises(nexttok.NexttokError) as info:
            s.score(ctx)
        assert info.value.status == nexttok.Status.STATE
        assert s.position == 0
        s.feed(ctx)
        a = s.score([261, 300])
        s.rewind(len(ctx))
        b = s.score([261, 300])
        assert a == b
        with pytest.raises(nexttok.NexttokError) as info:
            s.score([5, 100000])
        assert info.value.status == nexttok.Status.TOKEN_RANGE
        assert s.position == len(ctx) + 2
        assert s.score([]) == nexttok.Score(0.0, 0, True, [])


def test_perplexity_equals_the_cli_exactly(aidreams, tmp_path):
    cli = cli_or_skip()
    tok = tokenizer_or_skip(aidreams)
    text_path = fixture("texts/t2.txt")
    text = open(text_path, "rb").read()
    import json
    import subprocess
    for n_ctx, stride in ((16, 8), (16, 16), (128, 0)):
        out = subprocess.run([cli, "perplexity", fixture("models/aidreams260K.gguf"), "--text-file",
                              text_path, "--ctx", str(n_ctx), "--json"]
                             + (["--stride", str(stride)] if stride else []),
                             check=True, capture_output=True, text=True).stdout
        doc = json.loads(out)
        with aidreams.session(n_ctx=n_ctx) as s:
            got = s.perplexity_text(tok, text, stride=stride)
            by_ids = s.perplexity(tok.encode(text), stride=stride)
        assert got.perplexity == doc["perplexity"]
        assert got.perplexity_se == doc["perplexity_stderr"]
        assert got.nll_mean == doc["nll_mean"] and got.nll_se == doc["nll_stderr"]
        assert got.nll_sum == doc["nll_sum"] and got.bits_per_byte == doc["bits_per_byte"]
        assert (got.n_tokens, got.n_scored, got.n_bytes, got.n_windows, got.n_window, got.stride) == \
            (doc["n_tokens"], doc["n_scored"], doc["n_bytes"], doc["n_windows"], doc["n_ctx"], doc["stride"])
        # The token form: the same numbers, without bits per byte.
        assert by_ids.nll_sum == got.nll_sum and by_ids.perplexity == got.perplexity
        assert by_ids.n_bytes == 0 and by_ids.bits_per_byte == 0.0


def test_choice_loglikelihoods_equal_the_cli_exactly(aidreams, tmp_path):
    cli = cli_or_skip()
    tok = tokenizer_or_skip(aidreams)
    import json
    import subprocess
    item = {"context": "Once upon a time, there was a little", "endings": [" girl", " dog", " café"],
            "label": 0}
    path = tmp_path / "items.jsonl"
    path.write_text(json.dumps(item) + "\n", encoding="utf-8")
    out = subprocess.run([cli, "choice", fixture("models/aidreams260K.gguf"), "--jsonl", str(path),
                          "--json", "--per-item"], check=True, capture_output=True, text=True).stdout
    doc = json.loads(out)
    ctx = tok.encode(item["context"])
    with aidreams.session() as s:
        s.feed(ctx)
        lls = []
        for e in item["endings"]:
            s.rewind(len(ctx))
            lls.append(s.score(tok.encode(item["context"] + e)[len(ctx):]).logprob_sum)
    assert doc["per_item"][0]["loglikelihoods"] == lls


def test_choices_equal_the_cli_and_the_long_way(aidreams, tmp_path):
    cli = cli_or_skip()
    tok = tokenizer_or_skip(aidreams)
    import json
    import subprocess
    item = {"context": "Once upon a time, there was a little ", "endings": ["girl", "dog", "café"], "label": 0}
    path = tmp_path / "items.jsonl"
    path.write_text(json.dumps(item) + "\n", encoding="utf-8")
    out = subprocess.run([cli, "choice", fixture("models/aidreams260K.gguf"), "--jsonl", str(path),
                          "--json", "--per-item"], check=True, capture_output=True, text=True).stdout
    doc = json.loads(out)
    with aidreams.session() as s:
        r = s.choices(tok, item["context"], item["endings"])
        assert [e.logprob_sum for e in r.endings] == doc["per_item"][0]["loglikelihoods"]
        assert [e.n_chars for e in r.endings] == [4, 3, 4]
        lls = [e.logprob_sum for e in r.endings]
        assert r.best == lls.index(max(lls))
        norms = [e.logprob_sum / e.n_chars for e in r.endings]
        assert r.best_norm == norms.index(max(norms))
        # the context's trailing space moved to the endings, as lm-eval does
        ctx = tok.encode("Once upon a time, there was a little")
        s.reset()
        s.feed(ctx)
        s.rewind(len(ctx))
        want = s.score(tok.encode("Once upon a time, there was a little girl")[len(ctx):]).logprob_sum
        assert r.endings[0].logprob_sum == want
        with pytest.raises(nexttok.NexttokError) as info:
            s.choices(tok, item["context"], ["dog", ""])
        assert info.value.status == nexttok.Status.INVALID_ARGUMENT
        assert "ending 1 is empty" in info.value.message


def test_perplexity_progress_and_errors(aidreams):
    tokens, _ = read_logits_file(fixture("logits/aidreams260K.t2.exact.logits"))
    seen = []
    with aidreams.session(n_ctx=32) as s:
        r = s.perplexity(tokens, progress=seen.append)
        assert (r.n_window, r.stride, r.n_windows) == (32, 16, 4)
        assert seen == [0.25, 0.5, 0.75, 1.0]
        with pytest.raises(nexttok.NexttokError) as info:
            s.perplexity(tokens, progress=lambda f: f >= 0.5)
        assert info.value.status == nexttok.Status.CANCELLED
        with pytest.raises(nexttok.NexttokError) as info:
            s.perplexity(tokens, n_window=8, stride=9)
        assert info.value.status == nexttok.Status.INVALID_ARGUMENT
        assert "stride 9" in info.value.message
        with pytest.raises(ZeroDivisionError):
            s.perplexity(tokens, progress=lambda f: 1 / 0)


def test_constraint_answers_inside_the_set(aidreams):
    tok = tokenizer_or_skip(aidreams)
    endings = ["dog", "girl named Lily", "tree"]
    with nexttok.Constraint(tok, "Once upon a time, there was a little ", endings) as c:
        ctx = c.context_tokens
        assert ctx == tok.encode("Once upon a time, there was a little")
        with aidreams.session() as s:
            s.feed(ctx)
            answer = []
            while True:
                index, more = c.matched
                if index >= 0 and not more:
                    break
                allowed = c.allowed()
                assert allowed == sorted(set(allowed)) and allowed
                logits = s.logits()
                best = max(allowed, key=lambda t: (logits[t], -t))
                c.accept(best)
                s.feed([best])
                answer.append(best)
        whole = tok.encode("Once upon a time, there was a little " + endings[index])
        assert answer == whole[len(ctx):]
        with pytest.raises(nexttok.NexttokError) as info:
            c.accept(0)
        assert info.value.status == nexttok.Status.INVALID_ARGUMENT
def test_chain_draws_follow_the_documented_rule(aidreams):
    with aidreams.session() as s:
        rows = s.feed([1, 403, 261, 300, 265], logits=True)
    chain = nexttok.SamplerChain(aidreams, seed=99).temperature(0.7).top_k(20).dist()
    assert chain.stages == ["temperature", "top-k", "dist"]
    rng = _RefRng(99)
    for i in range(200):
        row = rows[i % len(rows)]
        assert chain.sample_logits(row) == _ref_draw(row, 0.7, 20, rng), "draw %d" % i
    chain.close()


def test_chain_equals_the_c_sampler_and_its_default(aidreams):
    with aidreams.session() as s:
        s.feed([1, 403, 261])
        old = nexttok.Sampler(temperature=0.9, top_k=30, top_p=0.9, min_p=0.02, seed=5)
        default = nexttok.SamplerChain.default(aidreams, temperature=0.9, top_k=30, top_p=0.9,
                                               min_p=0.02, seed=5)
        built = (nexttok.SamplerChain(aidreams, seed=5).temperature(0.9).top_k(30).top_p(0.9)
                 .min_p(0.02).dist())
        assert default.stages == built.stages
        for _ in range(50):
            a, b, c = old.sample(s), default.sample(s), built.sample(s)
            assert a == b == c


def test_generate_matches_the_cli(aidreams):
    """Session.generate with the CLI's chain gives the CLI's text."""
    import subprocess
    lib = os.environ.get("NEXTTOK_LIB", "")
    cli = os.path.join(os.path.dirname(os.path.dirname(lib)), "tools", "nexttok", "nexttok")
    if not os.path.exists(cli):
        pytest.skip("the nexttok command is not built beside the library")
    path = fixture("models/aidreams260K.gguf")
    prompt = [1, 403, 261, 300]
    out = subprocess.run([cli, "generate", path, "--tokens", ",".join(map(str, prompt)), "-n", "25",
                          "--temp", "0.8", "--top-k", "40", "--top-p", "0.95",
                          "--repeat-penalty", "1.2", "--repeat-last-n", "16",
                          "--presence-penalty", "0.1", "--seed", "31"],
                         capture_output=True, check=True).stdout
    tok = aidreams.tokenizer()
    chain = (nexttok.SamplerChain(aidreams, seed=31).penalties(16, repeat=1.2, presence=0.1)
             .temperature(0.8).top_k(40).top_p(0.95).dist())
    chain.accept_many(prompt)
    with aidreams.session() as s:
        s.feed(prompt)
        got = list(s.generate(chain, 25, stop={tok.eos}))
        assert s.position == len(prompt) + len(got)
    text = tok.decode_bytes(prompt + got, skip_special=True) + b"\n"
    assert out == text


def test_mask_bias_candidates_and_state():
    chain = nexttok.SamplerChain(6, seed=1).logit_bias({3: 2.0, 5: -math.inf}).mask().greedy()
    row = array.array("f", [0.0, 1.0, 0.5, 0.0, 0.2, 9.0])
    # token 5 banned; token 3 at 2.0 wins over token 1 at 1.0
    assert chain.sample_logits(row) == 3
    cands = chain.candidates()
    assert [t for t, _ in cands] == [3, 1, 2, 4, 0]
    assert abs(sum(p for _, p in cands) - 1.0) < 1e-6
    chain.set_mask([0, 2, 4])
    assert chain.sample_logits(list(row)) == 2
    chain.set_logit_bias({0: 5.0})
    assert chain.sample_logits(row) == 0
    chain.set_mask(None)
    assert chain.sample_logits(row) == 5
    chain.set_mask([])
    with pytest.raises(nexttok.NexttokError) as info:
        chain.sample_logits(row)
    assert info.value.status == nexttok.Status.STATE


def test_reset_and_clone_repeat_draws():
    row = [math.sin(i * 0.3) * 2 for i in range(100)]
    chain = nexttok.SamplerChain(100, seed=8).penalties(8, repeat=1.5).top_k(30).dist()
    first = []
    for _ in range(20):
        t = chain.sample_logits(row)
        chain.accept(t)
        first.append(t)
    twin = chain.clone()
    assert [chain.sample_logits(row) for _ in range(10)] == \
        [twin.sample_logits(row) for _ in range(10)]
    chain.reset()
    again = []
    for _ in range(20):
        t = chain.sample_logits(row)
        chain.accept(t)
        again.append(t)
    assert again == first


def test_chain_errors_carry_status_and_message():
    chain = nexttok.SamplerChain(4)
    with pytest.raises(nexttok.NexttokError) as info:
        chain.top_p(1.5)
    assert info.value.status == nexttok.Status.INVALID_ARGUMENT
    assert "top_p 1.5" in info.value.message
    with pytest.raises(nexttok.NexttokError) as info:
        chain.temperature(-1)
    assert "temperature -1" in info.value.message
    with pytest.raises(nexttok.NexttokError) as info:
        chain.sample_logits([0.0] * 4)
    assert info.value.status == nexttok.Status.STATE
    with pytest.raises(nexttok.NexttokError) as info:
        chain.sample_logits([0.0] * 3)
    assert "3 logits" in info.value.message
    with pytest.raises(nexttok.NexttokError) as info:
        chain.accept(4)
    assert info.value.status == nexttok.Status.TOKEN_RANGE
    with pytest.raises(nexttok.NexttokError) as info:
        chain.set_mask([1])
    assert "0 mask stages" in info.value.message
    with pytest.raises(nexttok.NexttokError):
        nexttok.SamplerChain(0)


def test_constraint_masks_a_sampler_chain(aidreams):
    tok = tokenizer_or_skip(aidreams)
    endings = ["attack", "flee", "trade"]
    import random
    rng = random.Random(3)
    with nexttok.Constraint(tok, "The knight chose to ", endings) as c:
        chain = nexttok.SamplerChain(aidreams, seed=9).temperature(1.3).mask().dist()
        seen = set()
        for _ in range(60):
            c.reset()
            drawn = []
            while not (c.matched[0] >= 0 and not c.matched[1]):
                c.apply(chain, 1)
                row = [rng.uniform(-5, 5) for _ in range(aidreams.n_vocab)]
                t = chain.sample_logits(row)
                c.accept(t)
                drawn.append(t)
            seen.add(c.matched[0])
            whole = tok.encode("The knight chose to " + endings[c.matched[0]])
            assert drawn == whole[len(c.context_tokens):]
        assert seen == {0, 1, 2}


def test_generate_under_a_constraint_spells_one_ending(aidreams):
    """Session.generate with a Constraint yields exactly one ending's tokens
    for every seed, and the same tokens as `nexttok generate --choice`."""
    tok = tokenizer_or_skip(aidreams)
    endings = ["attack", "flee", "flee north", "trade with the dog"]
    prompt = "The cat wanted to "
    seen = set()
    cli = os.environ.get("NEXTTOK_CLI")
    for seed in range(1, 9):
        with nexttok.Constraint(tok, prompt, endings) as c, aidreams.session() as s:
            ctx = c.context_tokens
            s.feed(ctx)
            chain = nexttok.SamplerChain(aidreams, seed=seed).mask().temperature(1.5).dist()
            chain.accept_many(ctx)
            got = list(s.generate(chain, 100, stop={tok.eos}, constraint=c))
            index, more = c.matched
            assert index >= 0
            assert got == tok.encode(prompt.rstrip() + " " + endings[index])[len(ctx):]
            seen.add(index)
            if cli:
                import subprocess
                args = [cli, "generate", fixture("models/aidreams260K.gguf"), "--text", prompt,
                        "--temp", "1.5", "--seed", str(seed)]
                for e in endings:
                    args += ["--choice", e]
                out = subprocess.run(args, capture_output=True, check=True).stdout.decode()
                assert out == prompt.rstrip() + " " + endings[index] + "\n", seed
    assert len(seen) >= 2
