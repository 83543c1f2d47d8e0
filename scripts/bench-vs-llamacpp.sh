#!/usr/bin/env bash
# Compare `nexttok bench` with llama.cpp's llama-bench on the same GGUF files,
# run in turn on the same machine with the same thread count, and print a
# markdown table of tokens/s and ratios (ours / llama.cpp; above 1 = faster).
#
#   scripts/bench-vs-llamacpp.sh [options] [MODEL ...]
#
# MODEL is a name of the built-in set (see --list) or a path to a GGUF file.
# Random-weight models are written (by build/tests/make_model, K-quant mixes
# by llama-quantize) into the work folder when missing, and reused after.
# See docs/benchmarking.md.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
threads=2
reps=3
gen=32
prompts="64,512"
build_dir=$here/build
work_dir=
llama_dir=$here/../shared/tools/llama.cpp
fixtures=${NEXTTOK_FIXTURES:-$here/../shared/fixtures}
quick=${NEXTTOK_BENCH_QUICK:-0}
archs=0
list_only=0
models=()
python=/usr/bin/python3

usage() {
    cat <<EOF
usage: scripts/bench-vs-llamacpp.sh [options] [MODEL ...]

Runs 'nexttok bench --json' and llama.cpp's 'llama-bench' one after the other
on each model (same file, same threads) and prints a markdown table:
prefill of each prompt length and decode of --gen tokens, tokens/s as
"ours / llama.cpp = ratio" (medians of the repetitions on both sides).

options:
  -t, --threads T     threads for both programs (default $threads; aidreams260K
                      always runs with 1)
  -r, --reps R        repetitions per measurement (default $reps)
  -p, --prompts LIST  prompt lengths to time, comma-separated (default $prompts)
  -n, --gen G         decode tokens (default $gen)
  -w, --work-dir DIR  where generated models are kept (default BUILD/bench-models)
  -b, --build-dir DIR the meson build folder (default build)
  -l, --llama-dir DIR folder holding llama-bench and llama-quantize
                      (default ../shared/tools/llama.cpp)
  -q, --quick         small models only (also NEXTTOK_BENCH_QUICK=1): a smoke test
  -a, --archs         the Qwen2.5-0.5B and Gemma-3-1B shapes (qwen2, gemma3)
                      instead of the default set
      --list          list the built-in models and exit
  -h, --help          this text

MODEL: a built-in name (default: the full set, or the quick set with --quick)
or the path of any GGUF file. The full set holds 1.1B-parameter models: on
two cores it takes a long while.

A side that cannot run a model's architecture (nexttok: "not supported";
llama.cpp: "unknown model architecture") shows "n.a." with the reason in a
footnote under the table, and does not count as a failure.
EOF
}

die() {
    echo "bench-vs-llamacpp: error: $*" >&2
    exit 1
}

