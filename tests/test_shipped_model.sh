#!/usr/bin/env bash
# The shipped model through the command-line client: `nexttok tokenize`
# gives exactly the ids of the Python trainer's encoder (tools/train/bpe.py)
# on the committed sample, and the README's commands run on the model.
#
#   test_shipped_model.sh NEXTTOK_BINARY SOURCE_ROOT      (exit 0 pass)
set -u
cli=${1:?usage: test_shipped_model.sh NEXTTOK_BINARY SOURCE_ROOT}
root=${2:?usage: test_shipped_model.sh NEXTTOK_BINARY SOURCE_ROOT}
model=$root/models/austen-2.6m.gguf
data=$root/tests/data/austen
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

if ! "$cli" tokenize "$model" --text-file "$data/sample.txt" >"$tmp/ids" 2>"$tmp/err"; then
    fail "tokenize: exit non-zero: $(cat "$tmp/err")"
elif ! cmp -s "$tmp/ids" "$data/sample.ids"; then
    fail "tokenize: ids differ from the trainer's ($(cmp "$tmp/ids" "$data/sample.ids" 2>&1))"
fi

# next: five ranked lines, each with a probability.
if ! "$cli" next "$model" --text "It is a truth universally acknowledged" --top 5 >"$tmp/next" 2>"$tmp/err"; then
    fail "next: exit non-zero: $(cat "$tmp/err")"
elif [[ $(grep -c '0\.[0-9]' "$tmp/next") -lt 5 ]]; then
    fail "next: expected five probabilities, got: $(cat "$tmp/next")"
fi

# generate: a greedy continuation that starts with the prompt's text.
if ! "$cli" generate "$model" --text "Emma" -n 20 --temp 0 >"$tmp/gen" 2>"$tmp/err"; then
    fail "generate: exit non-zero: $(cat "$tmp/err")"
elif [[ $(wc -c <"$tmp/gen") -lt 20 ]]; then
    fail "generate: too short: $(cat "$tmp/gen")"
fi

# perplexity --json on the sample: a finite bits-per-byte figure.
if ! "$cli" perplexity "$model" --text-file "$data/sample.txt" --json >"$tmp/ppl" 2>"$tmp/err"; then
    fail "perplexity: exit non-zero: $(cat "$tmp/err")"
elif ! grep -Eq '"bits_per_byte": [0-9]+\.[0-9]+' "$tmp/ppl"; then
    fail "perplexity: no bits_per_byte in $(cat "$tmp/ppl")"
fi

if [[ $failures -ne 0 ]]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "shipped model: tokenize, next, generate and perplexity pass"
