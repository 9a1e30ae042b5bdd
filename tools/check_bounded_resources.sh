#!/usr/bin/env bash
# Issue #26 item 2: sizes no machine holds (a huge --batch, a file declaring huge or overflowing
# dimensions, a huge --threads) end in one stderr line and exit 1, before any allocation: no
# SIGABRT, no backtrace, no output file. --max-memory raises or lowers the bound.
set -euo pipefail
bin=${1:?usage: check_bounded_resources.sh PATH_TO_RANKEDGE}
cd "$(dirname "$0")/.."
python3 tools/check_bounded_resources.py "$bin" models/minivgg-k5-random.rkg models/demo/cifar-vgg.onnx models/samples/cifar10-test-100.bin
