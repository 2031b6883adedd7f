#!/usr/bin/env sh
# Builds the engine's C kernels (src/main/c) into the jar's resources. Without a C compiler, or off x86-64 Linux,
# the build goes on and the engine runs its Java kernels (it logs which it uses).
set -eu
out="$1"
src="$(dirname "$0")/../src/main/c/q4kernels.c"
if [ "$(uname -s)" != Linux ] || [ "$(uname -m)" != x86_64 ]; then
  echo "build-kernels: not x86-64 Linux, skipping the native kernels"; exit 0
fi
cc="${CC:-cc}"
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "build-kernels: no C compiler ($cc), skipping the native kernels: the engine will use its Java kernels"; exit 0
fi
mkdir -p "$out"
# -ffp-contract=off: the activations' 8-bit rounding must match the Java code bit for bit.
"$cc" -O3 -fPIC -shared -ffp-contract=off -o "$out/libq4kernels.so" "$src" -lm
