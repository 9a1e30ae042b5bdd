#!/usr/bin/env bash
# The full concurrency run of docs/RELIABILITY.md ("Concurrency"): 4 threads x 5000 runs, resident
# memory read at start, after 100 warm-up runs per thread and at the end. Extra arguments go to
# rankedge-stress (--threads, --runs, --warmup, --max-growth-mb).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product rankedge-stress -j 2 2>&1 | grep -E "error|Build of" || true
time .build/release/rankedge-stress --threads 4 --runs 5000 --warmup 100 "$@"
