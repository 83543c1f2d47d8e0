"""Forks, snapshots and context shift through the ctypes binding.

Where the library promises bit-identical logits the tests compare bytes,
and snapshots are compared byte for byte with the CLI's (the C client).
"""
import os
import subprocess
import threading

import pytest

import nexttok

SKIP_MSG = "fixtures not found: ../shared/fixtures is absent, conformance test skipped"


def fixture(rel):
    root = os.environ.get("NEXTTOK_FIXTURES", "")
    path = os.path.join(root, rel)
    if not root or not os.path.exists(path):
        pytest.skip(SKIP_MSG)
    return path


def stream(n, n_vocab, seed):
    x = seed * 2654435761 + 12345
    out = []
    for _ in range(n):
        x = (x * 1664525 + 1013904223) % (1 << 32)
        out.append((x >> 8) % n_vocab)
    return out


def raw(session):
    return session.logits().tobytes()


@pytest.fixture
def model():
    with nexttok.Model(fixture("models/aidreams260K.gguf")) as m:
        yield m


def test_fork_matches_parent_and_fresh(model):
    toks = stream(70, model.n_vocab, 1)
    with model.session(n_ctx=128) as parent, model.session(n_ctx=128) as fresh:
        parent.feed(toks[:37])
        fresh.feed(toks[:37])
        with parent.fork() as f:
            assert f.position == 37
            assert raw(f) == raw(parent)
            info = f.info()
            assert info.kv_bytes_shared == info.kv_bytes_held > 0
            for t in toks[37:]:
                f.feed([t])
                fresh.feed([t])
                assert raw(f) == raw(fresh)
            # the parent did not move
            assert parent.position == 37
            parent.feed(toks[37:])
            assert raw(parent) == raw(f)


def test_forks_on_threads_after_parent_closed(model):
    pre = stream(45, model.n_vocab, 2)
    parent = model.session(n_ctx=128)
    parent.feed(pre)
    forks = [parent.fork(n_threads=1) for _ in range(4)]
    parent.close()
    results = [None] * 4

    def run(i):
        toks = stream(20, model.n_vocab, 10 + i)
        with model.session(n_ctx=128, n_threads=1) as fresh:
            fresh.feed(pre)
            ok = True
            for t in toks:
                forks[i].feed([t])
                fresh.feed([t])
                ok = ok and raw(forks[i]) == raw(fresh)
            results[i] = ok

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 4
    for f in forks:
        f.close()


def test_fork_params_checked(model):
    with model.session(n_ctx=64, kv_type=nexttok.KvType.F16) as s:
        s.feed([1, 2, 3])
        with s.fork(n_threads=1) as f:
            assert f.info().kv_type == nexttok.KvType.F16
            assert f.info().n_threads == 1


def test_snapshot_round_trip_and_file(model, tmp_path):
    toks = stream(50, model.n_vocab, 3)
    for kv in (nexttok.KvType.F32, nexttok.KvType.F16):
        with model.session(n_ctx=64, kv_type=kv) as s:
            s.feed(toks[:30])
            data = s.snapshot()
            info = s.info()
            assert len(data) == 160 + 4 * 30 + 4 * model.n_vocab + 30 * info.kv_bytes_per_pos
            with nexttok.Session.from_snapshot(model, data) as r:
                assert r.position == 30
                assert r.info().kv_type == kv
                assert raw(r) == raw(s)
                for t in toks[30:]:
                    r.feed([t])
                    s.feed([t])
                    assert raw(r) == raw(s)
            path = tmp_path / ("s%d.snap" % kv)
            s.save(path)
            assert path.read_bytes() == s.snapshot()
            with nexttok.Session.load(model, path) as r:
                assert raw(r) == raw(s)


def greedy(session):
    row = session.logits()
    best = 0
    for i, v in enumerate(row):
        if v > row[best]:
            best = i
    return best


def test_snapshot_bytes_equal_the_cli(model, tmp_path):
    """The CLI (the C client) saves the same bytes for the same session, and
    its snapshot restores here to the same logits."""
    cli = os.environ.get("NEXTTOK_CLI", "")
    if not cli:
        pytest.skip("NEXTTOK_CLI not set: the CLI comparison needs the nexttok binary")
    prompt = stream(12, model.n_vocab, 4)
    path = tmp_path / "cli.snap"
    subprocess.run([cli, "generate", fixture("models/aidreams260K.gguf"), "--tokens",
                    ",".join(map(str, prompt)), "-n", "3", "--temp", "0", "--snapshot-out", str(path)],
                   check=True, capture_output=True)
    with model.session() as s:
        s.feed(prompt)
        for _ in range(3):
            s.feed([greedy(s)])
        assert s.snapshot() == path.read_bytes()
        with nexttok.Session.load(model, path) as r:
            assert raw(r) == raw(s)
            nxt = stream(5, model.n_vocab, 5)
            r.feed(nxt)
            s.feed(nxt)
            assert raw(r) == raw(s)


def test_snapshot_refusals(model):
    with model.session(n_ctx=32) as s:
        s.feed([1, 50, 60, 70])
        data = s.snapshot()
    with pytest.raises(nexttok.NexttokError) as e:
        nexttok.Session.from_snapshot(model, data[:-1])
    assert e.value.status == nexttok.Status.TRUNCATED
    with pytest.raises(nexttok.NexttokError) as e:
        nexttok.Session.from_snapshot(model, data[:100])
    assert e.value.status == nexttok.Status.TRUNCATED
    bad = bytearray(data)
    bad[200] ^= 1
    with pytest.raises(nexttok.NexttokError) as e:
        nexttok.Session.from_snapshot(model, bytes(bad))
    assert e.value.status == nexttok.Status.CHECKSUM
    assert "payload" in e.value.message
    bad = bytearray(data)
    bad[0] ^= 1
    with pytest.raises(nexttok.NexttokError) as e:
        nexttok.Session.from_snapshot(model, bytes(bad))
    assert e.value.status == nexttok.Status.FORMAT
    bad = bytearray(data)
    bad[8] = 9
    with pytest.raises(nexttok.NexttokError) as e:
        nexttok.Session.restore(model, bytes(bad))
    assert e.value.status == nexttok.Status.UNSUPPORTED
    with nexttok.Model(fixture("models/llama-tiny-f32.gguf")) as other:
        with pytest.raises(nexttok.NexttokError) as e:
            nexttok.Session.from_snapshot(other, data)
        assert e.value.status == nexttok.Status.MODEL_MISMATCH
        assert "another model" in e.value.message


def test_context_shift(model):
    toks = stream(60, model.n_vocab, 6)
    with model.session(n_ctx=32, context_full=nexttok.ContextFull.SHIFT, n_keep=4) as s, \
            model.session(n_ctx=32, context_full=nexttok.ContextFull.SHIFT, n_keep=4) as t:
        rows = s.feed(toks, logits=True)
        assert s.info().n_shifted > 0
        assert s.info().context_full == nexttok.ContextFull.SHIFT
        for i, tok in enumerate(toks):
            t.feed([tok])
            assert raw(t) == rows[i].tobytes()
        assert s.position == t.position
    with model.session(n_ctx=32) as plain:
        with pytest.raises(nexttok.NexttokError) as e:
            plain.feed(toks)
        assert e.value.status == nexttok.Status.CONTEXT_FULL
    with nexttok.Model(fixture("models/gpt2-tiny-f32.gguf")) as g:
        with pytest.raises(nexttok.NexttokError) as e:
            g.session(n_ctx=32, context_full=nexttok.ContextFull.SHIFT)
        assert e.value.status == nexttok.Status.UNSUPPORTED
