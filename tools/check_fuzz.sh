#!/usr/bin/env bash
# make test's share of fuzzing: every reader under libFuzzer + AddressSanitizer for 30 s each
# (tools/fuzz.sh; `make fuzz` runs them longer), after replaying the committed corpus on the
# normal build (crashes found earlier are in it).
# Usage: tools/check_fuzz.sh [PATH_TO_RANKEDGE]   (the argument is unused: the fuzzer is its own build)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product rankedge-fuzz -j 2 2>&1 | grep -E "error|Build of" || true
.build/release/rankedge-fuzz all | grep -v ' ok$'
FUZZ_SECONDS=${FUZZ_SECONDS:-30} tools/fuzz.sh
