#!/usr/bin/env bash
# End-to-end test of `nexttok zip` / `nexttok unzip`: round trips of text,
# random and empty files; the same file under every NEXTTOK_ISA this CPU
# runs; refusals (another model, truncated, corrupted, not a zip file, an
# existing OUT) with one "nexttok: error:" line and no OUT, and no
# temporary file left behind.
#
#   test_cli_zip.sh NEXTTOK_BINARY      (exit 0 pass, 77 skipped)
set -u
cli=${1:?usage: test_cli_zip.sh NEXTTOK_BINARY}
fixtures=${NEXTTOK_FIXTURES:-}
if [[ -z "$fixtures" || ! -d "$fixtures" ]]; then
    echo "fixtures not found: ../shared/fixtures is absent, conformance test skipped"
    exit 77
fi
llama=$fixtures/models/aidreams260K.gguf
gpt2=$fixtures/models/gpt2-tiny-f32.gguf
other=$fixtures/models/llama-q-Q8_0.gguf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# round_trip NAME MODEL FILE: zip and unzip give FILE back byte for byte.
round_trip() {
    local name=$1 model=$2 file=$3
    rm -f "$tmp/rt.ntz" "$tmp/rt.out"
    if ! "$cli" zip "$model" "$file" "$tmp/rt.ntz" >"$tmp/zip.out" 2>"$tmp/err"; then
        fail "$name: zip failed: $(cat "$tmp/err")"
        return
    fi
    if ! grep -Eq '^zip .* -> .*: [0-9.]+ bits per byte, [0-9.]+ s, [0-9.]+ kB/s$' "$tmp/zip.out"; then
        fail "$name: zip summary '$(cat "$tmp/zip.out")'"
    fi
    if ! "$cli" unzip "$model" "$tmp/rt.ntz" "$tmp/rt.out" >"$tmp/unzip.out" 2>"$tmp/err"; then
        fail "$name: unzip failed: $(cat "$tmp/err")"
        return
    fi
    cmp -s "$file" "$tmp/rt.out" || fail "$name: unzip did not give the input back"
}

# expect_error NAME PATTERN ARGS...: exit 1, one stderr line "nexttok: error: ..."
# matching PATTERN, and no $tmp/out.
expect_error() {
    local name=$1 pattern=$2
    shift 2
    rm -f "$tmp/out"
    "$cli" "$@" >"$tmp/stdout" 2>"$tmp/err"
    local rc=$?
    if [[ $rc -ne 1 || $(wc -l <"$tmp/err") -ne 1 || -s "$tmp/stdout" ]] ||
        ! grep -Eq "^nexttok: error: .*($pattern)" "$tmp/err"; then
        fail "$name: exit $rc, stderr '$(cat "$tmp/err")', stdout '$(cat "$tmp/stdout")'"
    fi
    [[ -e "$tmp/out" ]] && fail "$name: wrote $tmp/out"
}

cat >"$tmp/text.txt" <<'TEXT'
Once upon a time, there was a little girl named Lily. She loved to play outside in the sun.
One day, she saw a big red ball in the park. "Can I play with it?" she asked her mom.
Her mom smiled and said, "Yes, you can play with it, but be careful." Lily played all day.
Then a little boy named Tom came to the park. "Can I play too?" he asked. "Yes!" said Lily.
TEXT
for i in 1 2 3 4 5 6; do cat "$tmp/text.txt"; done >"$tmp/long.txt" # past the 128-token context
head -c 2000 /dev/urandom >"$tmp/random.bin"
: >"$tmp/empty.txt"
printf 'caf\xc3\xa9 \xff\xfe broken \xe2\x82 utf-8\n' >"$tmp/bad-utf8.txt"

round_trip "text, llama" "$llama" "$tmp/text.txt"
round_trip "long text, llama" "$llama" "$tmp/long.txt"
round_trip "text, gpt2" "$gpt2" "$tmp/text.txt"
round_trip "random bytes" "$llama" "$tmp/random.bin"
round_trip "empty file" "$gpt2" "$tmp/empty.txt"
round_trip "invalid UTF-8" "$gpt2" "$tmp/bad-utf8.txt"

