#!/usr/bin/env bash
# Installs what building and testing RankEdge needs, only when it is missing.
# Usage: tools/setup.sh [build|test|torch]
set -euo pipefail
mode=${1:-build}

need_apt=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in libopenblas-dev libarmadillo-dev zlib1g-dev libpng-dev libturbojpeg0-dev; do have_pkg "$p" || need_apt+=("$p"); done
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
    for m in safetensors numpy onnx onnxruntime tensorly; do python3 -c "import $m" 2>/dev/null || need_pip+=("$m"); done
    if [ ${#need_pip[@]} -gt 0 ]; then
        echo "setup: pip installing ${need_pip[*]}"
        python3 -m pip install -q "${need_pip[@]}"
    fi
fi
command -v swift >/dev/null || { echo "setup: swift is not on PATH (install the Swift 6 toolchain)" >&2; exit 1; }

# Optional: PyTorch (CPU) in .venv-torch for the trainer's side-by-side benchmark (docs/BENCHMARKS.md)
# and tools/pytorch_end_to_end.py (docs/TRAINING.md): torch, plus onnx, onnxruntime, onnxscript (the
# dynamo ONNX exporter needs it), numpy and torchvision (tools/torchvision_import.py). A CPU torch wheel in PIP_FIND_LINKS is used when present.
if [ "$mode" = torch ]; then
    [ -x .venv-torch/bin/python ] || python3 -m venv .venv-torch
    need_torch=()
    for m in torch onnx onnxruntime onnxscript numpy; do
        .venv-torch/bin/python -c "import $m" 2>/dev/null || need_torch+=("$m")
    done
    if [ ${#need_torch[@]} -gt 0 ]; then
        # PyPI's default torch wheel is the CUDA build (~5 GB with its nvidia-* packages); prefer a CPU
        # wheel for this Python from PIP_FIND_LINKS (space-separated folders) when there is one.
        pytag=$(.venv-torch/bin/python -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
        cpu_wheel=""
        for d in ${PIP_FIND_LINKS:-}; do
            for w in "$d"/torch-*+cpu-"$pytag"-*.whl; do [ -f "$w" ] && cpu_wheel="$w"; done
        done
        pkgs=()
        for m in "${need_torch[@]}"; do
            if [ "$m" = torch ] && [ -n "$cpu_wheel" ]; then pkgs+=("$cpu_wheel"); else pkgs+=("$m"); fi
        done
        echo "setup: pip installing ${pkgs[*]} into .venv-torch"
        .venv-torch/bin/pip install -q "${pkgs[@]}"
    fi
    # torchvision for tools/torchvision_import.py: the release made for this torch (minor + 15), without
    # its dependencies so a CPU torch is not replaced by PyPI's CUDA one.
    if ! .venv-torch/bin/python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('torchvision') is None)" 2>/dev/null; then
        tv=$(.venv-torch/bin/python -c 'import torch; v = torch.__version__.split("+")[0].split("."); print(f"0.{int(v[1]) + 15}.*")')
        echo "setup: pip installing torchvision==$tv pillow into .venv-torch"
        .venv-torch/bin/pip install -q --no-deps "torchvision==$tv" && .venv-torch/bin/pip install -q pillow
    fi
fi
