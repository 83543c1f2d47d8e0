#!/usr/bin/env bash
# End-to-end tests of the nexttok command-line client.
#
#   test_cli.sh NEXTTOK_BINARY PART
#
# PART is one of: errors, logits, generate, bench. Exit 0 = pass, 77 = skipped
# (meson's skip code, with the reason on stdout), anything else = fail.
# Conformance parts read $NEXTTOK_FIXTURES in place.
set -u

cli=${1:?usage: test_cli.sh NEXTTOK_BINARY PART}
part=${2:?usage: test_cli.sh NEXTTOK_BINARY PART}
fixtures=${NEXTTOK_FIXTURES:-}
python=${NEXTTOK_PYTHON:-python3}
skip_msg="fixtures not found: ../shared/fixtures is absent, conformance test skipped"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

have_fixtures() {
    [[ -n "$fixtures" && -d "$fixtures" ]]
}

# expect_error NAME PATTERN -- ARGS...: the command must exit non-zero,
# write exactly one line to stderr, that line must start with
# "nexttok: error: " and contain PATTERN (an extended regex, case-insensitive).
expect_error() {
    local name=$1 pattern=$2
    shift 3
    "$cli" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    local lines
    lines=$(wc -l <"$tmp/err")
    if [[ $rc -eq 0 ]]; then
        fail "$name: exit status 0 (expected failure)"
    elif [[ $rc -ge 128 ]]; then
        fail "$name: killed by signal $((rc - 128))"
    elif [[ $lines -ne 1 ]]; then
        fail "$name: $lines stderr lines (expected 1):"
        sed 's/^/    /' "$tmp/err"
    elif ! grep -q '^nexttok: error: ' "$tmp/err"; then
        fail "$name: stderr is not 'nexttok: error: ...': $(cat "$tmp/err")"
    elif ! grep -qiE -- "$pattern" "$tmp/err"; then
        fail "$name: message lacks /$pattern/: $(cat "$tmp/err")"
    else
        echo "ok: $name: $(cat "$tmp/err")"
    fi
}

# Comma-separated list of the integers START..END.
seq_list() {
    seq -s, "$1" "$2"
}

