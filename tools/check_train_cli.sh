#!/usr/bin/env bash
# `rankedge train` / `eval` end to end on a tiny dataset cut from the shipped CIFAR-10 samples.
set -euo pipefail
bin=${1:?usage: check_train_cli.sh PATH_TO_RANKEDGE}
cd "$(dirname "$0")/.."
python3 tools/check_train_cli.py "$bin" models/samples/cifar10-test-100.bin