# name | arch | make_model type or "llama-quantize:TYPE:SOURCE" | shape
# (n_vocab n_embd n_layer n_head n_head_kv n_ff n_ctx) | threads ("" = -t)
# | make_model options (the shape's head size, tying, window, RoPE, eps)
builtin_models() {
    cat <<'EOF'
gpt2-124m-f32|gpt2|f32|50257 768 12 12 12 3072 1024|
gpt2-124m-q8_0|gpt2|q8_0|50257 768 12 12 12 3072 1024|
llama-1.1b-f16|llama|f16|32000 2048 22 32 4 5632 2048|
llama-1.1b-q8_0|llama|q8_0|32000 2048 22 32 4 5632 2048|
llama-1.1b-q4_0|llama|q4_0|32000 2048 22 32 4 5632 2048|
llama-1.1b-q4_k_m|llama|llama-quantize:Q4_K_M:llama-1.1b-f16|32000 2048 22 32 4 5632 2048|
aidreams260K|fixture|models/aidreams260K.gguf||1
gpt2-small-f32|gpt2|f32|4096 256 4 4 4 1024 1024|
llama-small-f32|llama|f32|4096 256 4 4 2 768 1024|
llama-small-q8_0|llama|q8_0|4096 256 4 4 2 768 1024|
llama-small-q4_k_m|llama|llama-quantize:Q4_K_M:llama-small-f32|4096 256 4 4 2 768 1024|
qwen2.5-0.5b-f16|qwen2|f16|151936 896 24 14 2 4864 32768||--tied --rope-base 1e6 --rms-eps 1e-6
qwen2.5-0.5b-q8_0|qwen2|q8_0|151936 896 24 14 2 4864 32768||--tied --rope-base 1e6 --rms-eps 1e-6
qwen2.5-0.5b-q4_0|qwen2|q4_0|151936 896 24 14 2 4864 32768||--tied --rope-base 1e6 --rms-eps 1e-6
gemma3-1b-f16|gemma3|f16|262144 1152 26 4 1 6912 32768||--head-dim 256 --window 512 --rope-base 1e6 --rms-eps 1e-6
gemma3-1b-q8_0|gemma3|q8_0|262144 1152 26 4 1 6912 32768||--head-dim 256 --window 512 --rope-base 1e6 --rms-eps 1e-6
gemma3-1b-q4_0|gemma3|q4_0|262144 1152 26 4 1 6912 32768||--head-dim 256 --window 512 --rope-base 1e6 --rms-eps 1e-6
qwen2-small-q8_0|qwen2|q8_0|4096 256 4 4 2 768 1024||--tied --rope-base 1e6 --rms-eps 1e-6
gemma3-small-q8_0|gemma3|q8_0|4096 256 6 4 1 768 1024||--head-dim 128 --window 64
EOF
}
default_set=(gpt2-124m-f32 gpt2-124m-q8_0 llama-1.1b-f16 llama-1.1b-q8_0 llama-1.1b-q4_0
             llama-1.1b-q4_k_m aidreams260K)
quick_set=(aidreams260K gpt2-small-f32 llama-small-f32 llama-small-q8_0 llama-small-q4_k_m
           qwen2-small-q8_0 gemma3-small-q8_0)
# Opt-in: until nexttok runs qwen2 and gemma3 these rows are half n.a. (and
# all of gemma3's, this llama.cpp predating it), and writing them takes
# minutes and 5 GB of disk.
archs_set=(qwen2.5-0.5b-f16 qwen2.5-0.5b-q8_0 qwen2.5-0.5b-q4_0 gemma3-1b-f16 gemma3-1b-q8_0
           gemma3-1b-q4_0)

while [[ $# -gt 0 ]]; do
    case $1 in
    -t | --threads) threads=${2:?--threads needs a value}; shift 2 ;;
    -r | --reps) reps=${2:?--reps needs a value}; shift 2 ;;
    -p | --prompts) prompts=${2:?--prompts needs a value}; shift 2 ;;
    -n | --gen) gen=${2:?--gen needs a value}; shift 2 ;;
    -w | --work-dir) work_dir=${2:?--work-dir needs a value}; shift 2 ;;
    -b | --build-dir) build_dir=${2:?--build-dir needs a value}; shift 2 ;;
    -l | --llama-dir) llama_dir=${2:?--llama-dir needs a value}; shift 2 ;;
    -q | --quick) quick=1; shift ;;
    -a | --archs) archs=1; shift ;;
    --list) list_only=1; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) models+=("$1"); shift ;;
    esac
done

if [[ $list_only == 1 ]]; then
    echo "built-in models (name: arch type n_vocab n_embd n_layer n_head n_head_kv n_ff n_ctx [options]):"
    builtin_models | while IFS='|' read -r name arch type shape thr opts; do
        printf '  %-20s %s %s %s%s%s\n' "$name" "$arch" "$type" "$shape" "${opts:+ $opts}" \
            "${thr:+ (threads $thr)}"
    done
    echo "default set: ${default_set[*]}"
    echo "quick set:   ${quick_set[*]}"
    echo "archs set:   ${archs_set[*]}"
    exit 0
fi

