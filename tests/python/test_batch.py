"""Batched decode of many sessions, feeds under time budgets and cancel,
through the binding: every result is compared byte for byte with the C
library's plain one-session, uninterrupted feed."""
import os
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


MODELS = ["models/gpt2-tiny-f32.gguf", "models/llama-tiny-f32.gguf", "models/llama-q-Q4_0.gguf",
          "arch/gemma2.gguf"]


def prompt(model, i, n):
    v = model.n_vocab
    return [(131 * i + 17 * j + 5) % v for j in range(n)]


@pytest.mark.parametrize("rel", MODELS)
def test_batched_decode_is_bitwise_solo(rel):
    with nexttok.Model(fixture(rel)) as model:
        n = 5
        prompts = [prompt(model, i, 3 + 4 * i) for i in range(n)]
        steps = [[(7 * i + 3 * k + 1) % model.n_vocab for i in range(n)] for k in range(3)]
        want = []
        for i in range(n):
            with model.session(n_ctx=40, n_threads=2) as s:
                s.feed(prompts[i])
                want.append([bytes(s.feed([steps[k][i]], logits=True)[0]) for k in range(3)])
        with nexttok.Batch(model, n, n_threads=2, n_ctx=40) as b:
            for i, s in enumerate(b.sessions):
                s.feed(prompts[i])
            for k in range(3):
                rows = b.feed(steps[k], logits=(k != 1))
                for i, s in enumerate(b.sessions):
                    assert bytes(s.logits()) == want[i][k], (rel, i, k)
                    if rows is not None:
                        assert bytes(rows[i]) == want[i][k], (rel, i, k)
                    assert s.position == len(prompts[i]) + k + 1


def test_batched_feed_refusals_feed_nothing():
    with nexttok.Model(fixture("models/llama-tiny-f32.gguf")) as model:
        with model.session(n_ctx=8) as a, model.session(n_ctx=8) as b:
            a.feed([1, 2])
            with pytest.raises(nexttok.NexttokError) as e:
                nexttok.sessions_feed([a, b, a], [1, 2, 3])
            assert e.value.status == nexttok.Status.INVALID_ARGUMENT and "same session" in str(e.value)
            with pytest.raises(nexttok.NexttokError) as e:
                nexttok.sessions_feed([a, b], [1])
            assert e.value.status == nexttok.Status.INVALID_ARGUMENT
            b.feed(list(range(1, 9)))
            with pytest.raises(nexttok.NexttokError) as e:
                nexttok.sessions_feed([a, b], [1, 2])
            assert e.value.status == nexttok.Status.CONTEXT_FULL and "sessions[1]" in str(e.value)
            assert a.position == 2 and b.position == 8
            assert nexttok.sessions_feed([], []) is None


@pytest.mark.parametrize("rel", MODELS)
@pytest.mark.parametrize("rows", [False, True])
def test_resumed_prefill_is_bitwise(rel, rows):
    with nexttok.Model(fixture(rel)) as model:
        toks = prompt(model, 1, 30)
        with model.session(n_ctx=40, n_threads=2, n_batch=8) as s:
            want_rows = s.feed(toks, logits=rows)
            want = bytes(s.logits())
        with model.session(n_ctx=40, n_threads=2, n_batch=8) as s:
            with s.feeder(toks, logits=rows) as f:
                steps = 1
                while not f.step(budget_ns=1):
                    assert f.status == nexttok.Status.DEADLINE
                    assert s.position == f.consumed
                    steps += 1
                assert f.status == nexttok.Status.OK and f.consumed == len(toks)
                assert steps > 2, "the feed was never interrupted"
                if rows:
                    assert [bytes(r) for r in f.logits] == [bytes(r) for r in want_rows]
            assert bytes(s.logits()) == want


def test_check_callback_stops_and_resumes():
    with nexttok.Model(fixture("models/llama-tiny-f32.gguf")) as model:
        toks = prompt(model, 2, 30)
        with model.session(n_ctx=40, n_threads=2) as s:
            s.feed(toks)
            want = bytes(s.logits())
        polls = [0]

        def every_fifth():
            polls[0] += 1
            return polls[0] % 5 == 0

        with model.session(n_ctx=40, n_threads=2) as s:
            f = s.feeder(toks)
            stops = 0
            while not f.step(check=every_fifth):
                assert f.status == nexttok.Status.CANCELLED
                stops += 1
            assert stops > 0 and bytes(s.logits()) == want


def test_cancel_from_another_thread():
    with nexttok.Model(fixture("models/llama-tiny-f32.gguf")) as model:
        toks = prompt(model, 3, 30)
        with model.session(n_ctx=40, n_threads=2, n_batch=4) as s:
            s.feed(toks)
            want = bytes(s.logits())
        with model.session(n_ctx=40, n_threads=2, n_batch=4) as s:
            running, cancelled = threading.Event(), threading.Event()

            def canceller():
                running.wait(10)
                s.cancel()
                cancelled.set()

            def wait_for_cancel():
                running.set()
                cancelled.wait(10)
                return False

            t = threading.Thread(target=canceller)
            t.start()
            f = s.feeder(toks)
            assert not f.step(check=wait_for_cancel)
            t.join()
            assert f.status == nexttok.Status.CANCELLED
            assert s.position == f.consumed < len(toks)
            assert f.step()  # the rest, uninterrupted
            assert bytes(s.logits()) == want
            # an idle cancel stops the next plain feed at its start
            s.rewind(10)
            s.cancel()
            with pytest.raises(nexttok.NexttokError) as e:
                s.feed(toks[10:])
            assert e.value.status == nexttok.Status.CANCELLED and s.position == 10
            s.feed(toks[10:])
            assert bytes(s.logits()) == want


def test_clock_is_monotonic():
    a = nexttok.clock_ns()
    b = nexttok.clock_ns()
    assert 0 < a <= b
