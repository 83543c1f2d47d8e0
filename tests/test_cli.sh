#!/usr/bin/env bash
# End-to-end tests of the nexttok command-line client.
#
#   test_cli.sh NEXTTOK_BINARY PART
#
# PART is one of: errors, logits, generate, bench, perplexity, choice. Exit 0 = pass, 77 = skipped
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
    expect_error "bad precision" "--precision: 'fasst' is not fast, exact or portable" -- next "$model" --tokens 1 --precision fasst
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
    for c in inspect logits next generate bench perplexity choice; do
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
    # Constrained choices: whatever the seed, temperature or a bias toward
    # another token, the output is the prompt and exactly one candidate
    # (the prompt's trailing space moves to the candidate).
    local -a cands=("attack" "flee" "flee north" "trade with the dog")
    local -a choice_args=()
    local c seen=""
    for c in "${cands[@]}"; do choice_args+=(--choice "$c"); done
    local seed
    for seed in 1 2 3 4 5 6 7 8; do
        "$cli" generate "$model" --text "The cat wanted to " "${choice_args[@]}" --seed "$seed" \
            --temp 1.5 --logit-bias 300+20 >"$tmp/c$seed" 2>"$tmp/err" ||
            { fail "--choice seed $seed: $(cat "$tmp/err")"; continue; }
        local got ok=0
        got=$(cat "$tmp/c$seed")
        for c in "${cands[@]}"; do [[ $got == "The cat wanted to $c" ]] && ok=1; done
        [[ $ok == 1 ]] && seen="$seen|$got" || fail "--choice seed $seed printed '$got', not one of the candidates"
    done
    [[ $(tr '|' '\n' <<<"${seen#|}" | sort -u | wc -l) -ge 2 ]] && echo "ok: --choice output is always a candidate" ||
        fail "--choice: eight seeds at temperature 1.5 gave one candidate only: $seen"
    printf 'attack\n\nflee\r\ntrade with the dog' >"$tmp/cands"
    for seed in 1 2 3; do
        "$cli" generate "$model" --text "The cat wanted to" --choices-file "$tmp/cands" --seed "$seed" \
            >"$tmp/f$seed" 2>"$tmp/err" || { fail "--choices-file: $(cat "$tmp/err")"; continue; }
        grep -qxE "The cat wanted to(attack|flee|trade with the dog)" "$tmp/f$seed" ||
            fail "--choices-file printed '$(cat "$tmp/f$seed")'"
    done
    echo "ok: --choices-file output is a candidate"
    "$cli" generate "$model" --text "The cat wanted to " "${choice_args[@]}" --temp 0 >"$tmp/cg1" 2>"$tmp/err" &&
        "$cli" generate "$model" --text "The cat wanted to " "${choice_args[@]}" --temp 0 >"$tmp/cg2" 2>&1 &&
        cmp -s "$tmp/cg1" "$tmp/cg2" && echo "ok: greedy --choice repeats" || fail "greedy --choice: $(cat "$tmp/err")"
    expect_error "--choice with --tokens" "--tokens" -- generate "$model" --tokens 1,2 --choice x
    expect_error "empty --choices-file" "no candidates" -- generate "$model" --text hi --choices-file /dev/null
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

    # --sessions N: batched decode of N sessions, its median of the reps.
    if "$cli" bench "$model" --reps 3 --prompt 0 --gen 4 --depth 5 --sessions 3 --json \
        >"$tmp/batched.json" 2>"$tmp/err"; then
        "$python" - "$tmp/batched.json" <<'EOF' || fail "bench --sessions --json: $(cat "$tmp/batched.json")"
import json, statistics, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
assert doc["sessions"] == 3, doc
reps = doc["batched_decode_tokens_per_s_reps"]
assert len(reps) == 3 and all(x > 0 for x in reps), reps
assert doc["batched_decode_tokens_per_s"] == statistics.median(reps), doc
secs = doc["batched_decode_seconds_reps"]
assert all(abs(r * s - 3 * 4) < 1e-3 for r, s in zip(reps, secs)), (reps, secs)
print("ok: bench --sessions 3: %.0f batched tokens/s" % doc["batched_decode_tokens_per_s"])
EOF
    else
        fail "bench --sessions 3: $(cat "$tmp/err")"
    fi
    "$cli" bench "$model" --reps 1 --prompt 2 --gen 2 --sessions 2 >"$tmp/batched.txt" 2>"$tmp/err" &&
        grep -q '^batched   2 sessions x 2 tokens' "$tmp/batched.txt" && echo "ok: bench --sessions text" ||
        fail "bench --sessions 2 (text): $(cat "$tmp/batched.txt" "$tmp/err")"
    expect_error "bad --sessions" "--sessions" -- bench "$model" --sessions 0
    # --budget-us B: the prefill in calls of B us, each resuming the last.
    if "$cli" bench "$model" --reps 3 --prompt 40 --gen 0 --budget-us 50 --json \
        >"$tmp/budget.json" 2>"$tmp/err"; then
        "$python" - "$tmp/budget.json" <<'EOF' || fail "bench --budget-us --json: $(cat "$tmp/budget.json")"
