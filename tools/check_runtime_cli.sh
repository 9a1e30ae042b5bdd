#!/usr/bin/env bash
# The runtime commands end to end: compile / run / bench on zoo models, a compiled file giving the
# same outputs as its source, the fast runtime agreeing with the reference executor, bench JSON
# fields, and bad input (missing file, wrong input size, a target this CPU lacks) failing with one
# line on stderr and exit status 1.
# Usage: tools/check_runtime_cli.sh PATH_TO_RANKEDGE
set -euo pipefail
bin=$(realpath "${1:?usage: check_runtime_cli.sh PATH_TO_RANKEDGE}")
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
ok() { echo "  ok    $*"; }
bad() { echo "  FAIL  $*"; fail=1; }

"$bin" zoo build resnet20 --variant lrd -o "$work/r20.rkg" >/dev/null
"$bin" zoo build minivgg-k5 --variant rank:2 -o "$work/vgg.rkg" >/dev/null
python3 -c "import numpy as np; np.random.default_rng(1).uniform(-1,1,(2,32,32,3)).astype('<f4').tofile('$work/x.f32')"

for m in r20 vgg; do
  # Winograd wherever it applies, with 2×2 tiles (always) and 4×4 ones (large).
  for wino in always large; do
    # Forms pinned (not timed), so both processes build the same steps.
    "$bin" compile "$work/$m.rkg" -o "$work/$m.c.rkg" --rank-form separable --winograd $wino >/dev/null
    "$bin" run "$work/$m.rkg" --raw-input "$work/x.f32" --output "$work/$m.src.f32" --rank-form separable --winograd $wino >/dev/null
    "$bin" run "$work/$m.c.rkg" --raw-input "$work/x.f32" --output "$work/$m.cmp.f32" >/dev/null
    "$bin" run "$work/$m.rkg" --raw-input "$work/x.f32" --output "$work/$m.ref.f32" --reference >/dev/null
    if cmp -s "$work/$m.src.f32" "$work/$m.cmp.f32"; then ok "$m ($wino): compiled file and source give identical outputs"; else bad "$m ($wino): compiled file differs from source"; fi
    python3 - "$work/$m.src.f32" "$work/$m.ref.f32" "$m ($wino)" <<'PY' || fail=1
import sys, numpy as np
a, b = np.fromfile(sys.argv[1], "<f4"), np.fromfile(sys.argv[2], "<f4")
err, scale = float(np.abs(a - b).max()), float(np.abs(b).max())
if a.shape == b.shape and err <= 1e-4 * scale:
    print(f"  ok    {sys.argv[3]}: fast runtime vs reference executor, max error {err / scale:.2e} x scale")
else:
    print(f"  FAIL  {sys.argv[3]}: fast runtime vs reference executor, max error {err} (scale {scale})"); sys.exit(1)
PY
  done
done

"$bin" bench "$work/r20.c.rkg" --iterations 5 --warmup 1 --per-layer --json > "$work/bench.json"
python3 - "$work/bench.json" <<'PY' || fail=1
import json, sys
d = json.load(open(sys.argv[1]))
need = ["p50_ms", "p90_ms", "p99_ms", "mean_ms", "min_ms", "macs", "gflops", "peak_arena_bytes",
        "arena_lower_bound_bytes", "load_ms", "compile_ms", "layers"]
missing = [k for k in need if k not in d]
layer_keys = {"name", "op", "output_shape", "macs", "ms", "share"}
if missing or not d["layers"] or not layer_keys <= set(d["layers"][0]):
    print(f"  FAIL  bench --json lacks {missing or 'layer fields'}"); sys.exit(1)
print(f"  ok    bench --json: p50 {d['p50_ms']:.3f} ms, {len(d['layers'])} layers, arena {d['peak_arena_bytes']} B (bound {d['arena_lower_bound_bytes']} B)")
PY

expect_error() {
    local what=$1; shift
    local err
    if err=$("$bin" "$@" 2>&1 >/dev/null); then bad "$what: exit status 0"; return; fi
    if [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] && [[ $err == "rankedge: error: "* ]]; then ok "$what: $err"; else bad "$what: $err"; fi
}
expect_error "missing model" run "$work/nope.rkg" --raw-input "$work/x.f32"

# --memory-budget: Winograd convs give way until the prepared weights fit; the compiled file holds
# the graph's weights as shapes only, so tools that compute with the values refuse it by name.
"$bin" compile "$work/r20.rkg" -o "$work/r20.b.rkg" --rank-form separable --winograd large --memory-budget 1.2x > "$work/budget.txt"
"$bin" run "$work/r20.rkg" --raw-input "$work/x.f32" --output "$work/r20.bsrc.f32" --rank-form separable --winograd large --memory-budget 1.2x >/dev/null
"$bin" run "$work/r20.b.rkg" --raw-input "$work/x.f32" --output "$work/r20.bcmp.f32" >/dev/null
if grep -q "memory budget .* gave up\|conv.* gave up the fastest form" "$work/budget.txt" && cmp -s "$work/r20.bsrc.f32" "$work/r20.bcmp.f32"; then
    ok "compile --memory-budget 1.2x: $(grep -m1 "memory budget" "$work/budget.txt" | sed 's/^ *//'); same outputs as the graph file under the same budget"
