#!/bin/sh
# Cross-build the library for aarch64 and run the kernel tests under
# qemu-user, so the NEON kernels are tested on an x86 machine.
#
# Criterion's arm64 package cannot be installed beside the amd64 one (it is
# not Multi-Arch: same; installing it removes the native package), so the
# tests are built standalone with tests/support/mini_test.c in its place.
#
# Usage: tests/run-neon.sh [--install]   (--install: apt-get what is missing)
set -eu
cd "$(dirname "$0")/.."

need_pkgs=""
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || need_pkgs="$need_pkgs gcc-aarch64-linux-gnu"
command -v qemu-aarch64 >/dev/null 2>&1 || need_pkgs="$need_pkgs qemu-user"
for p in libmimalloc-dev libsodium-dev libpcre2-dev libjansson-dev; do
    dpkg -s "$p:arm64" >/dev/null 2>&1 || need_pkgs="$need_pkgs $p:arm64"
done
if [ -n "$need_pkgs" ]; then
    if [ "${1:-}" != "--install" ]; then
        echo "missing:$need_pkgs (rerun with --install to apt-get them)" >&2
        exit 77
    fi
    # A machine that cannot get the cross tools says so and skips (77);
    # only a test that runs and fails is a failure.
    dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
    if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need_pkgs; }; then
        echo "cannot install:$need_pkgs; NEON tests skipped" >&2
        exit 77
    fi
fi

build=build-aarch64
[ -f "$build/build.ninja" ] || meson setup "$build" --cross-file cross/aarch64-linux-gnu.txt
meson compile -C "$build"

cc=aarch64-linux-gnu-gcc
out="$build/standalone"
mkdir -p "$out"
cflags="-std=c11 -O2 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DNT_STANDALONE_TEST -Iinclude -Ilib -Itests"
libs="$build/lib/libnexttok_internal.a -lmimalloc -lsodium -lpcre2-8 -lm -lpthread"
$cc $cflags -o "$out/test_kernels" tests/test_kernels.c tests/test_convert.c tests/test_ops.c tests/test_softmax.c tests/test_portable_dots.c tests/test_act.c tests/test_rope_table.c \
    tests/support/guarded.c tests/support/mini_test.c $libs
$cc $cflags -o "$out/test_quant" tests/test_quant.c tests/support/guarded.c tests/support/mini_test.c $libs
$cc $cflags -o "$out/test_qdot_k" tests/test_qdot_k.c tests/support/guarded.c tests/support/mini_test.c $libs -lm
$cc $cflags -o "$out/test_qdot" tests/test_qdot.c tests/support/guarded.c tests/support/mini_test.c $libs -lm
# fast and exact mode end to end on the quantized fixtures, with NEON kernels
$cc $cflags -o "$out/test_conformance_quant" tests/test_conformance_quant.c tests/support/fixtures.c \
    tests/support/logits_file.c tests/support/mini_test.c $libs -lm
# every architecture in the default mode, fed in chunks, and quantized
$cc $cflags -o "$out/test_conformance_arch" tests/test_conformance_arch.c tests/support/fixtures.c \
    tests/support/logits_file.c tests/support/gguf_copy.c tests/support/gguf_writer.c \
    tests/support/tiny_model.c tests/support/quantize.c tests/support/mini_test.c $libs -lm
# prediction as compression: portable sessions and zip files, bitwise as on x86-64
$cc $cflags -o "$out/test_zip" tests/test_zip.c tests/support/fixtures.c tests/support/mini_test.c $libs -lm

# qemu-user 7.2 (Debian 12) hangs in a forked child and in a new thread, so
# each test gets its own process, the pool tests (threads) are not run, and
# the matmul test checks the one-thread pool only.
status=0
export NT_TEST_NO_THREADS=1
export NEXTTOK_FIXTURES="${NEXTTOK_FIXTURES:-$PWD/../shared/fixtures}"
for t in test_kernels test_quant test_qdot_k test_qdot test_conformance_quant; do
    echo "== $t (aarch64 under qemu)"
    for name in $(qemu-aarch64 -L /usr/aarch64-linux-gnu "$out/$t" --list); do
        qemu-aarch64 -L /usr/aarch64-linux-gnu "$out/$t" "$name" || { echo "[FAIL] $name"; status=1; }
    done
done
echo "== test_conformance_arch: default mode, feeds, fast-mode KL (aarch64 under qemu)"
for name in $(qemu-aarch64 -L /usr/aarch64-linux-gnu "$out/test_conformance_arch" --list | grep -E '^arch_(default|feeds|kl)'); do
    qemu-aarch64 -L /usr/aarch64-linux-gnu "$out/test_conformance_arch" "$name" || { echo "[FAIL] $name"; status=1; }
done
# the committed digests of files zipped on x86-64: the same bytes here
echo "== test_zip: portable math, sessions and zip files as on x86-64 (aarch64 under qemu)"
for name in $(qemu-aarch64 -L /usr/aarch64-linux-gnu "$out/test_zip" --list | grep -E '^zip::(range|frequencies|portable|same_file|round_trip_small)'); do
    qemu-aarch64 -L /usr/aarch64-linux-gnu "$out/test_zip" "$name" || { echo "[FAIL] $name"; status=1; }
done
# the integer dots again without their dot-product variant (qemu's CPU has it)
echo "== test_qdot_k, NEXTTOK_NO_VNNI=1 (aarch64 under qemu)"
for name in $(qemu-aarch64 -L /usr/aarch64-linux-gnu "$out/test_qdot_k" --list); do
    NEXTTOK_NO_VNNI=1 qemu-aarch64 -L /usr/aarch64-linux-gnu "$out/test_qdot_k" "$name" || { echo "[FAIL] $name"; status=1; }
done
exit $status
