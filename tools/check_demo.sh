#!/bin/bash
# `rankedge demo` on a reduced setting (2 rounds of 3 runs, no ONNX Runtime), so the demo cannot rot:
# the shipped ONNX model imports, matches the accuracy PyTorch stored beside it, compresses with
# latency-snapped ranks, and both models run. Usage: tools/check_demo.sh PATH_TO_RANKEDGE
set -u
bin=$1
cd "$(dirname "$0")/.."
out=$(mktemp); trap 'rm -f "$out"' EXIT
failed=0
ok() { echo "  ok    $1"; }
bad() { echo "  FAIL  $1"; failed=1; }
if ! "$bin" demo --rounds 2 --runs 3 --no-peer >"$out" 2>/dev/null; then bad "demo exited with an error"; sed 's/^/        /' "$out"; exit 1; fi
for section in "== 1. import" "== 2. compress" "== 3. both models" "== 4. the same with your model"; do
    grep -q "^$section" "$out" && ok "section '$section'" || bad "no section '$section'"
done
python3 - "$out" <<'PY' || failed=1
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"accuracy on (\d+) shipped images: ([\d.]+) % \(RankEdge\), ([\d.]+) % \(PyTorch", text)
if not m:
    print("  FAIL  no RankEdge / PyTorch accuracy line"); sys.exit(1)
ours, theirs = float(m.group(2)), float(m.group(3))
# The same images through the same weights: at most one image may flip on float rounding.
if abs(ours - theirs) > 100 / int(m.group(1)) + 1e-9:
    print(f"  FAIL  RankEdge {ours} % vs PyTorch {theirs} % on the shipped images"); sys.exit(1)
print(f"  ok    imported model: {ours} % on the shipped images, PyTorch {theirs} %")
kept = re.findall(r"^\S+\s+conv\S*\s+\S+\s+[\d/]+\s+yes\s", text, re.M)
if not kept:
    print("  FAIL  the compression kept no decomposed layer"); sys.exit(1)
print(f"  ok    {len(kept)} layers decomposed and kept")
rows = re.findall(r"^(original|compressed)\s+([\d,]+)\s+([\d,]+)\s+([\d.]+) %\s+([\d.]+) ms", text, re.M)
if len(rows) != 2:
    print("  FAIL  the comparison table lacks a model"); sys.exit(1)
(_, p0, m0, _, _), (_, p1, m1, _, _) = rows
if not int(p1.replace(",", "")) < int(p0.replace(",", "")) or not int(m1.replace(",", "")) < int(m0.replace(",", "")):
    print("  FAIL  the compressed model is not smaller"); sys.exit(1)
if not re.search(r"compressed runs [\d.]+x (faster|slower) than the original", text):
    print("  FAIL  no speed line"); sys.exit(1)
print("  ok    both models run; params and MACs fall; speed line printed")
PY
"$bin" demo --model nope.onnx >/dev/null 2>"$out" && bad "a missing model exits 0" || {
    [ "$(wc -l < "$out")" -eq 1 ] && grep -q "^rankedge: error: " "$out" && ok "missing model: $(cat "$out")" || bad "missing model: $(cat "$out")"; }
exit $failed