import json, statistics, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
assert doc["budget_us"] == 50, doc
reps = doc["budget_prefill_tokens_per_s_reps"]
assert len(reps) == 3 and all(x > 0 for x in reps), reps
assert doc["budget_prefill_tokens_per_s"] == statistics.median(reps), doc
assert doc["budget_calls"] >= 1 and doc["budget_longest_call_us"] > 0, doc
print("ok: bench --budget-us 50: %.0f calls, longest %.0f us"
      % (doc["budget_calls"], doc["budget_longest_call_us"]))
EOF
    else
        fail "bench --budget-us 50: $(cat "$tmp/err")"
    fi
    expect_error "bad --budget-us" "--budget-us" -- bench "$model" --budget-us 0

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

# Log-softmax in double of the rows `nexttok logits` writes, for the parts
# below: an independent path to the numbers perplexity and choice print.
write_logprob_helper() {
    cat >"$tmp/lp.py" <<'EOF'
import array, math, struct, subprocess, sys

def tokens(cli, model, text):
    out = subprocess.run([cli, "tokenize", model, "--text", text], check=True,
                         capture_output=True, text=True).stdout.split()
    return [int(t) for t in out]

def rows(cli, model, toks, path):
    subprocess.run([cli, "logits", model, "--tokens", ",".join(map(str, toks)), "--out", path],
                   check=True, capture_output=True)
    d = open(path, "rb").read()
    n, v = struct.unpack_from("<ii", d, 0)
    flat = array.array("f")
    flat.frombytes(d[8 + 4 * n:])
    return [flat[i * v:(i + 1) * v] for i in range(n)]

def logprob(row, tok):
    m = max(row)
    return (row[tok] - m) - math.log(math.fsum(math.exp(x - m) for x in row))
EOF
}

