#!/bin/bash
# Builds tools/bench_unary.c with the C kernels (the Swift toolchain's clang, -O2) and runs it:
# re_unary per ISA this CPU runs against a libm loop, ns per value and worst error.
# Usage: tools/bench_unary.sh
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
clang=$(dirname "$(command -v swift)")/clang
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
"$clang" -O2 -I"$root/Sources/CRankEdgeKernels/include" "$root/tools/bench_unary.c" "$root"/Sources/CRankEdgeKernels/*.c -lm -o "$work/bench_unary"
"$work/bench_unary"
