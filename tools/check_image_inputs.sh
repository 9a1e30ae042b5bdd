#!/usr/bin/env bash
# `rankedge run --input` with PNG and JPEG files (and --resize / --center-crop), against the same
# pixels given as a PPM and as a CIFAR record; broken images give one line and exit 1.
set -euo pipefail
bin=${1:?usage: check_image_inputs.sh PATH_TO_RANKEDGE}
cd "$(dirname "$0")/.."
python3 tools/check_image_inputs.py "$bin" models/minivgg-k5-bn-dropout.rkg models/samples/cifar10-test-100.bin
