#!/usr/bin/env bash
# Interop check run by `make test`, both directions:
#  1. every shipped models/*.rkg (written by RankEdge) opens with the Python `safetensors` package
#     and agrees with docs/FORMAT.md (tools/check_safetensors.py);
#  2. the same files, written again by safetensors' own writer, are read by `rankedge info`.
# Usage: tools/check_safetensors.sh RANKEDGE_BINARY
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-}

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

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "check_safetensors: ${#files[@]} file(s), RankEdge -> safetensors"
python3 tools/check_safetensors.py --rewrite "$tmp" "${files[@]}"

if [ -n "$bin" ] && [ -x "$bin" ] && "$bin" --help 2>/dev/null | grep -qE '^[[:space:]]+info([[:space:]]|$)'; then
    echo "check_safetensors: safetensors -> RankEdge"
    for f in "$tmp"/*.rkg; do
        if ! "$bin" info "$f" >/dev/null; then
            echo "check_safetensors: $bin cannot read $(basename "$f") as written by Python safetensors" >&2
            exit 1
        fi
        echo "  ok $(basename "$f") read back by rankedge info"
    done
else
    echo "check_safetensors: skipped safetensors -> RankEdge ('${bin:-<no binary given>}' has no info command)"
fi
