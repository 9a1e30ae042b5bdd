#!/usr/bin/env bash
# InferenceSession under concurrent load, shortened for make test: 4 threads x 300 runs of three
# zoo models at batch 1-3, each thread on its own sessions or on one shared behind a lock; every
# output bit-identical to a single run, resident memory flat after the warm-up (rankedge-stress;
# tools/stress_sessions.sh is the full 4 x 5000).
# Usage: tools/check_sessions.sh [PATH_TO_RANKEDGE]   (unused: the stress tool is its own product)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product rankedge-stress -j 2 2>&1 | grep -E "error|Build of" || true
.build/release/rankedge-stress --threads 4 --runs 300 --warmup 50 --max-growth-mb 16
