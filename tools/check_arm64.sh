#!/usr/bin/env bash
# The whole runtime on aarch64: builds it as Embedded Swift (tools/build_embedded.sh), links the C
# API example (examples/c/classify.c) statically for aarch64 Linux, and runs it under qemu-aarch64
# on every CIFAR-size zoo model and variant (at 1 thread; dense and lrd also at 2) and on the
# shipped models, at 1 and 2 threads. Each
# output must match the x86-64 runtime (this machine's `rankedge run`) to 1e-4 x the output's
# scale, and the shipped models' accuracy on the shipped images must equal `rankedge eval`'s.
# The C API's other paths (buffers, several inputs, errors) run through tools/capi_test.c, under qemu
# and, with RANKEDGE_ARM64_FULL=1, natively on an x86-64 build of the library too.
# Needs gcc-aarch64-linux-gnu, qemu-user and numpy (tools/setup.sh test installs them).
# qemu runs the NEON code about 50x slower than this CPU runs AVX2, so the shipped models see the
# first RANKEDGE_ARM64_IMAGES (default 20) of the 100 shipped images, and the 224x224 ImageNet zoo
# models (1.8 and 4.1 GMACs), and every zoo variant at 2 threads, run only with RANKEDGE_ARM64_FULL=1.
# Usage: tools/check_arm64.sh PATH_TO_RANKEDGE
set -euo pipefail
bin=$(realpath "${1:?usage: check_arm64.sh PATH_TO_RANKEDGE}")
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
QEMU=${QEMU_AARCH64:-qemu-aarch64}
CLANG=${AARCH64_CLANG:-$(dirname "$(command -v swiftc)")/clang}
command -v "$QEMU" >/dev/null || { echo "check_arm64: $QEMU not found (apt-get install qemu-user, or run tools/setup.sh test)" >&2; exit 1; }
[ -d /usr/aarch64-linux-gnu/lib ] || { echo "check_arm64: /usr/aarch64-linux-gnu not found (apt-get install gcc-aarch64-linux-gnu)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { echo "  ok    $*"; passed=$((passed + 1)); }
bad() { echo "  FAIL  $*"; failed=$((failed + 1)); }

# 1. The library and the example, for aarch64 Linux (static: qemu then needs no sysroot). The
#    toolchain's lld links; GNU ld refuses a copy relocation in the Swift object.
if tools/build_embedded.sh aarch64 "$work/lib" >"$work/build.log" 2>&1; then ok "librankedge.a built for aarch64"; else
  bad "tools/build_embedded.sh aarch64"; grep -E "error" "$work/build.log" | head -20; echo "$passed passed, $failed failed"; exit 1
fi
if "$CLANG" --target=aarch64-linux-gnu --gcc-toolchain=/usr -fuse-ld=lld -static -Wl,--gc-sections -O2 -Wall -Werror -I include \
    examples/c/classify.c "$work/lib/librankedge.a" -lm -lpthread -o "$work/classify" 2>"$work/link.log"; then
  ok "examples/c/classify.c linked for aarch64"
else
  bad "linking examples/c/classify.c for aarch64"; cat "$work/link.log"; echo "$passed passed, $failed failed"; exit 1
fi
if "$CLANG" --target=aarch64-linux-gnu --gcc-toolchain=/usr -fuse-ld=lld -static -Wl,--gc-sections -O2 -Wall -Werror -I include \
    tools/capi_test.c "$work/lib/librankedge.a" -lm -lpthread -o "$work/capi_test" 2>"$work/link.log"; then
  ok "tools/capi_test.c linked for aarch64"
else
  bad "linking tools/capi_test.c for aarch64"; cat "$work/link.log"
fi
arm() { "$QEMU" "$work/classify" "$@"; }

# Bad input through the C API: an error and a message, never a crash.
if arm "$work/none.rkg" >/dev/null 2>"$work/err"; then bad "a missing file loads"; elif grep -q "none.rkg" "$work/err"; then ok "missing file: $(head -c 100 "$work/err")"; else bad "missing file: no message"; fi
head -c 4000 models/minivgg-k5-random.rkg >"$work/cut.rkg"
if arm "$work/cut.rkg" >/dev/null 2>"$work/err"; then bad "a truncated file loads"; elif [ -s "$work/err" ]; then ok "truncated file: $(head -c 100 "$work/err")"; else bad "truncated file: no message"; fi

# compare NAME OURS THEIRS: the aarch64 output against the x86-64 runtime's.
compare() {
  python3 - "$2" "$3" <<'PY' && ok "$1 $(cat "$work/cmp")" || bad "$1 $(cat "$work/cmp")"
import os, sys, numpy as np
a, b = np.fromfile(sys.argv[1], "<f4"), np.fromfile(sys.argv[2], "<f4")
# An all-zero reference would pass anything: it counts as a failure.
scale = float(np.abs(b).max()) if b.size else 0.0
err = float(np.abs(a - b).max()) / scale if a.shape == b.shape and a.size and scale > 0 else float("inf")
with open(os.environ["CMP"], "w") as note:
    note.write(f"max error {err:.1e} x scale" if a.shape == b.shape else f"sizes differ: {a.size} vs {b.size}")
sys.exit(0 if err <= 1e-4 else 1)
PY
}
export CMP="$work/cmp"
python3 -c "import numpy as np; np.random.default_rng(1).uniform(-1,1,(1,32,32,3)).astype('<f4').tofile('$work/x1.f32'); np.random.default_rng(2).uniform(-1,1,(2,32,32,3)).astype('<f4').tofile('$work/x2.f32')"

# The C API beyond the example (tools/capi_test.c, its own checks counted here): a graph and a
# compiled model loaded from a malloc'd buffer give the path-loaded model's outputs bit for bit,
# corrupt buffers and wrong sizes give an error and a message; a two-input, two-output graph
# (tools/make_two_input_graph.py) runs through rankedge_model_run_multi. Outputs are also checked
# against the x86-64 runtime.
capi() { # NAME COMMAND...: runs capi_test (under qemu, or natively) and counts its checks
  local name=$1; shift
  "$@" >"$work/capi.log" 2>&1 && status=0 || status=$?
  sed -n 's/^  \(ok  \|FAIL\)  /&capi '"$name"': /p' "$work/capi.log"
  passed=$((passed + $(grep -c '^  ok  ' "$work/capi.log" || true)))
  failed=$((failed + $(grep -c '^  FAIL' "$work/capi.log" || true)))
  if [ "$status" -ne 0 ] && ! grep -q '^  FAIL' "$work/capi.log"; then bad "capi $name: exit $status: $(tail -c 300 "$work/capi.log")"; fi
}
capi_start=$SECONDS
if [ -x "$work/capi_test" ]; then
  "$bin" zoo build resnet20 --variant lrd -o "$work/capi.rkg" >/dev/null
  "$bin" compile "$work/capi.rkg" -o "$work/capi.scalar.rkg" --target scalar --rank-form separable --winograd never >/dev/null
  native=$("$bin" compile "$work/capi.rkg" -o "$work/capi.native.rkg" | sed -n 's/.* for \([a-z0-9_]*\), .*/\1/p')
  capi graph "$QEMU" "$work/capi_test" buffer "$work/capi.rkg" "$work/x2.f32" "$work/out.f32" --fixed-forms
  "$bin" run "$work/capi.rkg" --raw-input "$work/x2.f32" --output "$work/ref.f32" --rank-form separable --winograd never >/dev/null
  compare "capi graph from a buffer, batch 2, against x86-64:" "$work/out.f32" "$work/ref.f32"
  capi compiled "$QEMU" "$work/capi_test" buffer "$work/capi.scalar.rkg" "$work/x2.f32" "$work/out.f32"
  "$bin" run "$work/capi.scalar.rkg" --raw-input "$work/x2.f32" --output "$work/ref.f32" >/dev/null
  compare "capi compiled model (scalar) from a buffer, batch 2, against x86-64:" "$work/out.f32" "$work/ref.f32"
  # A model compiled for this CPU's ISA cannot run on aarch64: an error naming the target.
  if arm "$work/capi.native.rkg" >/dev/null 2>"$work/err"; then bad "a model compiled for $native runs on aarch64";
  elif grep -q "$native" "$work/err"; then ok "compiled for $native: $(head -c 120 "$work/err")"; else bad "compiled for $native: $(head -c 200 "$work/err")"; fi
  python3 tools/make_two_input_graph.py "$work/two.rkg" "$work/two.a.f32" "$work/two.b.f32" 2
  capi two-inputs "$QEMU" "$work/capi_test" multi "$work/two.rkg" "$work/two.a.f32" "$work/two.b.f32" "$work/out.f32"
  "$bin" run "$work/two.rkg" --raw-input "$work/two.a.f32" --raw-input "$work/two.b.f32" --output "$work/ref.f32" --threads 2 \
      --rank-form separable --winograd never >/dev/null
  compare "capi two inputs, two outputs, batch 2, against x86-64:" "$work/out.f32" "$work/ref.f32"
  # and the x86-64 tool's own errors for them: one line each, no output file.
  python3 -c "import numpy as np; np.zeros((1,16,16,8),'<f4').tofile('$work/two.b1.f32')"
  for args in "--raw-input $work/two.a.f32" "--raw-input $work/two.a.f32 --raw-input $work/two.b1.f32" \
              "--raw-input $work/two.a.f32 --raw-input $work/two.b.f32 --raw-input $work/two.b.f32"; do
    rm -f "$work/bad.f32"
    # shellcheck disable=SC2086
    if "$bin" run "$work/two.rkg" $args -o "$work/bad.f32" >/dev/null 2>"$work/err"; then bad "rankedge run two.rkg $args: no error"
    elif [ "$(wc -l <"$work/err")" = 1 ] && [ ! -e "$work/bad.f32" ]; then ok "rankedge run, $(echo "$args" | grep -o -- --raw-input | wc -l) raw input(s): $(cut -c1-110 "$work/err")"
    else bad "rankedge run two.rkg $args: $(head -c 300 "$work/err")"; fi
  done
  echo "  (the C API checks took $((SECONDS - capi_start)) s)"
  # With RANKEDGE_ARM64_FULL=1 the same checks also run natively, on the library built for x86-64
  # (a second whole-module build, about a minute; the compiled model is then this CPU's own).
  if [ "${RANKEDGE_ARM64_FULL:-0}" = 1 ]; then
    if tools/build_embedded.sh x86_64 "$work/lib64" >"$work/build64.log" 2>&1 &&
       "$CLANG" --target=x86_64-linux-gnu -fuse-ld=lld -O2 -Wall -Werror -I include tools/capi_test.c \
           "$work/lib64/librankedge.a" -lm -lpthread -o "$work/capi_test64" 2>"$work/link64.log"; then
      ok "librankedge.a and tools/capi_test.c built for x86-64"
      capi "x86-64 graph" "$work/capi_test64" buffer "$work/capi.rkg" "$work/x2.f32" "$work/out.f32" --fixed-forms
      "$bin" run "$work/capi.rkg" --raw-input "$work/x2.f32" --output "$work/ref.f32" --rank-form separable --winograd never >/dev/null
      compare "capi x86-64 graph from a buffer, batch 2, against rankedge run:" "$work/out.f32" "$work/ref.f32"
      capi "x86-64 compiled ($native)" "$work/capi_test64" buffer "$work/capi.native.rkg" "$work/x2.f32" "$work/out.f32"
      "$bin" run "$work/capi.native.rkg" --raw-input "$work/x2.f32" --output "$work/ref.f32" >/dev/null
      compare "capi x86-64 compiled model ($native) from a buffer, batch 2, against rankedge run:" "$work/out.f32" "$work/ref.f32"
      capi "x86-64 two-inputs" "$work/capi_test64" multi "$work/two.rkg" "$work/two.a.f32" "$work/two.b.f32" "$work/out.f32"
      "$bin" run "$work/two.rkg" --raw-input "$work/two.a.f32" --raw-input "$work/two.b.f32" --output "$work/ref.f32" --threads 2 \
          --rank-form separable --winograd never >/dev/null
      compare "capi x86-64 two inputs, two outputs, batch 2, against rankedge run:" "$work/out.f32" "$work/ref.f32"
    else
      bad "building the library or tools/capi_test.c for x86-64"; grep -E "error" "$work/build64.log" "$work/link64.log" | head -20
    fi
  fi
fi

# 2. Every CIFAR-size zoo model and variant (merged: residual nets only). Forms are fixed by rule
#    on both sides (separable rank convs, no Winograd) so both build the same steps; the timed
#    choice is covered by the shipped models below. 1 thread at batch 1, 2 threads at batch 2.
for model in minivgg-k3 minivgg-k5 minivgg-k7 resnet20 resnet56 vgg11 vgg16; do
  variants="dense lrd tucker2 branched:2 rank:2"
  case "$model" in resnet*) variants="$variants merged" ;; esac
  for variant in $variants; do
    f="$work/$model-${variant/:/}.rkg"
    "$bin" zoo build "$model" --variant "$variant" -o "$f" >/dev/null
    # make test's budget: every variant at 1 thread, the pool's 2-thread path on dense and lrd
    # (the same scheduling code for every variant); RANKEDGE_ARM64_FULL=1 runs all at both.
    threads="1"
    case "$variant" in dense|lrd) threads="1 2" ;; esac
    [ "${RANKEDGE_ARM64_FULL:-0}" = 1 ] && threads="1 2"
    for t in $threads; do
      x="$work/x$t.f32"
      "$bin" run "$f" --raw-input "$x" --output "$work/ref.f32" --threads "$t" --rank-form separable --winograd never >/dev/null
      if arm "$f" --threads "$t" --fixed-forms --input "$x" --output "$work/out.f32" >/dev/null 2>"$work/err"; then
        compare "$model $variant, $t thread(s):" "$work/out.f32" "$work/ref.f32"
      else
        bad "$model $variant, $t thread(s): $(head -c 300 "$work/err")"
      fi
    done
  done
