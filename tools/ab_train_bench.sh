#!/bin/bash
# A/B training throughput of two or more rankedge builds, alternating them round by round so the
# host's drift hits each build alike (docs/BENCHMARKS.md, trainer section).
#   tools/ab_train_bench.sh ROUNDS "MODEL ARGS" BIN_A BIN_B ...
#   T=2 S=8 tools/ab_train_bench.sh 3 "--model minivgg --kernel 5" /tmp/old/rankedge .build/release/rankedge
# Environment: T threads (default 1), S measured seconds per run (default 5).
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 ROUNDS \"MODEL ARGS\" BIN..." >&2
    exit 1
fi
rounds=$1; shift; model=$1; shift
for b in "$@"; do
    [ -x "$b" ] || { echo "$0: $b is not an executable" >&2; exit 1; }
done
for r in $(seq "$rounds"); do
    line="r$r"
    for b in "$@"; do
        # shellcheck disable=SC2086  # MODEL ARGS is a list of flags
        ips=$("$b" train-bench $model --threads "${T:-1}" --seconds "${S:-5}" --warmup 2 --json |
              python3 -c 'import json,sys; print(round(json.load(sys.stdin)["images_per_second"]))')
        line="$line  $b:$ips"
    done
    echo "$line"
done