else bad "compile --memory-budget 1.2x: $(cat "$work/budget.txt")"; fi
"$bin" bench "$work/r20.b.rkg" --iterations 3 --warmup 1 --json > "$work/bbench.json"
python3 - "$work/bbench.json" "$work/r20.b.rkg" "$work/r20.rkg" <<'PY' || fail=1
import json, os, sys
d = json.load(open(sys.argv[1]))
resident, graph = d["resident_weight_bytes"], d["graph_weight_bytes"]
size, source = os.path.getsize(sys.argv[2]), os.path.getsize(sys.argv[3])
if resident <= 1.2 * graph and resident == d["prepared_weight_bytes"] and size < 1.2 * source:
    print(f"  ok    budget 1.2x: resident weights {resident} B = {resident / graph:.2f}x the graph's, compiled file {size / source:.2f}x the graph file")
else:
    print(f"  FAIL  budget 1.2x: resident {resident} B, graph {graph} B, file {size} vs {source} B"); sys.exit(1)
PY
expect_error "bad memory budget" compile "$work/r20.rkg" -o "$work/never.rkg" --memory-budget lots
expect_error "negative memory budget" compile "$work/r20.rkg" -o "$work/never.rkg" --memory-budget -3
expect_error "export of a compiled file" export "$work/r20.b.rkg" -o "$work/never.onnx"
expect_error "reference run of a compiled file" run "$work/r20.b.rkg" --raw-input "$work/x.f32" --reference
[ -e "$work/never.rkg" ] || [ -e "$work/never.onnx" ] && bad "a refused command left an output file"
if "$bin" info "$work/r20.b.rkg" >/dev/null; then ok "info reads a compiled file (shapes only)"; else bad "info on a compiled file failed"; fi
head -c 1000 "$work/x.f32" > "$work/short.f32"
expect_error "wrong input size" run "$work/r20.rkg" --raw-input "$work/short.f32"
expect_error "wrong image size" run "$work/r20.rkg" --cifar "$work/x.f32" --index 0
expect_error "bad thread count" bench "$work/r20.rkg" --threads 0
expect_error "bad Winograd policy" bench "$work/r20.rkg" --winograd sometimes
# Files of another kind are named for what they are (FileKind), with what to do instead.
printf '\x08\x08\x12\x07pytorch' > "$work/model.onnx"
printf '\x89PNG\r\n\x1a\n0000000000' > "$work/picture.png"
for spec in "info:model.onnx:rankedge import" "bench:model.onnx:rankedge import" "info:picture.png:an image, not a model"; do
    IFS=: read -r cmd file words <<< "$spec"
    if err=$("$bin" "$cmd" "$work/$file" 2>&1 >/dev/null); then bad "$cmd $file: exit status 0"
    elif [[ $err == *"$words"* && $(printf '%s\n' "$err" | wc -l) -eq 1 ]]; then ok "$cmd $file: $err"
    else bad "$cmd $file: $err"; fi
done
# --layout nchw: the same samples written channel-major give the same outputs. The plan is pinned
# (no timed Winograd or rank-form choice) so that both runs compile the same kernels.
python3 -c "import numpy as np; np.fromfile('$work/x.f32', '<f4').reshape(2,32,32,3).transpose(0,3,1,2).astype('<f4').tofile('$work/x.nchw.f32')"
"$bin" run "$work/r20.rkg" --winograd never --rank-form dense --raw-input "$work/x.f32" --output "$work/layout.nhwc.out" >/dev/null
"$bin" run "$work/r20.rkg" --winograd never --rank-form dense --raw-input "$work/x.nchw.f32" --layout nchw --output "$work/layout.nchw.out" >/dev/null
if cmp -s "$work/layout.nhwc.out" "$work/layout.nchw.out"; then ok "--layout nchw gives the NHWC input's outputs"; else bad "--layout nchw outputs differ"; fi
expect_error "bad layout" run "$work/r20.rkg" --raw-input "$work/x.f32" --layout chwn
expect_error "a broken PNG given as --input is one error, not float32" run "$work/r20.rkg" --input "$work/picture.png"
version=$("$bin" --version)
[[ $version == "rankedge "* ]] && ok "--version: $version" || bad "--version: $version"
for isa in neon avx2 avx512; do
    if ! "$bin" compile "$work/r20.rkg" -o "$work/$isa.rkg" --target "$isa" >/dev/null 2>&1; then
        expect_error "compile for $isa on a CPU without it" compile "$work/r20.rkg" -o "$work/$isa.rkg" --target "$isa"
        # A compiled file whose target this CPU lacks: rewrite the target of a native one.
        python3 - "$work/r20.c.rkg" "$work/foreign.rkg" "$isa" <<'PY'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
plan = json.loads(header["__metadata__"]["rankedge.compiled"])
plan["target"] = sys.argv[3]
header["__metadata__"]["rankedge.compiled"] = json.dumps(plan)
h = json.dumps(header).encode()
open(sys.argv[2], "wb").write(struct.pack("<Q", len(h)) + h + raw[8 + n:])
PY
        expect_error "compiled for $isa, run here" run "$work/foreign.rkg" --raw-input "$work/x.f32"
    fi
done
[ -e "$work/neon.rkg" ] && bad "a failed compile left an output file"
exit $fail
