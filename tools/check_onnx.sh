#!/usr/bin/env bash
# ONNX import/export cross-checked against ONNX Runtime (tools/onnx_crosscheck.py).
# Usage: tools/check_onnx.sh PATH_TO_RANKEDGE [--keep DIR]
set -euo pipefail
bin=${1:?usage: check_onnx.sh PATH_TO_RANKEDGE [--keep DIR]}
shift
cd "$(dirname "$0")/.."
missing=()
for m in onnx onnxruntime numpy; do python3 -c "import $m" 2>/dev/null || missing+=("$m"); done
if [ ${#missing[@]} -gt 0 ]; then
    echo "check_onnx: pip installing ${missing[*]}"
    python3 -m pip install -q "${missing[@]}"
fi
exec python3 tools/onnx_crosscheck.py --rankedge "$bin" "$@"
