#!/bin/bash
# Build the libFuzzer targets with clang into build-fuzz/ and run each for
# N seconds (default 60):  tests/fuzz/run.sh [seconds] [target...]
# Corpora grow in build-fuzz/corpus/<target>; crashes land in
# build-fuzz/artifacts/<target>/. Seeds: tests/fuzz/corpus/<target> (tiny
# committed crashers), the fixtures' models/vocabularies, and small models
# written by fuzz_seed_models.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
out=$src/build-fuzz
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_gguf fuzz_pretok fuzz_tokenizer fuzz_model)
fixtures=${NEXTTOK_FIXTURES:-$src/../shared/fixtures}
[ -d "$fixtures" ] || fixtures=/work/shared/fixtures
CC=${CC:-clang}

san='-fsanitize=address,undefined -fno-sanitize-recover=undefined'
# The library: meson's own build with sanitizers (which also selects
# NT_ALLOC_SYSTEM so ASan sees every allocation) plus libFuzzer's coverage
# instrumentation.
if [ ! -f "$out/build.ninja" ]; then
  CC=$CC meson setup "$out" "$src" --buildtype=debugoptimized -Db_sanitize=address,undefined \
    -Db_lundef=false -Dtests=disabled \
    -Dc_args="-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined -fno-omit-frame-pointer" >/dev/null
fi
ninja -C "$out" lib/libnexttok_internal.a >/dev/null
libs="$out/lib/libnexttok_internal.a $(find "$out/lib" -name 'libnt_kernels_*.a' | tr '\n' ' ')"
libs+=" -lmimalloc $(pkg-config --libs libsodium libpcre2-8) -lpthread -lm"
cflags="-g -O1 -std=c11 -D_DEFAULT_SOURCE -DNT_ALLOC_SYSTEM -I$src/include -I$src/lib -I$src/tests $san"

for t in "${targets[@]}"; do
  $CC $cflags -fsanitize=fuzzer -DNT_FUZZ_LIBFUZZER "$src/tests/fuzz/$t.c" $libs -o "$out/$t"
done
# Seed writer: small GGUF models from the tests' tiny-model writer.
$CC $cflags "$src/tests/fuzz/fuzz_seed_models.c" "$src/tests/support/gguf_writer.c" \
  "$src/tests/support/tiny_model.c" "$src/tests/support/quantize.c" $libs -o "$out/fuzz_seed_models"

seeds() {  # corpus dirs for a target
  local t=$1 d=$out/seeds/$t
  mkdir -p "$d"
  case $t in
    fuzz_gguf|fuzz_model)
      # The fixture vocabularies exceed -max_len: cut-down copies instead.
      "$out/fuzz_seed_models" "$d" "$fixtures"/vocab/*.gguf
      # fuzz_model's -max_len admits the small fixture models, and one
      # model of each architecture.
      [ "$t" = fuzz_model ] && find "$fixtures/models" "$fixtures/arch" -name '*.gguf' -size -1400k -exec cp -n {} "$d"/ \;
      ;;
    fuzz_tokenizer|fuzz_pretok)
      cp -n "$fixtures"/texts/*.txt "$d"/ 2>/dev/null || true
      for f in "$fixtures"/vocab/*.inp; do [ -f "$f" ] && split -l 20 -a 3 "$f" "$d/$(basename "$f")."; done ;;
  esac
  echo "$d"
}

for t in "${targets[@]}"; do
  case $t in
    fuzz_gguf) maxlen=65536 ;;
    fuzz_model) maxlen=1400000 ;;
    *) maxlen=4096 ;;
  esac
  mkdir -p "$out/corpus/$t" "$out/artifacts/$t"
  committed=$src/tests/fuzz/corpus/$t
  [ -d "$committed" ] || committed=
  # -jobs writes fuzz-<n>.log into the working folder: one per target.
  mkdir -p "$out/logs/$t"
  s=$(seeds "$t")
  # Scalar kernels by default: ASan cannot see inside AVX-512 masked loads,
  # and the sizes the kernels get do not depend on the instruction set.
  (cd "$out/logs/$t" && NEXTTOK_ISA=${NEXTTOK_ISA:-scalar} NEXTTOK_FIXTURES=$fixtures "$out/$t" -jobs=1 -workers=1 -max_total_time="$secs" -max_len=$maxlen \
    -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$out/artifacts/$t/" \
    "$out/corpus/$t" "$s" $committed >/dev/null 2>&1) || true
  echo "== $t ($secs s): $out/logs/$t/fuzz-0.log"
  grep -E 'DONE|ERROR|SUMMARY|stat::|Test unit written' "$out/logs/$t/fuzz-0.log" | tail -n 8
done
