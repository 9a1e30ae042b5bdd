#!/usr/bin/env bash
# tools/plot_layer_utilization.py on two generated `rankedge bench --per-layer --json` reports: the
# table's stages and GFLOP/s, the SVG's bars (one per network and stage with MACs), and bad input
# ending in one stderr line, exit status 1 and no SVG.
# Usage: tools/check_plot_layer_utilization.sh [path/to/rankedge]  (the binary is not needed)
set -euo pipefail
script="$(cd "$(dirname "$0")" && pwd)/plot_layer_utilization.py"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
passed=0
fail() { echo "check_plot_layer_utilization: $*" >&2; exit 1; }
check() {  # check NAME ACTUAL EXPECTED
    [ "$2" == "$3" ] || fail "$1: expected [$3], got [$2]"
    passed=$((passed + 1))
}

# Dense: stem 1 ms for 10 M MACs (20 GFLOP/s); layer1.0 and two layer1.x steps; a pool; fc.
# Low-rank: the same stages, half the MACs, and a stage of its own (layer2.0).
python3 - "$tmp" <<'PY'
import json, sys
def layer(name, ms, macs): return {"name": name, "op": "x", "output_shape": [1], "macs": macs, "ms": ms, "share": 0}
dense = [layer("conv1", 1.0, 10_000_000), layer("maxpool", 0.1, 0), layer("layer1.0.conv1", 2.0, 40_000_000),
         layer("layer1.1.conv1", 1.0, 30_000_000), layer("layer1.2.conv2", 1.0, 30_000_000), layer("fc", 0.5, 1_000_000)]
lrd = [layer("conv1", 1.0, 10_000_000), layer("maxpool", 0.1, 0), layer("layer1.0.conv1.svd_v", 1.0, 10_000_000),
       layer("layer1.0.conv1.svd_u", 1.0, 10_000_000), layer("layer1.1.conv1.svd_v", 1.5, 30_000_000),
       layer("layer2.0.conv2.tucker_core", 0.5, 5_000_000), layer("fc", 0.25, 500_000)]
for name, layers in [("dense", dense), ("lrd", lrd)]:
    json.dump({"name": "net-" + name, "p50_ms": 1, "layers": layers}, open(f"{sys.argv[1]}/{name}.json", "w"))
json.dump({"name": "x", "p50_ms": 1}, open(f"{sys.argv[1]}/no-layers.json", "w"))
json.dump({"layers": [{"name": "a", "ms": "fast"}]}, open(f"{sys.argv[1]}/bad-layer.json", "w"))
open(f"{sys.argv[1]}/garbage.json", "w").write("{not json")
PY

python3 "$script" --json "$tmp/dense.json" --json "$tmp/lrd.json" --label dense --label LRD --title T --out "$tmp/u.svg" \
    > "$tmp/table" 2> "$tmp/err"
check "table: stages in first-run order, then the total" \
    "$(cut -d'|' -f2 "$tmp/table" | tr -d ' ' | tail -n +3 | tr '\n' ' ')" "conv1 maxpool layer1.0 layer1.x fc layer2.0 total "
check "table: dense layer1.x is 2 ms at 60 GFLOP/s, LRD's 1.5 ms at 40" \
    "$(grep '| layer1.x |' "$tmp/table")" "| layer1.x | 2.00 | 60.0 | 1.50 | 40.0 |"
check "table: a stage one network lacks" "$(grep '| layer2.0 |' "$tmp/table")" "| layer2.0 | 0.00 | — | 0.50 | 20.0 |"
check "table: totals" "$(grep '| total |' "$tmp/table")" "| total | 5.60 | 39.6 | 5.35 | 24.5 |"
python3 "$script" --json "$tmp/dense.json" --json "$tmp/lrd.json" > "$tmp/table2"
check "labels default to the model names" "$(head -1 "$tmp/table2")" \
    "| stage | net-dense ms | net-dense GFLOP/s | net-lrd ms | net-lrd GFLOP/s |"
check "svg: one bar per network and stage with MACs, grouped by stage" "$(python3 -c '
import sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
bars = [r for r in root.iter(ns + "rect") if r.get("class") == "bar"]
groups = [t.text for t in root.iter(ns + "text") if t.get("font-weight") == "bold" and t.text != "T"]
print(len(bars), sorted({b.get("data-form") for b in bars}), " ".join(groups))
' "$tmp/u.svg")" "9 ['dense', 'tucker2'] conv1 1.0 1.x fc 2.0"

error_case() {  # error_case NAME ARGS...: exit 1, one stderr line naming the problem, no SVG written
    local name=$1 status=0
    shift
    python3 "$script" "$@" --out "$tmp/none.svg" > /dev/null 2> "$tmp/err" || status=$?
    check "$name: exit status, one line, nothing written" \
        "$status $(wc -l < "$tmp/err" | tr -d ' ') $([ -e "$tmp/none.svg" ] && echo written || echo none)" "1 1 none"
}
error_case "missing file" --json "$tmp/missing.json" --json "$tmp/lrd.json"
error_case "not JSON" --json "$tmp/garbage.json" --json "$tmp/lrd.json"
error_case "no layers (bench without --per-layer)" --json "$tmp/no-layers.json" --json "$tmp/lrd.json"
error_case "a layer without numbers" --json "$tmp/bad-layer.json" --json "$tmp/lrd.json"
status=0
python3 "$script" --json "$tmp/dense.json" > /dev/null 2> "$tmp/err" || status=$?
check "one report: usage error" "$status $(grep -c 'exactly two' "$tmp/err")" "2 1"

echo "plot_layer_utilization: $passed checks passed"