# text compresses (the 120-byte header included) with the trained model
"$cli" zip "$llama" "$tmp/long.txt" "$tmp/long.ntz" --quiet >"$tmp/stdout" 2>&1 || fail "zip --quiet failed"
[[ -s "$tmp/stdout" ]] && fail "zip --quiet printed '$(cat "$tmp/stdout")'"
[[ $(wc -c <"$tmp/long.ntz") -lt $(( $(wc -c <"$tmp/long.txt") * 4 / 5 )) ]] ||
    fail "long text: $(wc -c <"$tmp/long.txt") bytes zipped to $(wc -c <"$tmp/long.ntz")"

# the same bytes under every ISA this CPU runs (NEXTTOK_ISA picks lower ones)
for model in "$llama" "$gpt2"; do
    NEXTTOK_ISA=scalar "$cli" zip "$model" "$tmp/text.txt" "$tmp/scalar.ntz" --quiet --force || fail "zip under scalar"
    for isa in avx2 avx512 neon; do
        NEXTTOK_ISA=$isa "$cli" zip "$model" "$tmp/text.txt" "$tmp/$isa.ntz" --quiet --force || fail "zip under $isa"
        cmp -s "$tmp/scalar.ntz" "$tmp/$isa.ntz" || fail "$(basename "$model"): the file zipped under $isa differs"
    done
done

# refusals: nothing written, no temporary file left
"$cli" zip "$llama" "$tmp/text.txt" "$tmp/good.ntz" --quiet || fail "zip for the refusals"
size=$(wc -c <"$tmp/good.ntz")
expect_error "another model" "another model" unzip "$other" "$tmp/good.ntz" "$tmp/out"
head -c $((size - 7)) "$tmp/good.ntz" >"$tmp/cut.ntz"
expect_error "truncated" "truncated" unzip "$llama" "$tmp/cut.ntz" "$tmp/out"
head -c 50 "$tmp/good.ntz" >"$tmp/cut-header.ntz"
expect_error "truncated header" "truncated" unzip "$llama" "$tmp/cut-header.ntz" "$tmp/out"
cp "$tmp/good.ntz" "$tmp/bad.ntz"
printf '\x5a' | dd of="$tmp/bad.ntz" bs=1 seek=$((size - 20)) conv=notrunc status=none
expect_error "corrupted payload" "corrupted|checksum" unzip "$llama" "$tmp/bad.ntz" "$tmp/out"
cp "$tmp/good.ntz" "$tmp/bad.ntz"
printf '\x01' | dd of="$tmp/bad.ntz" bs=1 seek=20 conv=notrunc status=none
expect_error "corrupted header" "header damaged" unzip "$llama" "$tmp/bad.ntz" "$tmp/out"
expect_error "not a zip file" "not a nexttok zip file" unzip "$llama" "$tmp/text.txt" "$tmp/out"
expect_error "missing input" "cannot open" zip "$llama" "$tmp/nonexistent" "$tmp/out"
expect_error "bad model" "" zip "$tmp/text.txt" "$tmp/text.txt" "$tmp/out"
expect_error "window too long" "window" zip "$llama" "$tmp/text.txt" "$tmp/out" --ctx 129
echo keep >"$tmp/exists"
"$cli" zip "$llama" "$tmp/text.txt" "$tmp/exists" >/dev/null 2>"$tmp/err" && fail "zip overwrote an existing OUT"
grep -q "exists (use --force" "$tmp/err" || fail "existing OUT: '$(cat "$tmp/err")'"
[[ $(cat "$tmp/exists") == keep ]] || fail "existing OUT changed"
"$cli" zip "$llama" "$tmp/text.txt" "$tmp/exists" --force --quiet || fail "zip --force"
cmp -s "$tmp/exists" "$tmp/good.ntz" || fail "zip --force wrote another file"
ls "$tmp" | grep -q '\.tmp-' && fail "temporary files left: $(ls "$tmp" | grep '\.tmp-')"

# usage errors: exit 2
for args in "zip" "zip $llama" "zip $llama $tmp/text.txt" "unzip $llama $tmp/good.ntz" "zip $llama a b c" "zip --bogus"; do
    # shellcheck disable=SC2086
    "$cli" $args >/dev/null 2>"$tmp/err"
    rc=$?
    [[ $rc -eq 2 ]] || fail "'$args': exit $rc, want 2 ($(cat "$tmp/err"))"
done
"$cli" zip --help | grep -q "usage: nexttok zip MODEL IN OUT" || fail "zip --help"
"$cli" unzip --help | grep -q "usage: nexttok unzip MODEL IN OUT" || fail "unzip --help"

if [[ $failures -ne 0 ]]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all zip CLI tests passed"
