#!/usr/bin/env bash
# Bits per byte of a text under the model (nexttok perplexity) and under
# the usual compressors at their strongest settings, as a Markdown table:
#   tools/corpus/compare.sh MODEL.gguf TEXT [NEXTTOK]
# (Debian: apt-get install gzip bzip2 xz-utils zstd)
set -euo pipefail
model=${1:?usage: compare.sh MODEL.gguf TEXT [NEXTTOK]}
text=${2:?usage: compare.sh MODEL.gguf TEXT [NEXTTOK]}
cli=${3:-build/tools/nexttok/nexttok}
bytes=$(stat -c %s "$text")
bpb() { awk -v s="$1" -v n="$bytes" 'BEGIN { printf "%.3f", s * 8 / n }'; }

echo "| method | size (bytes) | bits per byte |"
echo "|---|---:|---:|"
echo "| original | $bytes | 8.000 |"
for c in "gzip -9" "bzip2 -9" "xz -9e" "zstd --ultra -22"; do
    size=$($c -c <"$text" | wc -c)
    echo "| \`$c\` | $size | $(bpb "$size") |"
done
json=$("$cli" perplexity "$model" --text-file "$text" --json)
model_bpb=$(printf '%s' "$json" | sed -n 's/.*"bits_per_byte": \([0-9.eE+-]*\).*/\1/p')
model_size=$(awk -v b="$model_bpb" -v n="$bytes" 'BEGIN { printf "%.0f", b * n / 8 }')
echo "| \`nexttok perplexity\` ($(basename "$model")) | $model_size (ideal code) | $(awk -v b="$model_bpb" 'BEGIN { printf "%.3f", b }') |"
echo
echo "nexttok perplexity --json: $json"
