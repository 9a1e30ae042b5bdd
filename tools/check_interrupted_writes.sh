#!/usr/bin/env bash
# Issue #26 item 5: SIGINT or SIGTERM during compile, compress, import or finetune leaves the output
# absent or whole (it reads back), and no `.NAME.tmp-*` file; finetune's Ctrl-C leaves a checkpoint
# that --resume finishes from. RANKEDGE_WRITE_PAUSE_MS holds every atomic write open between
# writing the temporary file and renaming it, so a signal lands in that window every time.
set -euo pipefail
bin=${1:?usage: check_interrupted_writes.sh PATH_TO_RANKEDGE}
cd "$(dirname "$0")/.."
python3 tools/check_interrupted_writes.py "$bin" models/minivgg-k5-random.rkg models/demo/cifar-vgg.onnx models/samples/cifar10-test-100.bin
