#!/usr/bin/env bash
# Builds tools/bench_conv_kernels.c against Sources/CRankEdgeKernels with the clang next to swift
# (-O2, as SwiftPM's release build) and times the layers quoted in docs/BENCHMARKS.md, or the one
# given: tools/bench_conv_kernels.sh [rank H C S K L ROWS BLOCK GROUP | narrow H C S K | list | kernel NAME H C S K [STRIDE]].
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
CLANG=${CLANG:-$(dirname "$(command -v swift)")/clang}
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
k="$root/Sources/CRankEdgeKernels"
"$CLANG" -std=c11 -O2 -I"$k/include" -I"$k" "$root/tools/bench_conv_kernels.c" "$k"/*.c -lm -o "$work/bench"
if [ $# -gt 0 ]; then "$work/bench" "$@"; exit; fi
# The tilings SeparableRankConvStep.Tiling picks for these layers at one thread.
"$work/bench" rank 32 32 32 3 1 32 8 4
"$work/bench" rank 32 32 32 7 1 32 8 2
"$work/bench" rank 32 32 32 7 3 32 8 1
"$work/bench" rank 8 128 128 7 3 8 32 1
# The Tucker cores of 2x LRD ResNet-56.
"$work/bench" narrow 32 9 9 3
"$work/bench" narrow 16 19 19 3
"$work/bench" narrow 8 38 38 3
