#!/bin/bash
# Build the libFuzzer targets with clang into build-fuzz/ and run each for
# N seconds (default 60):  tests/fuzz/run.sh [seconds] [target...]
# Corpora grow in build-fuzz/corpus/<target>; crashes land in
# build-fuzz/artifacts/<target>/. Seeds: tests/fuzz/corpus/<target> (tiny
# committed crashers), tests/fuzz/seeds/<target> (hand-written), the
# fixtures' models/vocabularies, and small models written by
# fuzz_seed_models.
#
# Every run has a wall-clock bound of its own: libFuzzer's -max_total_time
# is only checked between inputs and -timeout covers inputs, not the
# mutators, so timeout(1) stops a run that is still going after the bound
# (TERM, then KILL). Prints one summary line per target and exits non-zero
# when any run found something or overstayed its bound.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
out=${NEXTTOK_FUZZ_OUT:-$src/build-fuzz}
secs=${1:-60}
shift || true
targets=("$@")
all_targets=(fuzz_gguf fuzz_pretok fuzz_tokenizer fuzz_model fuzz_choice fuzz_snapshot fuzz_unzip)
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
fixtures=${NEXTTOK_FIXTURES:-$src/../shared/fixtures}
[ -d "$fixtures" ] || fixtures=/work/shared/fixtures
CC=${CC:-clang}
# Seconds past -max_total_time before the run counts as hung (start-up,
# the initial corpus pass on a loaded machine, ASan's exit-time leak check).
grace=${NEXTTOK_FUZZ_GRACE:-$((30 + secs / 5))}
# libFuzzer's -timeout per input, in seconds of wall-clock time: an input
# that takes 0.2 s of CPU can take 30 s on a machine loaded by other
# builds, which is not a hang; raise it there rather than chase those.
# Slow units are reported (as artifacts) only past the same time.
timeout_s=${NEXTTOK_FUZZ_TIMEOUT:-10}

san='-fsanitize=address,undefined -fno-sanitize-recover=undefined'
# The library: meson's own build with sanitizers (which also selects
# NT_ALLOC_SYSTEM so ASan sees every allocation) plus libFuzzer's coverage
# instrumentation.
if [ ! -f "$out/build.ninja" ]; then
  setup_log=$(mktemp)
  CC=$CC meson setup "$out" "$src" --buildtype=debugoptimized -Db_sanitize=address,undefined \
    -Db_lundef=false -Dtests=disabled -Disa_kernels=false \
    -Dc_args="-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
    >"$setup_log" || { cat "$setup_log" >&2; exit 1; }
  rm -f "$setup_log"
fi
ninja -C "$out" lib/libnexttok_internal.a >"$out/ninja.log" || { cat "$out/ninja.log" >&2; exit 1; }
libs="$out/lib/libnexttok_internal.a $(find "$out/lib" -name 'libnt_kernels_*.a' | tr '\n' ' ')"
libs+=" -lmimalloc $(pkg-config --libs libsodium libpcre2-8) -lpthread -lm"
cflags="-g -O1 -std=c11 -D_DEFAULT_SOURCE -DNT_ALLOC_SYSTEM -I$src/include -I$src/lib -I$src/tests $san"

for t in "${targets[@]}"; do
  extra=()
  case $t in
    # the CLI's own JSON Lines parser, instrumented with the harness
    fuzz_choice) extra=(-I"$src/tools/nexttok" "$src/tools/nexttok/choice_items.c" $(pkg-config --libs jansson)) ;;
  esac
  $CC $cflags -fsanitize=fuzzer -DNT_FUZZ_LIBFUZZER "$src/tests/fuzz/$t.c" "${extra[@]}" $libs -o "$out/$t"
done
# Seed writer: small GGUF models from the tests' tiny-model writer. Linked
# under another name and renamed, so runs of other targets started at the
# same time (one per core) never execute a half-written binary.
$CC $cflags "$src/tests/fuzz/fuzz_seed_models.c" "$src/tests/support/gguf_writer.c" \
  "$src/tests/support/tiny_model.c" "$src/tests/support/quantize.c" $libs -o "$out/fuzz_seed_models.$$"
mv -f "$out/fuzz_seed_models.$$" "$out/fuzz_seed_models"

seeds() {  # corpus dirs for a target
  local t=$1 d=$out/seeds/$t
  mkdir -p "$d"
  case $t in
    fuzz_gguf|fuzz_model)
      # The fixture vocabularies exceed -max_len: cut-down copies instead.
      "$out/fuzz_seed_models" "$d" "$fixtures"/vocab/*.gguf
      # fuzz_model's -max_len admits the small fixture models, and one
      # model of each architecture.
      [ "$t" != fuzz_model ] || find "$fixtures/models" "$fixtures/arch" -name '*.gguf' -size -1400k -exec cp -n {} "$d"/ \;
      ;;
    fuzz_tokenizer|fuzz_pretok)
      cp -n "$fixtures"/texts/*.txt "$d"/ 2>/dev/null || true
      for f in "$fixtures"/vocab/*.inp; do [ -f "$f" ] && split -l 20 -a 3 "$f" "$d/$(basename "$f")."; done ;;
  esac
  echo "$d"
}

status=0
for t in "${targets[@]}"; do
  case $t in
    fuzz_gguf) maxlen=65536 ;;
    fuzz_model) maxlen=1400000 ;;
    fuzz_snapshot) maxlen=65536 ;;
    *) maxlen=4096 ;;
  esac
  mkdir -p "$out/corpus/$t" "$out/artifacts/$t" "$out/logs"
  dirs=("$out/corpus/$t" "$(seeds "$t")")
  for d in "$src/tests/fuzz/corpus/$t" "$src/tests/fuzz/seeds/$t"; do [ -d "$d" ] && dirs+=("$d"); done
  log=$out/logs/$t.log
  before=$(find "$out/artifacts/$t" -type f | wc -l)
  t0=$SECONDS
  # One process, no -jobs: its exit status is the run's (0, or libFuzzer's
  # crash/timeout/OOM status). Scalar kernels by default: ASan cannot see
  # inside AVX-512 masked loads, and the sizes the kernels get do not
  # depend on the instruction set.
  rc=0
  NEXTTOK_ISA=${NEXTTOK_ISA:-scalar} NEXTTOK_FIXTURES=$fixtures \
    timeout --kill-after=10 $((secs + grace)) \
    "$out/$t" -max_total_time="$secs" -max_len=$maxlen \
    -timeout="$timeout_s" -report_slow_units="$timeout_s" -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$out/artifacts/$t/" "${dirs[@]}" >"$log" 2>&1 || rc=$?
  took=$((SECONDS - t0))
  after=$(find "$out/artifacts/$t" -type f | wc -l)
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1 || true)
  cov=$(grep -oE '(cov|ft): [0-9]+' "$log" | tail -n 2 | tr '\n' ' ' || true)
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    verdict="FAILED: still running after its bound of $((secs + grace)) s, stopped"
  elif [ $rc -ne 0 ] || [ "$after" -ne "$before" ]; then
    verdict="FAILED: exit status $rc, $((after - before)) new artifact(s) in $out/artifacts/$t"
  else
    verdict=ok
  fi
  echo "fuzz: $t: ${execs:-?} executions in ${took} s (bound $((secs + grace)) s), ${cov:-no coverage line}: $verdict"
  if [ "$verdict" != ok ]; then
    status=1
    grep -E 'ERROR|SUMMARY|Test unit written|==[0-9]+==|#[0-9]+' "$log" | tail -n 15 >&2 || true
  fi
done
exit $status
