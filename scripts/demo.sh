#!/usr/bin/env bash
# Build libnexttok and ask a model for its next tokens and a short greedy
# continuation: by default the model shipped in models/ (a small Llama the
# project trained on Jane Austen, models/README.md), so a fresh clone needs
# nothing else. Run from anywhere inside a checkout:
#   ./scripts/demo.sh [MODEL.gguf] [PROMPT]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
model="${1:-$root/models/austen-2.6m.gguf}"
prompt="${2:-It is a truth universally acknowledged}"

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
