#!/usr/bin/env bash
# Build libnexttok and ask the trained demo model for its next tokens and a
# short greedy continuation. Run from anywhere inside a checkout:
#   ./scripts/demo.sh [MODEL.gguf] [PROMPT]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
model="${1:-$root/../shared/fixtures/models/aidreams260K.gguf}"
prompt="${2:-Once upon a time}"

if [[ ! -f "$model" ]]; then
    echo "demo: model $model not found; pass a GGUF file: ./scripts/demo.sh MODEL.gguf" >&2
    exit 1
fi
cd "$root"
[[ -f build/build.ninja ]] || meson setup build >/dev/null
meson compile -C build >/dev/null

cli=build/tools/nexttok/nexttok
echo "\$ nexttok next $(basename "$model") --text \"$prompt\" --top 5"
"$cli" next "$model" --text "$prompt" --top 5
echo
echo "\$ nexttok generate $(basename "$model") --text \"$prompt\" -n 40 --temp 0"
"$cli" generate "$model" --text "$prompt" -n 40 --temp 0
