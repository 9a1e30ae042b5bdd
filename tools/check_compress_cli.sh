#!/usr/bin/env bash
# `rankedge compress` end to end on the shipped trained mini-VGG and a tiny dataset cut from the
# shipped CIFAR-10 samples: every policy writes a valid graph and report; bad input ends in one
# stderr line, exit status 1 and no output file.
set -euo pipefail
bin=${1:?usage: check_compress_cli.sh PATH_TO_RANKEDGE}
cd "$(dirname "$0")/.."
python3 tools/check_compress_cli.py "$bin" models/minivgg-k5-bn-dropout.rkg models/samples/cifar10-test-100.bin
