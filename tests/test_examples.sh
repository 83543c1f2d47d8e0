#!/usr/bin/env bash
# The example programs, run as a user would run them:
#   test_examples.sh BUILD_DIR NEXTTOK_CLI
# next_token must print five next tokens in falling probability; perplexity
# must print what `nexttok perplexity --json` computes for the same text,
# window and stride. Both run on the model shipped in models/ and a sample
# of its held-out text, as examples/README.md shows them, so this always runs.
set -u
build=${1:?usage: test_examples.sh BUILD_DIR NEXTTOK_CLI}
cli=${2:?usage: test_examples.sh BUILD_DIR NEXTTOK_CLI}
python=${NEXTTOK_PYTHON:-python3}
root=$(cd "$(dirname "$0")/.." && pwd)
model=$root/models/austen-2.6m.gguf
text=$root/tests/data/austen/sample.txt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

"$build/examples/next_token" "$model" "It is a truth universally acknowledged" >"$tmp/next" 2>"$tmp/err" || {
    echo "FAIL: next_token: $(cat "$tmp/err")"
    exit 1
}
"$python" - "$tmp/next" <<'PY' || status=1
import re, sys
lines = open(sys.argv[1]).read().splitlines()
assert re.match(r"\d+ prompt tokens; next token:$", lines[0]), lines[0]
probs = [float(re.match(r"\s*\d+\s+([0-9.]+)\s+'", l).group(1)) for l in lines[1:]]
assert len(probs) == 5, lines
assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0001, probs
PY

"$build/examples/perplexity" "$model" "$text" 16 8 >"$tmp/ppl" 2>"$tmp/err" || {
    echo "FAIL: perplexity example: $(cat "$tmp/err")"
    exit 1
}
"$cli" perplexity "$model" --text-file "$text" --ctx 16 --stride 8 --json >"$tmp/ppl.json" 2>"$tmp/err" || {
    echo "FAIL: nexttok perplexity: $(cat "$tmp/err")"
    exit 1
}
"$python" - "$tmp/ppl" "$tmp/ppl.json" <<'PY' || status=1
import json, re, sys
out = open(sys.argv[1]).read()
want = json.load(open(sys.argv[2]))
m = re.search(r"tokens (\d+), scored (\d+) in (\d+) windows of (\d+) \(stride (\d+)\)", out)
assert m and [int(g) for g in m.groups()] == [want["n_tokens"], want["n_scored"], want["n_windows"], 16, 8], out
m = re.search(r"perplexity ([0-9.]+) \+- ([0-9.]+)", out)
assert m and abs(float(m.group(1)) - want["perplexity"]) <= 1e-6 * want["perplexity"], (out, want)
assert abs(float(m.group(2)) - want["perplexity_stderr"]) <= 1e-6 * want["perplexity_stderr"], (out, want)
m = re.search(r"bits per byte ([0-9.]+)", out)
assert m and abs(float(m.group(1)) - want["bits_per_byte"]) <= 1e-6, (out, want)
PY
[[ $status -eq 0 ]] && echo "ok: next_token and perplexity examples"
exit $status