[[ $threads =~ ^[1-9][0-9]*$ ]] || die "--threads: '$threads' is not a positive count"
[[ $reps =~ ^[1-9][0-9]*$ ]] || die "--reps: '$reps' is not a positive count"
[[ $gen =~ ^[0-9]+$ ]] || die "--gen: '$gen' is not a token count"
[[ $prompts =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--prompts: '$prompts' is not a list like 64,512"
[[ -n $work_dir ]] || work_dir=$build_dir/bench-models
if [[ ${#models[@]} -eq 0 ]]; then
    if [[ $archs == 1 ]]; then models=("${archs_set[@]}")
    elif [[ $quick == 1 ]]; then models=("${quick_set[@]}")
    else models=("${default_set[@]}"); fi
fi

nexttok=$build_dir/tools/nexttok/nexttok
make_model=$build_dir/tests/make_model
llama_bench=$llama_dir/llama-bench
llama_quantize=$llama_dir/llama-quantize
[[ -x $python ]] || die "$python is missing (Debian's python3 parses the JSON)"
[[ -f $build_dir/build.ninja ]] || die "no meson build in $build_dir (run: meson setup build)"
# Build what the script runs (a no-op when up to date).
ninja -C "$build_dir" tools/nexttok/nexttok tests/make_model >/dev/null ||
    die "cannot build nexttok and make_model in $build_dir (make_model needs the tests: Criterion)"
[[ -x $llama_bench ]] || die "llama-bench not found in $llama_dir"
mkdir -p "$work_dir"
raw=$work_dir/last-run
rm -rf "$raw"
mkdir -p "$raw"

log() { echo "bench-vs-llamacpp: $*" >&2; }

# Print the line of built-in model $1, or nothing.
model_line() {
    builtin_models | awk -F'|' -v n="$1" '$1 == n { print; exit }'
}

# Make sure built-in model $1 exists; print its path.
ensure_model() {
    local name=$1 line arch type shape thr opts
    line=$(model_line "$name")
    [[ -n $line ]] || die "unknown model '$name' (not a file, not in --list)"
    IFS='|' read -r _ arch type shape thr opts <<<"$line"
    if [[ $arch == fixture ]]; then
        [[ -f $fixtures/$type ]] || die "$name: $fixtures/$type is missing"
        echo "$fixtures/$type"
        return
    fi
    local out=$work_dir/$name.gguf
    if [[ ! -f $out ]]; then
        if [[ $type == llama-quantize:* ]]; then
            local qtype src srcpath
            IFS=: read -r _ qtype src <<<"$type"
            srcpath=$(ensure_model "$src")
            [[ -x $llama_quantize ]] || die "llama-quantize not found in $llama_dir"
            log "quantizing $src to $qtype: $out"
            "$llama_quantize" "$srcpath" "$out.tmp" "$qtype" >"$raw/$name.quantize.log" 2>&1 ||
                die "llama-quantize failed on $srcpath: $(tail -n 1 "$raw/$name.quantize.log")"
        else
            log "writing $out ($arch $type, $shape${opts:+ $opts})"
            # shellcheck disable=SC2086
            "$make_model" "$out.tmp" "$arch" "$type" $shape $opts || die "make_model failed for $name"
        fi
        mv "$out.tmp" "$out"
    fi
    echo "$out"
}

row() {
    "$python" - "$@" <<'EOF'
import json, statistics, sys
name, threads, ours_dir, llama_json, prompts, gen, ours_mark, llama_mark = sys.argv[1:9]
prompts = [int(p) for p in prompts.split(",")]
gen = int(gen)

def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

def fmt(x):
    return "%.0f" % x if x >= 100 else "%.1f" % x if x >= 10 else "%.2f" % x

# A side without a number shows its mark ("n.a.[1]", "failed[2]": the
# footnote says why) when the script gave one.
def side(v, mark):
    return fmt(v) if v is not None else mark or "failed"

def cell(ours, theirs):
    if ours is None and theirs is None and not ours_mark and not llama_mark:
        return "n/a"
    o = side(ours, ours_mark)
    t = side(theirs, llama_mark)
    ratio = "%.2f" % (ours / theirs) if ours and theirs else "-"
    return "%s / %s = %s" % (o, t, ratio)

# llama-bench: one entry per test (n_prompt, n_gen); the median of its
# samples_ts matches nexttok's medians (avg_ts is the mean).
lb = {}
doc = load(llama_json)
for t in doc or []:
    lb[(t["n_prompt"], t["n_gen"])] = statistics.median(t["samples_ts"])
cells = []
for p in prompts:
    d = load("%s/ours-p%d.json" % (ours_dir, p))
    skipped = load("%s/skip-p%d" % (ours_dir, p)) is not None
    ours = d["prefill_tokens_per_s"] if d else None
    cells.append("n/a (context)" if skipped else cell(ours, lb.get((p, 0))))
if gen:
    d = load("%s/ours-g%d.json" % (ours_dir, gen))
    cells.append(cell(d["decode_tokens_per_s"] if d else None, lb.get((0, gen))))
print("| %s | %s | %s |" % (name, threads, " | ".join(cells)))
EOF
}

# One 'nexttok bench' run into $dir/ours-$1.json (the other arguments are
# bench's). A refusal as unsupported marks our side n.a. for the row.
ours_bench() {
    local tag=$1 err
    shift
    log "$name: nexttok bench $* --threads $t --reps $reps"
    "$nexttok" bench "$path" --json --threads "$t" --reps "$reps" "$@" \
        >"$dir/ours-$tag.json" 2>"$dir/ours-$tag.err" && return 0
    err=$(head -n 1 "$dir/ours-$tag.err")
    log "$name: nexttok failed: $err"
    if [[ $err == *"not supported"* || $err == *unsupported* ]]; then
        note "nexttok: ${err#nexttok: error: }"
        ours_mark="n.a.$mark"
    else
        note "nexttok failed on $name: $err"
        ours_mark="failed$mark"
        failed=1
    fi
}

# The CPU features the llama.cpp binaries were built for (their README.md)
# that this CPU lacks, space-separated; empty when it has them all.
llama_missing_flags() {
    local f missing=
    local have
    have=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
    for f in avx2 fma f16c avx512f avx512bw avx512vl avx512dq avx512vbmi avx512_vnni avx512_bf16; do
        [[ " ${have#*:} " == *" $f "* ]] || missing+=" $f"
    done
    echo "${missing# }"
}

# llama-bench failed on $path (exit status $1): find out why, as a
# footnote. Killed by SIGILL (status 132), the binary is built for
# instructions this CPU lacks: n.a., since no ratio can be measured on
# this machine. Otherwise it logs nothing without -v, so a short verbose
# rerun (the failure is at load time, or it is a crash, which prints
# either way) fetches the reason. An architecture this llama.cpp predates
# is n.a., anything else a failure.
llama_failed() {
    local rc=$1 why missing
    if [[ $rc == 132 ]]; then
        missing=$(llama_missing_flags)
        why="llama-bench stopped on an illegal instruction (SIGILL): it is built for AVX-512 (see $llama_dir/README.md)"
        [[ -n $missing ]] && why+=" and this CPU lacks: $missing"
        log "$name: $why"
        note "llama.cpp cannot run here: $why"
        llama_mark="n.a.$mark"
        return
    fi
    "$llama_bench" -m "$path" -t 1 -p 0 -n 1 -r 1 -v >/dev/null 2>"$dir/llama-verbose.err" || true
    why=$(grep -o -m1 "unknown model architecture: '[^']*'" "$dir/llama-verbose.err" || true)
    if [[ -n $why ]]; then
        log "$name: llama-bench: $why"
        note "llama.cpp: $why (this build predates it)"
        llama_mark="n.a.$mark"
        return
    fi
    why=$(cat "$dir/llama-verbose.err" "$dir/llama.err" | grep -m1 -iE 'error|abort|assert' ||
        tail -n 1 "$dir/llama.err")
    log "$name: llama-bench failed: $why"
    note "llama.cpp failed on $name: $why"
    llama_mark="failed$mark"
    failed=1
}

header="| model | threads |"
rule="|---|---|"
IFS=, read -r -a plist <<<"$prompts"
for p in "${plist[@]}"; do
    header+=" prefill-$p ours / llama.cpp = ratio |"
    rule+="---|"
done
if [[ $gen -gt 0 ]]; then
    header+=" decode-$gen ours / llama.cpp = ratio |"
    rule+="---|"
fi

# Footnotes, numbered once per distinct text: note TEXT sets $mark to
# "[n]". (Not a $(...) function: the subshell would lose the array.)
notes=()
note() {
    local i
    for i in "${!notes[@]}"; do
        [[ ${notes[$i]} == "$1" ]] && { mark="[$((i + 1))]"; return; }
    done
    notes+=("$1")
    mark="[${#notes[@]}]"
}

# The trained context (from the metadata when nexttok does not know the
# architecture and reports 0) and, on a second line, why nexttok cannot
# run the model ("" when it can), from 'nexttok inspect --json' on stdin.
inspect_py='import json, sys
d = json.load(sys.stdin)
n = d["hparams"]["n_ctx_train"]
key = "%s.context_length" % d.get("architecture", "")
for kv in d.get("metadata", []):
    if not n and kv["key"] == key:
        n = int(kv["value"])
print(n)
print("" if d.get("runnable", True) else d.get("not_runnable_because", "not runnable"))'

failed=0
rows=()
for m in "${models[@]}"; do
    t=$threads
    if [[ -f $m ]]; then
        path=$m
        name=$(basename "$m" .gguf)
    else
        path=$(ensure_model "$m")
        name=$m
        IFS='|' read -r _ _ _ _ thr _ <<<"$(model_line "$m")"
        [[ -n $thr ]] && t=$thr
    fi
    dir=$raw/$name
    mkdir -p "$dir"
    # A side that cannot run the model gets a mark and a footnote, and the
    # other side still runs: a half row still tells something.
    ours_mark=
    llama_mark=
    n_ctx_train=
    why=
    if info=$("$nexttok" inspect "$path" --json 2>"$dir/inspect.err" | "$python" -c "$inspect_py" \
        2>>"$dir/inspect.err"); then
        { read -r n_ctx_train; read -r why || true; } <<<"$info"
        if [[ -n $why ]]; then
            log "$name: nexttok cannot run it: $why"
            note "nexttok: $why"
            ours_mark="n.a.$mark"
        fi
    else
        log "$name: cannot inspect: $(head -n 1 "$dir/inspect.err")"
        note "nexttok cannot load $name: $(head -n 1 "$dir/inspect.err")"
        ours_mark="failed$mark"
        failed=1
    fi

    # Ours first, then llama.cpp, on the same file and threads.
    lb_prompts=()
    for p in "${plist[@]}"; do
        if [[ -n $n_ctx_train && $n_ctx_train -gt 0 && $p -gt $n_ctx_train ]]; then
            log "$name: prompt $p exceeds the trained context ($n_ctx_train): skipped on both sides"
            echo 1 >"$dir/skip-p$p"
            continue
        fi
        lb_prompts+=("$p")
        if [[ -z $ours_mark ]]; then ours_bench "p$p" --prompt "$p" --gen 0; fi
    done
    if [[ $gen -gt 0 && -z $ours_mark ]]; then ours_bench "g$gen" --prompt 0 --gen "$gen"; fi
    lb_p=$(IFS=,; echo "${lb_prompts[*]:-0}")
    log "$name: llama-bench -p $lb_p -n $gen -t $t -r $reps"
    "$llama_bench" -m "$path" -t "$t" -p "$lb_p" -n "$gen" -r "$reps" -o json \
        >"$dir/llama.json" 2>"$dir/llama.err" || llama_failed $?
    rows+=("$(row "$name" "$t" "$dir" "$dir/llama.json" "$prompts" "$gen" "$ours_mark" "$llama_mark")")
done

echo
cpu=$(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
echo "$("$nexttok" --version) vs $llama_bench on ${cpu:-$(uname -m)} ($(nproc) cores), $reps reps;"
echo "tokens/s, medians: ours / llama.cpp = ratio (above 1: nexttok is faster)"
echo
echo "$header"
echo "$rule"
printf '%s\n' "${rows[@]}"
echo
if [[ ${#notes[@]} -gt 0 ]]; then
    for i in "${!notes[@]}"; do echo "[$((i + 1))] $(tr '|' '/' <<<"${notes[$i]}")"; done
    echo
fi
log "raw results in $raw"
exit "$failed"