# nexttok perplexity against the fixture's float64 logits (one window) and
# against windows computed here from `nexttok logits`, as Hugging Face's
# stride loop states it.
part_perplexity() {
    have_fixtures || { echo "$skip_msg"; exit 77; }
    local model=$fixtures/models/aidreams260K.gguf
    write_logprob_helper
    expect_error "perplexity without a text" "--text-file" -- perplexity "$model"
    expect_error "perplexity stride 0" "--stride: '0'" -- perplexity "$model" --text-file "$fixtures/texts/t1.txt" --stride 0
    expect_error "perplexity stride beyond the window" "stride 17 outside \[1, 16\]" -- \
        perplexity "$model" --text-file "$fixtures/texts/t1.txt" --ctx 16 --stride 17
    expect_error "perplexity missing file" "nope.txt" -- perplexity "$model" --text-file "$tmp/nope.txt"
    : >"$tmp/empty.txt"
    expect_error "perplexity of an empty text" "nothing to score" -- perplexity "$model" --text-file "$tmp/empty.txt"

    # One window over t1 (its tokens are the fixture's, BOS first).
    if "$cli" perplexity "$model" --text-file "$fixtures/texts/t1.txt" --json >"$tmp/p1.json" 2>"$tmp/err"; then
        [[ -s "$tmp/err" ]] && fail "perplexity wrote to stderr off a terminal: $(cat "$tmp/err")"
        "$python" - "$tmp/p1.json" "$fixtures/logits/aidreams260K.t1.exact.logits" "$fixtures/texts/t1.txt" <<'EOF' ||
import array, json, math, struct, sys
doc = json.load(open(sys.argv[1]))
d = open(sys.argv[2], "rb").read()
n, v = struct.unpack_from("<ii", d, 0)
toks = struct.unpack_from("<%di" % n, d, 8)
flat = array.array("f"); flat.frombytes(d[8 + 4 * n:])
nll, tol = [], 0.0
for j in range(1, n):
    row = flat[(j - 1) * v:j * v]
    m = max(row)
    nll.append(-((row[toks[j]] - m) - math.log(math.fsum(math.exp(x - m) for x in row))))
    tol += 2e-3 * max(1.0, max(abs(x) for x in row))
nbytes = len(open(sys.argv[3], "rb").read())
assert doc["n_tokens"] == n and doc["n_scored"] == n - 1 and doc["n_windows"] == 1, doc
assert doc["n_bytes"] == nbytes == 57, doc
assert doc["n_ctx"] == 128 and doc["stride"] == 64, doc
assert abs(doc["nll_sum"] - sum(nll)) <= tol, (doc["nll_sum"], sum(nll), tol)
mean = sum(nll) / len(nll)
assert abs(doc["nll_mean"] - mean) <= tol / len(nll), (doc["nll_mean"], mean)
assert abs(math.log(doc["perplexity"]) - mean) <= tol / len(nll)
sd = math.sqrt(sum((x - mean) ** 2 for x in nll) / (len(nll) - 1) / len(nll))
assert abs(doc["nll_stderr"] - sd) <= 1e-2 * sd, (doc["nll_stderr"], sd)
assert abs(doc["perplexity_stderr"] - doc["perplexity"] * doc["nll_stderr"]) <= 1e-12 * doc["perplexity_stderr"]
assert abs(doc["bits_per_byte"] - sum(nll) / math.log(2) / nbytes) <= tol / math.log(2) / nbytes
print("ok: perplexity of t1 matches the float64 logits: %.4f" % doc["perplexity"])
EOF
            fail "perplexity t1 against the fixture: $(cat "$tmp/p1.json")"
    else
        fail "perplexity t1: $(cat "$tmp/err")"
    fi

    # Window edge cases over t2 (72 tokens): overlapping, stride = window,
    # stride 1, a text shorter than the window, a window of exactly the text.
    local cfg
    for cfg in "16 8" "16 16" "16 1" "128 64" "72 72" "20 7"; do
        set -- $cfg
        if "$cli" perplexity "$model" --text-file "$fixtures/texts/t2.txt" --ctx "$1" --stride "$2" --json \
            >"$tmp/pw.json" 2>"$tmp/err"; then
            "$python" - "$cli" "$model" "$fixtures/texts/t2.txt" "$1" "$2" "$tmp/pw.json" "$tmp" <<'EOF' ||
import json, math, sys
sys.path.insert(0, sys.argv[7])
import lp
cli, model, text_path, N, S = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
doc = json.load(open(sys.argv[6]))
text = open(text_path, encoding="utf-8").read()
toks = lp.tokens(cli, model, text)
n = len(toks)
nll, windows, prev_end = [], 0, 0
for begin in range(0, n, S):
    end = min(begin + N, n)
    trg = end - prev_end
    r = lp.rows(cli, model, toks[begin:end], sys.argv[7] + "/w.logits")
    for j in range(end - trg, end):
        if j > begin:  # the shift leaves a window's first token unpredicted
            nll.append(-lp.logprob(r[j - begin - 1], toks[j]))
    windows += 1
    prev_end = end
    if end == n:
        break
assert doc["n_tokens"] == n == 72, doc
assert doc["n_scored"] == len(nll) and doc["n_windows"] == windows, (doc, len(nll), windows)
assert doc["n_ctx"] == N and doc["stride"] == S
s = math.fsum(nll); mean = s / len(nll)
assert abs(doc["nll_sum"] - s) <= 1e-9 * s, (doc["nll_sum"], s)
assert abs(doc["perplexity"] - math.exp(mean)) <= 1e-9 * math.exp(mean)
sd = math.sqrt(math.fsum((x - mean) ** 2 for x in nll) / (len(nll) - 1) / len(nll))
assert abs(doc["nll_stderr"] - sd) <= 1e-9 * sd, (doc["nll_stderr"], sd)
print("ok: perplexity --ctx %d --stride %d: %d windows, %d scored, %.4f" % (N, S, windows, len(nll), doc["perplexity"]))
EOF
                fail "perplexity --ctx $1 --stride $2 differs from the hand computation"
        else
            fail "perplexity --ctx $1 --stride $2: $(cat "$tmp/err")"
        fi
    done

    # The text form.
    if "$cli" perplexity "$model" --text-file "$fixtures/texts/t2.txt" --ctx 16 --stride 16 >"$tmp/p.txt" 2>"$tmp/err"; then
        grep -qE '^perplexity     [0-9.]+ \+/- [0-9.]+$' "$tmp/p.txt" || fail "perplexity text lacks its line: $(cat "$tmp/p.txt")"
        grep -qE '^bits per byte  [0-9.]+ \(96 bytes\)$' "$tmp/p.txt" || fail "perplexity text lacks bits per byte: $(cat "$tmp/p.txt")"
        grep -qE '^tokens         72, 67 scored in 5 windows of 16, stride 16$' "$tmp/p.txt" ||
            fail "perplexity text lacks the counts: $(cat "$tmp/p.txt")"
        echo "ok: perplexity text output"
    else
        fail "perplexity text: $(cat "$tmp/err")"
    fi
    return 0
}