part_errors() {
    local model=/nonexistent/model.gguf
    expect_error "no command" "command" --
    expect_error "unknown command" "unknown command 'frobnicate'" -- frobnicate
    expect_error "unknown option" "unknown option '--bogus'" -- next "$model" --tokens 1 --bogus
    expect_error "missing option value" "needs a value" -- next "$model" --tokens
    expect_error "missing model argument" "no model" -- inspect
    expect_error "missing file" "model.gguf" -- inspect "$model"
    expect_error "missing file (next)" "model.gguf" -- next "$model" --tokens 1,2
    expect_error "two inputs" "only one" -- next "$model" --tokens 1 --text hi
    expect_error "bad precision" "--precision: 'fasst' is not fast or exact" -- next "$model" --tokens 1 --precision fasst
    expect_error "bad kv type" "--kv-type: 'q4' is not f32, f16 or q8_0" -- bench "$model" --kv-type q4
    if have_fixtures; then
        expect_error "q8_0 cache on 16-wide heads" "Q8_0 needs a head size divisible by 32, the model's is 16" -- \
            next "$fixtures/models/aidreams260K.gguf" --tokens 1,2 --kv-type q8_0
    fi
    expect_error "no input" "no input" -- next "$model"
    expect_error "logits without --out" "--out" -- logits "$model" --tokens 1
    expect_error "missing text file" "nope.txt" -- next "$model" --text-file "$tmp/nope.txt"
    # Junk in --tokens is rejected before any model is opened.
    expect_error "junk token" "item 2" -- next "$model" --tokens 1,x,3
    expect_error "empty item" "item 2 is empty" -- next "$model" --tokens 1,,3
    expect_error "trailing comma" "item 3 is empty" -- next "$model" --tokens 1,2,
    expect_error "leading comma" "item 1 is empty" -- next "$model" --tokens ,1
    expect_error "empty list" "empty" -- next "$model" --tokens ""
    expect_error "negative token" "item 1" -- next "$model" --tokens -1
    expect_error "space in token" "item 2" -- next "$model" --tokens "1, 2"
    expect_error "decimal point" "item 1" -- next "$model" --tokens 1.5
    expect_error "hex token" "item 1" -- next "$model" --tokens 0x10
    expect_error "int32 overflow" "32-bit" -- next "$model" --tokens 2147483648
    expect_error "huge overflow" "32-bit" -- next "$model" --tokens 99999999999999999999999
    expect_error "bad --top" "--top" -- next "$model" --tokens 1 --top 0
    expect_error "junk --top" "--top" -- next "$model" --tokens 1 --top 5x
    expect_error "negative --temp" "--temp" -- next "$model" --tokens 1 --temp -1
    expect_error "nan --temp" "--temp" -- next "$model" --tokens 1 --temp nan
    expect_error "bad -n" "-n" -- generate "$model" --text hi -n -3
    expect_error "bad --top-p" "--top-p" -- generate "$model" --text hi --top-p 1.5
    expect_error "bad --typical" "--typical" -- generate "$model" --text hi --typical 1.5
    expect_error "bad --repeat-penalty" "--repeat-penalty" -- generate "$model" --text hi --repeat-penalty -1
    expect_error "bad --repeat-last-n" "--repeat-last-n" -- generate "$model" --text hi --repeat-last-n -2
    expect_error "bad --logit-bias" "--logit-bias" -- generate "$model" --text hi --logit-bias 12x
    expect_error "unknown --samplers stage" "bogus" -- generate "$model" --text hi --samplers top-k,bogus
    expect_error "bad --threads" "--threads" -- bench "$model" --threads many
    expect_error "bad --reps" "--reps" -- bench "$model" --reps 0
    expect_error "bad --depth" "--depth" -- bench "$model" --depth -1
    expect_error "junk --prompt" "--prompt" -- bench "$model" --prompt 4x
    expect_error "bad --gen" "--gen" -- bench "$model" --gen -2
    expect_error "bench times nothing" "nothing to time" -- bench "$model" --prompt 0 --gen 0
    expect_error "bench depth without decode" "--depth" -- bench "$model" --depth 8 --gen 0

    # A file that is not GGUF at all.
    printf 'not a gguf file, just text\n' >"$tmp/junk.gguf"
    expect_error "not a gguf file" "junk.gguf" -- inspect "$tmp/junk.gguf"
    : >"$tmp/empty.gguf"
    expect_error "empty file" "empty.gguf" -- inspect "$tmp/empty.gguf"

    # The success paths that need no model.
    "$cli" --version >"$tmp/out" 2>"$tmp/err" || fail "--version exits non-zero"
    grep -qE '^nexttok [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out" || fail "--version prints '$(cat "$tmp/out")'"
    [[ -s "$tmp/err" ]] && fail "--version writes to stderr"
    "$cli" --help >"$tmp/out" 2>&1 || fail "--help exits non-zero"
    for c in inspect logits next generate bench; do
        grep -q "$c" "$tmp/out" || fail "--help does not list $c"
        "$cli" "$c" --help >"$tmp/usage" 2>&1 || fail "$c --help exits non-zero"
        grep -q "usage: nexttok $c" "$tmp/usage" || fail "$c --help prints no usage"
    done

    if ! have_fixtures; then
        echo "$skip_msg (model-dependent error paths)"
    else
        local gpt2=$fixtures/models/gpt2-tiny-f32.gguf
        # gpt2-tiny: 50257 tokens, context 128.
        expect_error "token id out of range" "range" -- next "$gpt2" --tokens 1,50257
        expect_error "token id far out of range" "range" -- next "$gpt2" --tokens 2147483647
        expect_error "context overflow (logits)" "context" -- \
            logits "$gpt2" --tokens "$(seq_list 1 129)" --out "$tmp/x.logits"
        [[ -e "$tmp/x.logits" ]] && fail "a failed logits run left $tmp/x.logits behind"
        expect_error "context overflow (next)" "context" -- next "$gpt2" --tokens "$(seq_list 1 200)"
        expect_error "context larger than trained" "ctx|context" -- \
            next "$gpt2" --tokens 1 --ctx 100000
        # Decode is timed at depth D, the prompt from position 0: needs max(P, D+G).
        expect_error "context overflow (bench)" "need 200 positions.*trained context of 128" -- \
            bench "$gpt2" --prompt 100 --depth 100 --gen 100
        expect_error "context overflow (bench prompt)" "need 129 positions" -- \
            bench "$gpt2" --prompt 129 --gen 1
        expect_error "bench run beyond --ctx" "more than the --ctx of 16" -- \
            bench "$gpt2" --prompt 8 --depth 10 --gen 8 --ctx 16
        expect_error "bench --ctx beyond trained" "ctx|context" -- \
            bench "$gpt2" --prompt 8 --gen 8 --ctx 1000
        expect_error "output not writable" "/nonexistent/dir" -- \
            logits "$gpt2" --tokens 1,2 --out /nonexistent/dir/x.logits

        # Exactly 128 tokens fit.
        "$cli" next "$gpt2" --tokens "$(seq_list 1 128)" --top 3 >"$tmp/out" 2>"$tmp/err" ||
            fail "128 tokens in a 128 context: $(cat "$tmp/err")"
        [[ $(wc -l <"$tmp/out") -eq 3 ]] || fail "next --top 3 printed $(wc -l <"$tmp/out") lines"

        # A truncated copy of a real model (cut inside the tensor data).
        head -c 100000 "$gpt2" >"$tmp/cut.gguf"
        expect_error "truncated model" "cut.gguf" -- inspect "$tmp/cut.gguf"

        # inspect --json must parse, and agree with the text form.
        if "$cli" inspect "$gpt2" --json >"$tmp/inspect.json" 2>"$tmp/err"; then
            "$python" - "$tmp/inspect.json" "$gpt2" <<'EOF' || fail "inspect --json content"
import json, sys, hashlib, os
doc = json.load(open(sys.argv[1], encoding="utf-8"))
path = sys.argv[2]
assert doc["architecture"] == "gpt2", doc["architecture"]
assert doc["hparams"]["n_vocab"] == 50257
assert doc["hparams"]["n_ctx_train"] == 128
assert doc["hparams"]["n_embd"] == 32
assert doc["hparams"]["n_layer"] == 2
assert doc["file_size"] == os.path.getsize(path)
data = open(path, "rb").read()
assert doc["blake2b_256"] == hashlib.blake2b(data, digest_size=32).hexdigest()
assert len(doc["tensors"]) > 0
for t in doc["tensors"]:
    chunk = data[t["offset"]:t["offset"] + t["n_bytes"]]
    assert len(chunk) == t["n_bytes"], t["name"]
    assert t["blake2b_256"] == hashlib.blake2b(chunk, digest_size=32).hexdigest(), t["name"]
keys = [m["key"] for m in doc["metadata"]]
assert "general.architecture" in keys, keys
assert doc["runnable"] is True
print("ok: inspect --json parses; file and tensor digests match hashlib")
EOF
        else
            fail "inspect --json: $(cat "$tmp/err")"
        fi

        # Files the library cannot run still inspect, saying why.
        vocab="$fixtures/vocab/ggml-vocab-gpt-2.gguf"
        if [[ -f $vocab ]]; then
            "$cli" inspect "$vocab" >"$tmp/out" 2>"$tmp/err" || fail "inspect of a vocabulary-only file: $(cat "$tmp/err")"
            grep -q '^runnable      no: tensor token_embd.weight: missing' "$tmp/out" ||
                fail "inspect of a vocabulary-only file does not say why it cannot run: $(grep runnable "$tmp/out")"
            grep -q '^n_vocab       50257' "$tmp/out" || fail "inspect of a vocabulary-only file lacks n_vocab"
        fi

        # An architecture's features, in text and JSON.
        arch="$fixtures/arch/gemma2.gguf"
        if [[ -f $arch ]]; then
            "$cli" inspect "$arch" >"$tmp/out" 2>"$tmp/err" || fail "inspect gemma2: $(cat "$tmp/err")"
            grep -q '^features      .*sliding window 8 on 1 of 2 layers.*attention soft-cap 5' "$tmp/out" ||
                fail "inspect gemma2 does not list its features: $(grep features "$tmp/out")"
            "$cli" inspect "$arch" --json >"$tmp/inspect.json" 2>"$tmp/err" || fail "inspect gemma2 --json: $(cat "$tmp/err")"
            "$python" - "$tmp/inspect.json" <<'EOF' || fail "inspect gemma2 --json features"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["architecture"] == "gemma2", d["architecture"]
assert d["hparams"]["head_dim"] == 16, d["hparams"]
assert "final soft-cap 4" in d["features"], d["features"]
EOF
        fi
    fi
    return 0
}

