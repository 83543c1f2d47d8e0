"""Tests of the binding's prediction as compression (nexttok.zip_compress,
zip_decompress, zip_info): round trips of any bytes, the very bytes the
CLI writes, and each refusal as its status.
"""
import hashlib
import os
import random
import subprocess

import pytest

import nexttok

SKIP_MSG = "fixtures not found: ../shared/fixtures is absent, conformance test skipped"

STORY = (b"Once upon a time, there was a little girl named Lily. She loved to play outside in the sun.\n"
         b"One day, she saw a big red ball in the park. \"Can I play with it?\" she asked her mom.\n")


def fixture(rel):
    root = os.environ.get("NEXTTOK_FIXTURES", "")
    path = os.path.join(root, rel)
    if not root or not os.path.exists(path):
        pytest.skip(SKIP_MSG)
    return path


@pytest.fixture(scope="module")
def aidreams():
    with nexttok.Model(fixture("models/aidreams260K.gguf")) as m:
        yield m


@pytest.fixture(scope="module")
def gpt2():
    with nexttok.Model(fixture("models/gpt2-tiny-f32.gguf")) as m:
        yield m


def test_round_trips_any_bytes(aidreams, gpt2):
    rng = random.Random(7)
    inputs = [b"", b"a", STORY, STORY * 5, bytes(rng.randrange(256) for _ in range(1500)),
              b"caf\xc3\xa9 \xff\xfe broken \xe2\x82 utf-8\x00 and a NUL\n", bytes(range(256))]
    for model in (aidreams, gpt2):
        for data in inputs:
            z = model.zip(data)
            assert z[:5] == b"NTZIP"
            assert model.unzip(z) == data
            info = nexttok.zip_info(z)
            assert info.original_len == len(data)
            assert info.payload_len + nexttok.ZIP_HEADER_BYTES == len(z)
            assert info.model_digest == model.digest()
            assert info.checksum == hashlib.blake2b(data, digest_size=32).digest()


def test_text_compresses_random_is_stored(aidreams):
    z = aidreams.zip(STORY * 5)
    assert len(z) < len(STORY * 5) * 0.8
    assert not nexttok.zip_info(z).stored
    noise = os.urandom(1000)
    z = aidreams.zip(noise)
    assert nexttok.zip_info(z).stored
    assert len(z) == len(noise) + nexttok.ZIP_HEADER_BYTES


def test_equals_the_cli_exactly(aidreams, tmp_path):
    cli = os.environ.get("NEXTTOK_CLI", "")
    if not cli or not os.path.exists(cli):
        pytest.skip("NEXTTOK_CLI not set: the CLI comparison needs the nexttok binary")
    model_path = fixture("models/aidreams260K.gguf")
    src = tmp_path / "story.txt"
    src.write_bytes(STORY * 3)
    for n_ctx in (0, 16):
        out = tmp_path / ("story-%d.ntz" % n_ctx)
        subprocess.run([cli, "zip", model_path, str(src), str(out), "--quiet", "--ctx", str(n_ctx)],
                       check=True)
        assert aidreams.zip(STORY * 3, n_ctx=n_ctx) == out.read_bytes()
    # and the CLI unzips what the binding zipped
    z = tmp_path / "binding.ntz"
    z.write_bytes(aidreams.zip(STORY))
    back = tmp_path / "back.txt"
    subprocess.run([cli, "unzip", model_path, str(z), str(back), "--quiet"], check=True)
    assert back.read_bytes() == STORY


def test_refusals(aidreams):
    z = aidreams.zip(STORY * 2)
    with nexttok.Model(fixture("models/llama-q-Q8_0.gguf")) as other:
        with pytest.raises(nexttok.NexttokError) as e:
            other.unzip(z)
        assert e.value.status == nexttok.Status.MODEL_MISMATCH
    cases = [(z[:-3], nexttok.Status.TRUNCATED), (z[:60], nexttok.Status.TRUNCATED),
             (z + b"\0", nexttok.Status.FORMAT), (STORY, nexttok.Status.FORMAT),
             (z[:20] + bytes([z[20] ^ 1]) + z[21:], nexttok.Status.FORMAT),
             (z[:-10] + bytes([z[-10] ^ 0x40]) + z[-9:], nexttok.Status.CHECKSUM)]
    for data, want in cases:
        with pytest.raises(nexttok.NexttokError) as e:
            aidreams.unzip(data)
        assert e.value.status == want, str(e.value)
    with pytest.raises(nexttok.NexttokError) as e:
        aidreams.zip(STORY, n_ctx=3)
    assert e.value.status == nexttok.Status.INVALID_ARGUMENT


def test_progress_cancels_and_reraises(aidreams):
    seen = []
    aidreams.zip(STORY * 4, progress=seen.append)
    assert seen and seen[-1] == 1.0
    with pytest.raises(nexttok.NexttokError) as e:
        aidreams.zip(STORY * 4, progress=lambda f: f > 0.3)
    assert e.value.status == nexttok.Status.CANCELLED

    def boom(_fraction):
        raise KeyError("from the callback")
    with pytest.raises(KeyError):
        aidreams.unzip(aidreams.zip(STORY * 4), progress=boom)
