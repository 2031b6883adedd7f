#!/usr/bin/env sh
# Builds the engine's C kernels (src/main/c) into the jar's resources, one library per architecture:
#   OUT/linux-x86_64/libq4kernels.so   (AVX-512 VNNI, AVX-VNNI, AVX2 variants; Q4 and Q8 products)
#   OUT/linux-aarch64/libq4kernels.so  (NEON with and without the dot product)
# each with the host's C compiler where it is that architecture, else with a cross-compiler when there is one
# (Debian: gcc-aarch64-linux-gnu, gcc-x86-64-linux-gnu). Also builds the kernels' test harness for each into
# TESTS/ (KernelsHarnessTest runs it, natively or under qemu-aarch64). A library without a compiler is skipped
# with a message: on that architecture the engine then runs its Java kernels (it logs which it uses).
set -eu
out="$1"
tests="${2:-$out/../../kernels-test}"
src="$(cd "$(dirname "$0")/../src/main/c" && pwd)"
host="$(uname -m)"

# -ffp-contract=off: the activations' 8-bit rounding must match the Java code bit for bit, and every variant must
# compute the same operations (no fused multiply-adds the source did not ask for).
flags="-O3 -fPIC -ffp-contract=off -Wall"

build() { # ARCH CC SOURCE [-static: the harness runs under qemu without the target's libraries]
    arch="$1"; cc="$2"; file="$3"; static="${4:-}"
    if ! command -v "$cc" >/dev/null 2>&1; then
        echo "build-kernels: no C compiler for $arch ($cc): the jar carries no $arch kernels"
        return 0
    fi
    mkdir -p "$out/linux-$arch" "$tests"
    # shellcheck disable=SC2086
    "$cc" $flags -shared -o "$out/linux-$arch/libq4kernels.so" "$src/kernels_common.c" "$src/$file" -lm
    # shellcheck disable=SC2086
    "$cc" $flags $static -o "$tests/kernels_test-$arch" "$src/kernels_test.c" "$src/kernels_common.c" "$src/$file" -lm
    echo "build-kernels: linux-$arch kernels built with $cc"
}

if [ "$(uname -s)" != Linux ]; then
    echo "build-kernels: not Linux, skipping the native kernels"; exit 0
fi
if [ "$host" = x86_64 ]; then x86cc="${CC:-cc}"; else x86cc="${CC_X86_64:-x86_64-linux-gnu-gcc}"; fi
if [ "$host" = aarch64 ]; then armcc="${CC:-cc}"; else armcc="${CC_AARCH64:-aarch64-linux-gnu-gcc}"; fi
build x86_64 "$x86cc" kernels_x86.c
build aarch64 "$armcc" kernels_arm64.c "$([ "$host" = aarch64 ] || echo -static)"
