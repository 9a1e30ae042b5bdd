#!/usr/bin/env bash
# Decomposition errors against independent references (tools/check_tensorly_tucker.py): on seeded
# zoo models, every Tucker-2 layer `rankedge compress` writes is no worse than TensorLy's
# partial_tucker at the same ranks, and every SVD layer matches the Eckart-Young optimum.
# Skipped (exit 0) when the tensorly pip package is missing and cannot be installed.
# Usage: tools/check_tensorly_tucker.sh PATH_TO_RANKEDGE [--models NAME...] [--keep DIR]
set -euo pipefail
bin=${1:?usage: check_tensorly_tucker.sh PATH_TO_RANKEDGE [--models NAME...] [--keep DIR]}
shift
cd "$(dirname "$0")/.."
missing=()
for m in tensorly numpy; do python3 -c "import $m" 2>/dev/null || missing+=("$m"); done
if [ ${#missing[@]} -gt 0 ]; then
    echo "check_tensorly_tucker: pip installing ${missing[*]}"
    if ! python3 -m pip install -q "${missing[@]}" || ! python3 -c "import tensorly, numpy" 2>/dev/null; then
        echo "check_tensorly_tucker: skipped: tensorly not installable"
        exit 0
    fi
fi
exec python3 tools/check_tensorly_tucker.py "$bin" "$@"
