#!/usr/bin/env bash
# End-to-end tests of the CLI's snapshots, context shift and bench --fork.
#
#   test_cli_fork.sh NEXTTOK_BINARY
#
# Exit 0 = pass, 77 = skipped (no fixtures), anything else = fail.
set -u

cli=${1:?usage: test_cli_fork.sh NEXTTOK_BINARY}
fixtures=${NEXTTOK_FIXTURES:-}
python=${NEXTTOK_PYTHON:-python3}
if [[ -z "$fixtures" || ! -d "$fixtures" ]]; then
    echo "fixtures not found: ../shared/fixtures is absent, conformance test skipped"
    exit 77
fi
model=$fixtures/models/aidreams260K.gguf
other=$fixtures/models/llama-tiny-f32.gguf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# expect_error NAME PATTERN -- ARGS...: non-zero exit, one stderr line
# "nexttok: error: ..." containing PATTERN.
expect_error() {
    local name=$1 pattern=$2
    shift 3
    "$cli" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [[ $rc -eq 0 ]]; then
        fail "$name: exit status 0 (expected failure)"
    elif [[ $rc -ge 128 ]]; then
        fail "$name: killed by signal $((rc - 128))"
    elif [[ $(wc -l <"$tmp/err") -ne 1 ]] || ! grep -q '^nexttok: error: ' "$tmp/err"; then
        fail "$name: stderr is not one 'nexttok: error:' line: $(cat "$tmp/err")"
    elif ! grep -qiE -- "$pattern" "$tmp/err"; then
        fail "$name: message lacks /$pattern/: $(cat "$tmp/err")"
    else
        echo "ok: $name: $(cat "$tmp/err")"
    fi
}

# Greedy generation split in two through a snapshot continues exactly as
# one run: 20 tokens, saved, then 10 more from the file = 30 in one go.
"$cli" generate "$model" --text "Once upon a time" -n 30 --temp 0 >"$tmp/whole" 2>"$tmp/err" ||
    fail "generate: $(cat "$tmp/err")"
"$cli" generate "$model" --text "Once upon a time" -n 20 --temp 0 --snapshot-out "$tmp/s.snap" \
    >"$tmp/first" 2>"$tmp/err" || fail "generate --snapshot-out: $(cat "$tmp/err")"
[[ -s "$tmp/s.snap" ]] || fail "no snapshot written"
"$cli" generate "$model" --snapshot-in "$tmp/s.snap" -n 10 --temp 0 >"$tmp/second" 2>"$tmp/err" ||
    fail "generate --snapshot-in: $(cat "$tmp/err")"
# the pieces joined (each ends in the CLI's newline) are the whole run's text
"$python" - "$tmp/whole" "$tmp/first" "$tmp/second" <<'PY' || fail "split run differs from one run"
import sys
whole, first, second = (open(p, encoding="utf-8").read() for p in sys.argv[1:])
assert whole == first[:-1] + second, (whole, first, second)
print("ok: 20 tokens + snapshot + 10 tokens = 30 tokens")
PY

# Refusals name the problem.
expect_error "snapshot of another model" "another model" -- generate "$other" --snapshot-in "$tmp/s.snap" -n 1
head -c 100 "$tmp/s.snap" >"$tmp/cut.snap"
expect_error "truncated snapshot" "truncated" -- generate "$model" --snapshot-in "$tmp/cut.snap" -n 1
cp "$tmp/s.snap" "$tmp/bad.snap"
printf 'X' | dd of="$tmp/bad.snap" bs=1 seek=400 conv=notrunc status=none
expect_error "corrupted snapshot" "corrupted" -- generate "$model" --snapshot-in "$tmp/bad.snap" -n 1
expect_error "missing snapshot" "cannot open" -- generate "$model" --snapshot-in "$tmp/none.snap" -n 1
expect_error "shift policy on a restored session" "snapshot's policy" -- \
    generate "$model" --snapshot-in "$tmp/s.snap" --context-shift 4 -n 1
expect_error "bad --context-shift" "--context-shift" -- generate "$model" --text hi --context-shift -1

# Without --context-shift a run past the context is refused; with it, it
# runs to the end.
expect_error "context overflow" "--context-shift" -- generate "$model" --text "Once upon a time" --ctx 32 -n 60 --temp 0
"$cli" generate "$model" --text "Once upon a time" --ctx 32 --context-shift 4 -n 60 --temp 0 \
    >"$tmp/shift" 2>"$tmp/err" || fail "generate --context-shift: $(cat "$tmp/err")"
[[ $(wc -c <"$tmp/shift") -gt 40 ]] && echo "ok: --context-shift ran past the context" ||
    fail "--context-shift output too short: $(cat "$tmp/shift")"
expect_error "shift refused for gpt2" "learned absolute" -- \
    generate "$fixtures/models/gpt2-tiny-f32.gguf" --text hi --context-shift 4 -n 1

# bench --fork reports the fork's time and memory and a snapshot's size.
if "$cli" bench "$model" --json --fork --reps 2 --prompt 40 --gen 2 --ctx 128 >"$tmp/b.json" 2>"$tmp/err"; then
    "$python" - "$tmp/b.json" <<'PY' || fail "bench --fork json: $(cat "$tmp/b.json")"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["fork_prefix_tokens"] == 40
assert doc["fork_us"] > 0 and doc["snapshot_us"] > 0 and doc["restore_us"] > 0
# 40 positions: 2 pages of 32 per layer, all shared; the first token after
# position 40 writes into the second page, which it copies (aidreams:
# 4 layers, pages of 32 rows of 4 KV heads x 16 F32, keys and values)
assert doc["fork_shared_bytes"] == 2 * 4 * (2 * 32 * 4 * 16 * 4), doc["fork_shared_bytes"]
assert doc["fork_first_write_bytes"] == 4 * (2 * 32 * 4 * 16 * 4), doc["fork_first_write_bytes"]
want = 160 + 4 * 40 + 4 * 512 + 40 * doc["kv_bytes_per_token"]
assert doc["snapshot_bytes"] == want, (doc["snapshot_bytes"], want)
print("ok: bench --fork: %.1f us, snapshot %d bytes" % (doc["fork_us"], doc["snapshot_bytes"]))
PY
else
    fail "bench --fork: $(cat "$tmp/err")"
fi
"$cli" bench "$model" --fork --reps 1 --prompt 8 --gen 1 >"$tmp/b.txt" 2>"$tmp/err" || fail "bench --fork text: $(cat "$tmp/err")"
grep -q "^fork " "$tmp/b.txt" && grep -q "^snapshot " "$tmp/b.txt" || fail "bench --fork text lacks its lines: $(cat "$tmp/b.txt")"

[[ $failures -eq 0 ]] || { echo "$failures failure(s)"; exit 1; }
echo "all passed"