done

if [ "${RANKEDGE_ARM64_FULL:-0}" = 1 ]; then
  python3 -c "import numpy as np; np.random.default_rng(3).uniform(-1,1,(1,224,224,3)).astype('<f4').tofile('$work/x224.f32')"
  for model in resnet18 resnet50; do
    for variant in dense lrd; do
      f="$work/$model-$variant.rkg"
      "$bin" zoo build "$model" --variant "$variant" -o "$f" >/dev/null
      "$bin" run "$f" --raw-input "$work/x224.f32" --output "$work/ref.f32" --threads 2 --rank-form separable --winograd never >/dev/null
      if arm "$f" --threads 2 --fixed-forms --input "$work/x224.f32" --output "$work/out.f32" >/dev/null 2>"$work/err"; then
        compare "$model $variant, 2 threads:" "$work/out.f32" "$work/ref.f32"
      else
        bad "$model $variant: $(head -c 300 "$work/err")"
      fi
    done
  done
fi

# 3. The shipped models (the demo's ONNX model imported here), conv forms timed on the spot as a
#    board would: on the shipped CIFAR-10 images, normalised as `rankedge eval` does, the outputs
#    match the x86-64 runtime's and the accuracy is `rankedge eval`'s.
"$bin" import models/demo/cifar-vgg.onnx -o "$work/cifar-vgg.rkg" >/dev/null
samples=models/samples/cifar10-test-100.bin
images=${RANKEDGE_ARM64_IMAGES:-20}
for f in models/*.rkg "$work/cifar-vgg.rkg"; do
  name=$(basename "$f" .rkg)
  python3 - "$f" "$samples" "$work/$name.x.f32" "$work/$name.labels" "$images" <<'PY'
import json, struct, sys, numpy as np
data = open(sys.argv[1], "rb").read()
graph = json.loads(json.loads(data[8:8 + struct.unpack("<Q", data[:8])[0]])["__metadata__"]["rankedge.graph"])
meta = graph.get("metadata", {})
if isinstance(meta, str):
    meta = {}
    for key in ("rankedge.input_mean", "rankedge.input_std"):
        text = graph["metadata"]
        i = text.find(f"'{key}': '")
        if i >= 0:
            meta[key] = text[i + len(key) + 5:].split("'")[0]
records = np.fromfile(sys.argv[2], np.uint8).reshape(-1, 3073)[:int(sys.argv[5])]
x = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype(np.float32) / 255
if "rankedge.input_mean" in meta:
    x = (x - np.array(meta["rankedge.input_mean"].split(","), np.float32)) / np.array(meta["rankedge.input_std"].split(","), np.float32)
x.astype("<f4").tofile(sys.argv[3])
records[:, 0].tofile(sys.argv[4])
PY
  expected=$("$bin" eval "$f" --data "$samples" --limit "$images" --json | python3 -c "import json,sys; print('%.1f' % (100 * json.load(sys.stdin)['accuracy']))" 2>/dev/null || echo "?")
  for t in 1 2; do
    "$bin" run "$f" --raw-input "$work/$name.x.f32" --output "$work/ref.f32" --threads "$t" >/dev/null
    if arm "$f" --threads "$t" --input "$work/$name.x.f32" --output "$work/out.f32" >/dev/null 2>"$work/err"; then
      compare "$name (shipped), $t thread(s), $images images:" "$work/out.f32" "$work/ref.f32"
      acc=$(python3 -c "import numpy as np; y=np.fromfile('$work/out.f32','<f4').reshape($images,-1).argmax(1); print('%.1f' % (100*float((y==np.fromfile('$work/$name.labels',np.uint8)).mean())))")
      if [ "$acc" = "$expected" ]; then ok "$name (shipped), $t thread(s): accuracy $acc % on aarch64, $expected % from rankedge eval"; else
        bad "$name (shipped), $t thread(s): accuracy $acc % on aarch64, $expected % from rankedge eval"; fi
    else
      bad "$name (shipped), $t thread(s): $(head -c 300 "$work/err")"
    fi
  done
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