# The logits file of the fixtures' tokens must have the fixtures' format and
# agree with the .exact file within the README's bound.
# Feed the tokens of a fixture's .exact file; the written file must have
# the fixtures' format and agree with .exact within the README's bound.
check_logits_against_exact() {
    local name=$1 text=$2
    local model=$fixtures/models/$name.gguf
    local exact=$fixtures/logits/$name.$text.exact.logits
    local tokens
    tokens=$("$python" - "$exact" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
n, = struct.unpack_from("<i", d, 0)
print(",".join(str(t) for t in struct.unpack_from("<%di" % n, d, 8)))
EOF
) || { fail "cannot read $exact"; return; }
    if ! "$cli" logits "$model" --tokens "$tokens" --out "$tmp/$name.$text.logits" 2>"$tmp/err"; then
        fail "$name logits: $(cat "$tmp/err")"
        return
    fi
    "$python" - "$tmp/$name.$text.logits" "$exact" "$name" <<'EOF' || fail "$name: logits file differs from the fixture"
import array, struct, sys
def load(path):
    d = open(path, "rb").read()
    n, n_vocab = struct.unpack_from("<ii", d, 0)
    assert n > 0 and n_vocab > 0, (n, n_vocab)
    assert len(d) == 8 + 4 * n + 4 * n * n_vocab, (path, len(d), n, n_vocab)
    tokens = list(struct.unpack_from("<%di" % n, d, 8))
    logits = array.array("f")
    logits.frombytes(d[8 + 4 * n:])
    if sys.byteorder != "little":
        logits.byteswap()
    return n, n_vocab, tokens, logits
got, want = load(sys.argv[1]), load(sys.argv[2])
assert got[0] == want[0] and got[1] == want[1], (got[:2], want[:2])
assert got[2] == want[2], (got[2], want[2])
n, v = want[0], want[1]
worst = 0.0
for i in range(n):
    g = got[3][i * v:(i + 1) * v]
    w = want[3][i * v:(i + 1) * v]
    bound = 1e-3 * max(1.0, max(abs(x) for x in w))
    diff = max(abs(a - b) for a, b in zip(g, w))
    worst = max(worst, diff / bound)
    assert diff <= bound, "row %d: max diff %g > bound %g" % (i, diff, bound)
    top = sorted(range(v), key=lambda k: -w[k])[:2]
    if w[top[0]] - w[top[1]] > bound:
        am = max(range(v), key=lambda k: g[k])
        assert am == top[0], "row %d: arg-max %d, expected %d" % (i, am, top[0])
print("ok: %s: %d rows x %d logits within the bound (worst %.2e of it)"
      % (sys.argv[3], n, v, worst))
EOF
}

