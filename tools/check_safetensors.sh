#!/usr/bin/env bash
# Interop check run by `make test`: every shipped models/*.rkg must open with the Python
# `safetensors` package and agree with RankEdge's format spec (tools/check_safetensors.py).
# Usage: tools/check_safetensors.sh [RANKEDGE_BINARY]  (the binary is accepted for the make-test
# convention; the files checked are the ones RankEdge wrote and the repository ships)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c "import safetensors, numpy" 2>/dev/null; then
    echo "check_safetensors: pip installing safetensors numpy"
    python3 -m pip install -q safetensors numpy
fi

shopt -s nullglob
files=(models/*.rkg)
if [ ${#files[@]} -eq 0 ]; then
    echo "check_safetensors: no models/*.rkg to check (the repository should ship at least one)" >&2
    exit 1
fi
echo "check_safetensors: ${#files[@]} file(s)"
python3 tools/check_safetensors.py "${files[@]}"
