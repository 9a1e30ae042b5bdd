#!/usr/bin/env bash
# Installs what building and testing RankEdge needs, only when it is missing.
# Usage: tools/setup.sh [build|test|torch]
set -euo pipefail
mode=${1:-build}

need_apt=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in libopenblas-dev libarmadillo-dev; do have_pkg "$p" || need_apt+=("$p"); done
if [ "$mode" = test ]; then
    for p in gcc-aarch64-linux-gnu qemu-user; do have_pkg "$p" || need_apt+=("$p"); done
fi
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "setup: installing ${need_apt[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ "$mode" = test ]; then
    need_pip=()
    for m in safetensors numpy onnx onnxruntime; do python3 -c "import $m" 2>/dev/null || need_pip+=("$m"); done
    if [ ${#need_pip[@]} -gt 0 ]; then
        echo "setup: pip installing ${need_pip[*]}"
        python3 -m pip install -q "${need_pip[@]}"
    fi
fi
command -v swift >/dev/null || { echo "setup: swift is not on PATH (install the Swift 6 toolchain)" >&2; exit 1; }

# Optional: PyTorch (CPU) in .venv-torch for the trainer's side-by-side benchmark (docs/BENCHMARKS.md).
if [ "$mode" = torch ]; then
    [ -x .venv-torch/bin/python ] || python3 -m venv .venv-torch
    .venv-torch/bin/python -c "import torch" 2>/dev/null || .venv-torch/bin/pip install -q torch
fi
