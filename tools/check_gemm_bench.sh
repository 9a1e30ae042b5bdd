#!/usr/bin/env bash
# End-to-end check of `rankedge gemm-bench`: a tiny run must print the documented JSON rows
# (docs/CLI.md), with both libraries agreeing, and bad flags must fail with one line on stderr.
# Usage: tools/check_gemm_bench.sh path/to/rankedge
set -euo pipefail
bin=${1:?usage: check_gemm_bench.sh path/to/rankedge}
out="$(mktemp)"; err="$(mktemp)"
trap 'rm -f "$out" "$err"' EXIT

"$bin" gemm-bench --json --shape 33x17x65 --shape 64x64x64 --repeats 1 --min-sample-ms 1 --threads 2 > "$out"
python3 - "$out" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
assert [(r["m"], r["n"], r["k"]) for r in rows] == [(33, 17, 65), (64, 64, 64)], rows
for r in rows:
    for field in ("threads", "rankedge_gflops", "openblas_gflops", "ratio", "rankedge_prepacked_gflops", "isa", "max_abs_diff"):
        assert field in r, (field, r)
    assert r["threads"] == 2 and r["rankedge_gflops"] > 0 and r["openblas_gflops"] > 0, r
    assert abs(r["ratio"] - r["rankedge_gflops"] / r["openblas_gflops"]) < 0.01, r
    assert r["max_abs_diff"] < 1e-3, r
print(f"gemm-bench: {len(rows)} JSON rows ok")
PY
"$bin" gemm-bench --cpu-time --shape 20x30x40 --repeats 1 --min-sample-ms 1 > /dev/null

for bad in "--shape 12x3" "--threads 0" "--isa sse9" "--repeats 0" "--threads 2 --cpu-time"; do
    # shellcheck disable=SC2086
    if "$bin" gemm-bench $bad > /dev/null 2> "$err"; then
        echo "check_gemm_bench: 'gemm-bench $bad' should have failed" >&2; exit 1
    fi
    [ "$(wc -l < "$err")" -eq 1 ] || { echo "check_gemm_bench: 'gemm-bench $bad' must print one line on stderr" >&2; cat "$err" >&2; exit 1; }
done
echo "gemm-bench: bad flags rejected with one-line errors"