part_logits() {
    have_fixtures || { echo "$skip_msg"; exit 77; }
    # F32 models: the README's bound applies to every logit.
    local name
    for name in gpt2-tiny-f32 llama-tiny-f32 aidreams260K; do
        check_logits_against_exact "$name" t1
    done
    # Text input: the same tokens must come out of the tokenizer (BOS added
    # as the vocabulary says: none for GPT-2, <s> for aidreams260K).
    local name
    for name in gpt2-tiny-f32 aidreams260K; do
        local ref=$fixtures/logits/$name.t1.exact.logits
        if "$cli" logits "$fixtures/models/$name.gguf" --text-file "$fixtures/texts/t1.txt" \
            --out "$tmp/$name.logits" 2>"$tmp/err"; then
            local n_ref head_bytes
            n_ref=$(od -An -t d4 -N 4 "$ref" | tr -d ' ')
            head_bytes=$((8 + 4 * n_ref))
            if cmp -s <(head -c $head_bytes "$tmp/$name.logits") <(head -c $head_bytes "$ref"); then
                echo "ok: $name: --text-file t1.txt gives the fixture's $n_ref tokens"
            else
                fail "$name: --text-file t1.txt gives other tokens than the fixture"
            fi
        elif grep -qi unsupported "$tmp/err"; then
            echo "note: tokenizer unsupported yet; $name --text-file check skipped"
        else
            fail "$name: logits --text-file: $(cat "$tmp/err")"
        fi
    done
    return 0
}