# nexttok choice on hand-scored items: the expected acc and acc_norm follow
# from log-likelihoods computed here from `nexttok tokenize` and `nexttok
# logits`; bad lines are errors naming their line, with nothing on stdout.
part_choice() {
    have_fixtures || { echo "$skip_msg"; exit 77; }
    local model=$fixtures/models/aidreams260K.gguf
    write_logprob_helper
    # Item 1 and 3 pick differently with and without the length norm; item
    # 3's context ends in a space (it moves to the endings); line 3 is blank.
    cat >"$tmp/items.jsonl" <<'EOF'
{"context": "Once upon a time, there was a little", "endings": [" girl", " girl named Lily who loved to play outside", " dog"], "label": 1}
{"context": "Tom and his mom went to the park. Tom saw a big", "endings": [" tree", " tree. He wanted to climb it", " xylophone"], "label": 0, "id": "extra keys are ignored"}

{"context": "The sun was ", "endings": ["hot", "shining brightly in the sky"], "label": 1}
{"context": "Lily liked to eat", "endings": [" apples", " café crème"], "label": 0}
EOF
    if "$cli" choice "$model" --jsonl "$tmp/items.jsonl" --json --per-item >"$tmp/c.json" 2>"$tmp/err"; then
        [[ -s "$tmp/err" ]] && fail "choice wrote to stderr off a terminal: $(cat "$tmp/err")"
        "$python" - "$cli" "$model" "$tmp/items.jsonl" "$tmp/c.json" "$tmp" <<'EOF' || fail "choice differs from the hand scoring: $(cat "$tmp/c.json")"
import json, sys
sys.path.insert(0, sys.argv[5])
import lp
cli, model = sys.argv[1], sys.argv[2]
doc = json.load(open(sys.argv[4]))
lines = open(sys.argv[3], encoding="utf-8").read().split("\n")
items = [(i + 1, json.loads(l)) for i, l in enumerate(lines) if l.strip()]
assert doc["items"] == len(items) == 4, doc["items"]
right = right_norm = 0
differ = 0
for (line, it), got in zip(items, doc["per_item"]):
    ctx = it["context"].rstrip(" ")
    moved = it["context"][len(ctx):]
    ctx_toks = lp.tokens(cli, model, ctx)
    lls, norms = [], []
    for k, e in enumerate(it["endings"]):
        whole = lp.tokens(cli, model, ctx + moved + e)
        cont = whole[len(ctx_toks):]
        r = lp.rows(cli, model, ctx_toks + cont, sys.argv[5] + "/c.logits")
        ll = sum(lp.logprob(r[len(ctx_toks) + j - 1], t) for j, t in enumerate(cont))
        lls.append(ll)
        norms.append(ll / len(e))
        assert got["tokens"][k] == len(cont) and got["lengths"][k] == len(e), (line, k, got)
        assert abs(got["loglikelihoods"][k] - ll) <= 1e-9 * abs(ll), (line, k, got["loglikelihoods"][k], ll)
    pred, pred_norm = lls.index(max(lls)), norms.index(max(norms))
    assert got["line"] == line and got["label"] == it["label"], got
    assert got["pred"] == pred and got["pred_norm"] == pred_norm, (line, got, lls, norms)
    right += pred == it["label"]
    right_norm += pred_norm == it["label"]
    differ += pred != pred_norm
assert differ >= 2, "the items should tell acc from acc_norm"
assert doc["acc"] == right / 4 and doc["acc_norm"] == right_norm / 4, (doc["acc"], doc["acc_norm"], right, right_norm)
print("ok: choice: acc %.2f, acc_norm %.2f as scored by hand" % (doc["acc"], doc["acc_norm"]))
EOF
    else
        fail "choice --json: $(cat "$tmp/err")"
    fi
    # The text form gives the same numbers.
    if "$cli" choice "$model" --jsonl "$tmp/items.jsonl" >"$tmp/c.txt" 2>"$tmp/err"; then
        "$python" - "$tmp/c.json" "$tmp/c.txt" <<'EOF' || fail "choice text differs from --json: $(cat "$tmp/c.txt")"
import json, sys
doc = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
assert text == "items     4\nacc       %.6f\nacc_norm  %.6f\n" % (doc["acc"], doc["acc_norm"]), text
print("ok: choice text output")
EOF
    else
        fail "choice: $(cat "$tmp/err")"
    fi
    "$cli" choice "$model" --jsonl "$tmp/items.jsonl" --per-item >"$tmp/c.txt" 2>"$tmp/err" &&
        [[ $(grep -cE '^[0-9]+	[0-9]+	[0-9]+	[0-9]+	' "$tmp/c.txt") -eq 4 ]] && echo "ok: choice --per-item lines" ||
        fail "choice --per-item: $(cat "$tmp/c.txt" "$tmp/err")"

    # Bad files: the error names the line, and no score reaches stdout.
    local good='{"context": "a", "endings": [" b", " c"], "label": 0}'
    bad_line() { # NAME PATTERN LINE2
        printf '%s\n%s\n%s\n' "$good" "$3" "$good" >"$tmp/bad.jsonl"
        expect_error "choice: $1" "bad.jsonl line 2: $2" -- choice "$model" --jsonl "$tmp/bad.jsonl"
        [[ -s "$tmp/out" ]] && fail "choice: $1: printed a score: $(cat "$tmp/out")"
    }
    bad_line "invalid JSON" "invalid JSON" '{"context": "a", "endings": [" b"], "label": 0'
    bad_line "not an object" "not a JSON object" '[1, 2]'
    bad_line "missing context" 'missing key "context"' '{"endings": [" b"], "label": 0}'
    bad_line "missing endings" 'missing key "endings"' '{"context": "a", "label": 0}'
    bad_line "missing label" 'missing key "label"' '{"context": "a", "endings": [" b"]}'
    bad_line "label out of range" '"label" 2 is out of range for 2 endings' '{"context": "a", "endings": [" b", " c"], "label": 2}'
    bad_line "negative label" '"label" -1 is out of range' '{"context": "a", "endings": [" b", " c"], "label": -1}'
    bad_line "label a string" '"label" is not an integer' '{"context": "a", "endings": [" b", " c"], "label": "0"}'
    bad_line "label a float" '"label" is not an integer' '{"context": "a", "endings": [" b", " c"], "label": 1.0}'
    bad_line "context a number" '"context" is not a string' '{"context": 5, "endings": [" b"], "label": 0}'
    bad_line "endings a string" '"endings" is not an array' '{"context": "a", "endings": " b", "label": 0}'
    bad_line "no endings" '"endings" is empty' '{"context": "a", "endings": [], "label": 0}'
    bad_line "ending a number" 'ending 1 is not a string' '{"context": "a", "endings": [" b", 3], "label": 0}'
    bad_line "empty ending" 'ending 0 is empty' '{"context": "a", "endings": ["", " c"], "label": 1}'
    bad_line "duplicate key" 'invalid JSON.*duplicate' '{"context": "a", "context": "b", "endings": [" b"], "label": 0}'
    : >"$tmp/none.jsonl"
    expect_error "choice: empty file" "holds no items" -- choice "$model" --jsonl "$tmp/none.jsonl"
    expect_error "choice: no --jsonl" "--jsonl" -- choice "$model"
    expect_error "choice: missing file" "nope.jsonl" -- choice "$model" --jsonl "$tmp/nope.jsonl"
    # An item too long for the context: a scoring error naming its line, no score.
    printf '%s\n{"context": "a", "endings": [" b", " %s"], "label": 0}\n' "$good" "$(printf 'word %.0s' $(seq 1 40))" \
        >"$tmp/long.jsonl"
    expect_error "choice: item beyond the context" "long.jsonl line 2: scoring the endings: .*ending 1 .*context full" -- \
        choice "$model" --jsonl "$tmp/long.jsonl" --ctx 16
    [[ -s "$tmp/out" ]] && fail "choice: an item beyond the context printed a score: $(cat "$tmp/out")"
    return 0
}

case "$part" in
errors) part_errors ;;
bench) part_bench ;;
logits) part_logits ;;
generate) part_generate ;;
perplexity) part_perplexity ;;
choice) part_choice ;;
*) echo "unknown part '$part'"; exit 2 ;;
esac

if [[ $failures -ne 0 ]]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all passed"
exit 0
