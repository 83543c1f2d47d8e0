#!/usr/bin/env bash
# The shared object exports only the public API: every dynamic symbol it
# defines starts with nexttok_, each is declared in include/nexttok.h, and
# every function the header declares is exported. The soname is versioned.
set -euo pipefail
lib=$1
header=$2
fail=0
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBR]$/ {print $3}' | sort -u)
[[ -n $exported ]] || { echo "no exported symbols found in $lib"; exit 1; }
declared=$(grep -oE '\bnexttok_[a-z0-9_]+\(' "$header" | tr -d '(' | sort -u)
for s in $exported; do
  if [[ $s != nexttok_* ]]; then echo "exported symbol without the prefix: $s"; fail=1; continue; fi
  grep -qx "$s" <<<"$declared" || { echo "exported but not declared in the header: $s"; fail=1; }
done
for s in $declared; do
  grep -qx "$s" <<<"$exported" || { echo "declared in the header but not exported: $s"; fail=1; }
done
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
[[ $soname =~ ^libnexttok\.so\.[0-9]+$ ]] || { echo "soname '$soname' is not versioned"; fail=1; }
n_exp=$(wc -w <<<"$exported"); n_decl=$(wc -w <<<"$declared")
echo "exports: $n_exp symbols, header declares $n_decl functions, soname $soname"
[[ $fail == 0 ]] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $fail