# Greedy generation must print exactly the fixture's text.
part_generate() {
    have_fixtures || { echo "$skip_msg"; exit 77; }
    local model=$fixtures/models/aidreams260K.gguf
    local tsv=$fixtures/generation/aidreams260K.greedy.tsv
    local prompt n_new expected line=0
    while IFS=$'\t' read -r prompt n_new expected || [[ -n "$prompt" ]]; do
        line=$((line + 1))
        "$cli" generate "$model" --text "$prompt" -n "$n_new" --temp 0 >"$tmp/gen" 2>"$tmp/err"
        local rc=$?
        if [[ $rc -ne 0 ]] && grep -qi unsupported "$tmp/err"; then
            echo "tokenizer not available yet (unsupported): generation test skipped"
            echo "  $(cat "$tmp/err")"
            exit 77
        fi
        if [[ $rc -ne 0 ]]; then
            fail "line $line: generate failed: $(cat "$tmp/err")"
            continue
        fi
        # The CLI ends its output with one newline of its own.
        printf '%s\n' "$expected" >"$tmp/want"
        if cmp -s "$tmp/gen" "$tmp/want"; then
            echo "ok: line $line ($n_new tokens after '$prompt')"
        else
            fail "line $line: output differs"
            echo "  want: $(cat "$tmp/want")"
            echo "  got:  $(cat "$tmp/gen")"
        fi
    done <"$tsv"
    [[ $line -gt 0 ]] || fail "no cases in $tsv"
    # Sampling options reach the sampler: top-k 1 is greedy whatever the
    # temperature, and one seed gives one output.
    local prompt0
    prompt0=$(head -n 1 "$tsv" | cut -f 1)
    "$cli" generate "$model" --text "$prompt0" -n 30 --temp 0 >"$tmp/g0" 2>"$tmp/err" ||
        fail "greedy: $(cat "$tmp/err")"
    "$cli" generate "$model" --text "$prompt0" -n 30 --temp 1.5 --top-k 1 --seed 3 >"$tmp/g1" \
        2>"$tmp/err" || fail "top-k 1: $(cat "$tmp/err")"
    cmp -s "$tmp/g0" "$tmp/g1" && echo "ok: --top-k 1 equals greedy" ||
        fail "--top-k 1 differs from greedy: $(cat "$tmp/g1")"
    "$cli" generate "$model" --text "$prompt0" -n 30 --temp 1 --seed 42 >"$tmp/s1" 2>&1 ||
        fail "sampling: $(cat "$tmp/s1")"
    "$cli" generate "$model" --text "$prompt0" -n 30 --temp 1 --seed 42 >"$tmp/s2" 2>&1
    cmp -s "$tmp/s1" "$tmp/s2" && echo "ok: one seed, one output" ||
        fail "same seed, different outputs"
    grep -q "^$prompt0" "$tmp/s1" || fail "sampled output does not start with the prompt"
    # Penalties reach greedy decoding too; neutral values change nothing.
    "$cli" generate "$model" --text "$prompt0" -n 30 --temp 0 --repeat-penalty 1 \
        --frequency-penalty 0 >"$tmp/p0" 2>"$tmp/err" || fail "neutral penalties: $(cat "$tmp/err")"
    cmp -s "$tmp/g0" "$tmp/p0" && echo "ok: neutral penalties equal greedy" ||
        fail "neutral penalties changed the output: $(cat "$tmp/p0")"
    "$cli" generate "$model" --text "$prompt0" -n 30 --temp 0 --repeat-penalty 1.5 \
        --repeat-last-n 32 >"$tmp/p1" 2>"$tmp/err" || fail "penalties: $(cat "$tmp/err")"
    cmp -s "$tmp/g0" "$tmp/p1" && fail "--repeat-penalty 1.5 changed nothing" ||
        echo "ok: --repeat-penalty changes greedy output"
    # A large bias makes one token win every step: its piece n times.
    "$cli" generate "$model" --tokens 1,300 -n 1 --temp 0 --logit-bias 300+100 >"$tmp/b1" 2>"$tmp/err" ||
        fail "logit bias: $(cat "$tmp/err")"
    "$cli" generate "$model" --tokens 1,300,300,300,300 -n 1 --temp 0 --logit-bias 300+100 \
        >"$tmp/b4" 2>"$tmp/err" || fail "logit bias: $(cat "$tmp/err")"
    "$cli" generate "$model" --tokens 1,300 -n 4 --temp 0 --logit-bias 300+100 >"$tmp/b2" 2>"$tmp/err" ||
        fail "logit bias: $(cat "$tmp/err")"
    cmp -s "$tmp/b4" "$tmp/b2" && echo "ok: --logit-bias +100 forces its token" ||
        fail "--logit-bias +100: $(cat "$tmp/b2") vs $(cat "$tmp/b4")"
    # --samplers sets the order: top-k 1 before any temperature is greedy.
    "$cli" generate "$model" --text "$prompt0" -n 30 --temp 3 --top-k 1 --samplers top-k,temperature \
        --seed 9 >"$tmp/o1" 2>"$tmp/err" || fail "--samplers: $(cat "$tmp/err")"
    cmp -s "$tmp/g0" "$tmp/o1" && echo "ok: --samplers top-k,temperature with k 1 is greedy" ||
        fail "--samplers top-k,temperature differs from greedy: $(cat "$tmp/o1")"
    # aidreams260K has 128 positions: 200 new tokens cannot fit.
    expect_error "context overflow (generate)" "context" -- \
        generate "$model" --text "Once upon a time" -n 200 --temp 0
    return 0
}

