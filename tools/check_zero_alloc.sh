#!/usr/bin/env bash
# Zero heap allocations per inference after warm-up: runs `rankedge bench` under a malloc-counting
# LD_PRELOAD shim (tools/malloc_count.c) on zoo models covering every kernel, at 1 and 2 threads,
# and fails unless allocations_per_inference is 0. The long warm-up lets every pool worker take part
# at least once before counting: a worker's first run of a step allocates lazily (seen at 10 warm-ups
# under load, 2 allocations in 30 timed runs; none in 8 runs at 60).
# Usage: tools/check_zero_alloc.sh PATH_TO_RANKEDGE
set -euo pipefail
bin=$(realpath "${1:?usage: check_zero_alloc.sh PATH_TO_RANKEDGE}")
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -shared -fPIC -o "$work/malloc_count.so" tools/malloc_count.c
fail=0
# A spec's "@W" suffix is the --winograd policy (default: measure), so the Winograd steps are checked
# whatever the timing picks.
for spec in resnet20:dense resnet20:dense@always resnet20:dense@large resnet20:lrd resnet20:branched:2 minivgg-k5:rank:2 minivgg-k3:dense; do
    winograd=measure
    case $spec in *@*) winograd=${spec#*@}; spec=${spec%@*} ;; esac
    name=${spec%%:*}; variant=${spec#*:}
    model="$work/$name-${variant//:/}.rkg"
    [ -f "$model" ] || "$bin" zoo build "$name" --variant "$variant" -o "$model" >/dev/null
    for threads in 1 2; do
        per=$(LD_PRELOAD="$work/malloc_count.so" "$bin" bench "$model" --threads "$threads" --iterations 30 --warmup 60 --json \
              --winograd "$winograd" \
              | python3 -c 'import json,sys; v=json.load(sys.stdin)["allocations_per_inference"]; print("none" if v is None else v)')
        if [ "$per" = "0.0" ] || [ "$per" = "0" ]; then
            echo "  ok    $name $variant (winograd $winograd), $threads thread(s): 0 allocations per inference"
        else
            echo "  FAIL  $name $variant (winograd $winograd), $threads thread(s): $per allocations per inference"
            fail=1
        fi
    done
done
exit $fail
