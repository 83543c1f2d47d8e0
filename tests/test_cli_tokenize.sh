#!/usr/bin/env bash
# End-to-end test of `nexttok tokenize`: ids on one line, BOS as the
# vocabulary says (or not with --no-bos), special-token parsing on request,
# and one "nexttok: error:" line with the right exit status on failure.
# The expected ids are those of llama.cpp's vocabulary test vectors.
#
#   test_cli_tokenize.sh NEXTTOK_BINARY      (exit 0 pass, 77 skipped)
set -u
cli=${1:?usage: test_cli_tokenize.sh NEXTTOK_BINARY}
fixtures=${NEXTTOK_FIXTURES:-}
if [[ -z "$fixtures" || ! -d "$fixtures" ]]; then
    echo "fixtures not found: ../shared/fixtures is absent, conformance test skipped"
    exit 77
fi
spm=$fixtures/vocab/ggml-vocab-llama-spm.gguf
gpt2=$fixtures/vocab/ggml-vocab-gpt-2.gguf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# expect NAME WANT ARGS...: stdout must be exactly WANT plus a newline.
expect() {
    local name=$1 want=$2
    shift 2
    local got
    got=$("$cli" tokenize "$@" 2>"$tmp/err")
    local rc=$?
    if [[ $rc -ne 0 || "$got" != "$want" ]]; then
        echo "FAIL: $name: got '$got' (exit $rc, stderr: $(cat "$tmp/err")), want '$want'"
        failures=$((failures + 1))
    fi
}

# expect_error NAME STATUS PATTERN ARGS...: exit STATUS, one stderr line
# starting "nexttok: error: " and matching PATTERN, nothing on stdout.
expect_error() {
    local name=$1 status=$2 pattern=$3
    shift 3
    "$cli" tokenize "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [[ $rc -ne $status || $(wc -l <"$tmp/err") -ne 1 || -s "$tmp/out" ]] ||
        ! grep -Eq "^nexttok: error: .*($pattern)" "$tmp/err"; then
        echo "FAIL: $name: exit $rc, stderr '$(cat "$tmp/err")', stdout '$(cat "$tmp/out")'"
        failures=$((failures + 1))
    fi
}

expect "spm adds BOS" "1 15043 3186" "$spm" --text "Hello world"
expect "spm --no-bos" "15043 3186" "$spm" --no-bos --text "Hello world"
expect "spm leading space" "29871 15043 3186" "$spm" --no-bos --text " Hello world"
printf ' Hello, world!' >"$tmp/in.txt"
expect "spm --text-file" "29871 15043 29892 3186 29991" "$spm" --no-bos --text-file "$tmp/in.txt"
expect "gpt2 adds nothing" "15496 995" "$gpt2" --text "Hello world"
expect "gpt2 special text unparsed" "27 91 437 1659 5239 91 29" "$gpt2" --text "<|endoftext|>"
expect "gpt2 --parse-special" "50256" "$gpt2" --parse-special --text "<|endoftext|>"
expect "empty text" "" "$gpt2" --text ""

expect_error "no input" 2 "text" "$spm"
expect_error "no model" 2 "model" --text a
expect_error "two inputs" 2 "text" "$spm" --text a --text b
expect_error "unknown option" 2 "--frobnicate" "$spm" --text a --frobnicate
expect_error "missing file" 1 "nonexistent" /nonexistent.gguf --text a
expect_error "missing text file" 1 "nonexistent" "$spm" --text-file /nonexistent.txt
printf 'GGUF but not really' >"$tmp/bad.gguf"
expect_error "not a gguf" 1 "bad.gguf" "$tmp/bad.gguf" --text a

if [[ $failures -ne 0 ]]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all passed"