# nexttok bench on the small trained model: --json is one object with the
# documented keys and positive rates; the text form and --depth work; a run
# that exactly fills the trained context (128) is accepted.
part_bench() {
    have_fixtures || { echo "$skip_msg"; exit 77; }
    local model=$fixtures/models/aidreams260K.gguf
    # --json first: a flag must not swallow the option after it.
    if "$cli" bench "$model" --json --reps 1 --prompt 4 --gen 2 >"$tmp/bench.json" 2>"$tmp/err"; then
        [[ -s "$tmp/err" ]] && fail "bench --json wrote to stderr: $(cat "$tmp/err")"
        "$python" -c 'import json,sys; json.load(sys.stdin)' <"$tmp/bench.json" ||
            fail "bench --json does not parse: $(cat "$tmp/bench.json")"
        "$python" - "$tmp/bench.json" "$model" <<'EOF' || fail "bench --json content: $(cat "$tmp/bench.json")"
import json, sys
text = open(sys.argv[1], encoding="utf-8").read()
doc = json.loads(text)
assert text.count("\n") == 1 and text.endswith("}\n"), "not one line with one object"
assert doc["model"] == sys.argv[2], doc["model"]
want = {"threads": None, "prompt_tokens": 4, "gen_tokens": 2, "depth": 0, "reps": 1}
for k, v in want.items():
    assert isinstance(doc[k], int) and not isinstance(doc[k], bool), (k, doc[k])
    assert v is None or doc[k] == v, (k, doc[k], v)
assert doc["threads"] >= 1
for k in ("prefill_tokens_per_s", "decode_tokens_per_s"):
    assert isinstance(doc[k], (int, float)) and doc[k] > 0, (k, doc[k])
for k in ("prefill_tokens_per_s_reps", "decode_tokens_per_s_reps",
          "prefill_seconds_reps", "decode_seconds_reps"):
    assert isinstance(doc[k], list) and len(doc[k]) == 1, (k, doc[k])
    assert all(isinstance(x, (int, float)) and x > 0 for x in doc[k]), (k, doc[k])
assert doc["precision"] == "exact" and doc["kv_type"] == "f32", (doc["precision"], doc["kv_type"])
# aidreams260K: 4 layers x 4 KV heads x 16 x (K and V) x 4 bytes
assert doc["kv_bytes_per_token"] == 4 * 4 * 16 * 2 * 4, doc["kv_bytes_per_token"]
assert doc["kv_bytes"] == doc["kv_bytes_per_token"] * doc["n_ctx"], doc["kv_bytes"]
assert doc["scratch_bytes"] > 0
print("ok: bench --json: %.0f prefill, %.0f decode tokens/s"
      % (doc["prefill_tokens_per_s"], doc["decode_tokens_per_s"]))
EOF
    else
        fail "bench --json: $(cat "$tmp/err")"
    fi

    # Medians of 3, decode at depth 100: 100 + 28 = 128 positions exactly.
    if "$cli" bench "$model" --reps 3 --prompt 8 --depth 100 --gen 28 --threads 1 --json \
        >"$tmp/deep.json" 2>"$tmp/err"; then
        "$python" - "$tmp/deep.json" <<'EOF' || fail "bench --depth --json: $(cat "$tmp/deep.json")"
import json, statistics, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
assert doc["depth"] == 100 and doc["threads"] == 1 and doc["reps"] == 3, doc
assert doc["n_ctx"] == 128, doc["n_ctx"]
for k in ("prefill_tokens_per_s", "decode_tokens_per_s"):
    reps = doc[k + "_reps"]
    assert len(reps) == 3 and doc[k] == statistics.median(reps), (k, doc[k], reps)
print("ok: bench --depth 100: medians of the per-rep arrays")
EOF
    else
        fail "bench --depth 100 --gen 28: $(cat "$tmp/err")"
    fi

    # Prefill only: decode is null in JSON.
    "$cli" bench "$model" --reps 1 --prompt 4 --gen 0 --json >"$tmp/pre.json" 2>"$tmp/err" ||
        fail "bench --gen 0: $(cat "$tmp/err")"
    "$python" -c 'import json,sys; d=json.load(sys.stdin); assert d["decode_tokens_per_s"] is None and d["decode_tokens_per_s_reps"] == [] and d["prefill_tokens_per_s"] > 0, d' \
        <"$tmp/pre.json" && echo "ok: bench --gen 0: decode is null" ||
        fail "bench --gen 0 --json: $(cat "$tmp/pre.json")"

    # The default text form: one prefill and one decode line.
    if "$cli" bench "$model" --reps 1 --prompt 4 --gen 2 --depth 3 >"$tmp/bench.txt" 2>"$tmp/err"; then
        grep -qE '^prefill   4 tokens at position 0: [0-9.]+ tokens/s' "$tmp/bench.txt" ||
            fail "bench text lacks the prefill line: $(cat "$tmp/bench.txt")"
        grep -qE '^decode    2 tokens at depth 3: [0-9.]+ tokens/s' "$tmp/bench.txt" ||
            fail "bench text lacks the decode line: $(cat "$tmp/bench.txt")"
        grep -q '{' "$tmp/bench.txt" && fail "bench text output holds JSON"
        echo "ok: bench text output"
    else
        fail "bench: $(cat "$tmp/err")"
    fi
    expect_error "bench depth beyond the trained context" "need 129 positions" -- \
        bench "$model" --depth 100 --gen 29

    # make_model's random models (the benchmark script's) load and run, and
    # carry a vocabulary (llama.cpp's tools refuse files without one).
    local make_model=${NEXTTOK_MAKE_MODEL:-}
    if [[ -n "$make_model" && -x "$make_model" ]]; then
        local t
        for t in "gpt2 f16 300 64 2 4 4" "llama q8_0 300 64 2 4 2"; do
            # shellcheck disable=SC2086
            if "$make_model" "$tmp/mm.gguf" $t 96 64 2>"$tmp/err"; then
                "$cli" bench "$tmp/mm.gguf" --reps 1 --prompt 8 --gen 2 --depth 30 --json \
                    >"$tmp/mm.json" 2>"$tmp/err" &&
                    "$python" -c 'import json,sys; d=json.load(sys.stdin); assert d["decode_tokens_per_s"] > 0 and d["n_ctx"] == 64' <"$tmp/mm.json" &&
                    "$cli" tokenize "$tmp/mm.gguf" --text "hi" >/dev/null 2>>"$tmp/err" &&
                    echo "ok: make_model ${t%% 300*}: bench and tokenize run" ||
                    fail "make_model ${t%% 300*}: $(cat "$tmp/err")"
            else
                fail "make_model ${t%% 300*}: $(cat "$tmp/err")"
            fi
        done
        "$make_model" "$tmp/mm.gguf" llama q4_k 300 64 2 4 2 96 64 2>"$tmp/err" &&
            fail "make_model accepts the unknown type q4_k"
        grep -q "unknown weight type" "$tmp/err" || fail "make_model q4_k: $(cat "$tmp/err")"
    else
        echo "note: NEXTTOK_MAKE_MODEL not set; make_model checks skipped"
    fi
    return 0
}

case "$part" in
errors) part_errors ;;
bench) part_bench ;;
logits) part_logits ;;
generate) part_generate ;;
*) echo "unknown part '$part'"; exit 2 ;;
esac

if [[ $failures -ne 0 ]]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all passed"
exit 0
