#!/usr/bin/env bash
# Cross-compiles the NEON and scalar GEMM micro-kernels with tools/neon_harness.c for AArch64 and
# runs the harness under qemu-aarch64: every NEON result must match the scalar kernel and a
# double-precision reference over odd sizes with edge tiles. Needs gcc-aarch64-linux-gnu and
# qemu-user (tools/setup.sh test installs both). The rankedge binary argument from `make test` is unused.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# The kernels are compiled by the same clang SwiftPM uses for CRankEdgeKernels (they use clang vector
# extensions), targeting AArch64 with gcc-aarch64-linux-gnu's libc, crt files and linker.
CLANG=${AARCH64_CLANG:-$(dirname "$(command -v swift)")/clang}
LD=${AARCH64_LD:-/usr/bin/aarch64-linux-gnu-ld}
QEMU=${QEMU_AARCH64:-qemu-aarch64}
[ -x "$CLANG" ] || { echo "check_neon_qemu: clang not found next to swift ($CLANG)" >&2; exit 1; }
[ -x "$LD" ] || { echo "check_neon_qemu: $LD not found (apt-get install gcc-aarch64-linux-gnu, or run tools/setup.sh test)" >&2; exit 1; }
command -v "$QEMU" >/dev/null || { echo "check_neon_qemu: $QEMU not found (apt-get install qemu-user, or run tools/setup.sh test)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
kernels="$root/Sources/CRankEdgeKernels"
# -static: qemu then needs no AArch64 sysroot. -Werror keeps the kernels warning-free on AArch64.
"$CLANG" --target=aarch64-linux-gnu --gcc-toolchain=/usr --ld-path="$LD" \
    -std=c11 -O2 -Wall -Wextra -Werror -static -I"$kernels/include" -I"$kernels" \
    "$root/tools/neon_harness.c" "$kernels"/*.c -lm -o "$work/neon_harness"
"$QEMU" "$work/neon_harness" neon
