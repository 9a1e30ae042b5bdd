#!/usr/bin/env bash
# Bad input at the command line: corrupted models and bad arguments fail with one line and exit 1.
set -euo pipefail
bin=${1:?usage: check_cli.sh PATH_TO_RANKEDGE}
cd "$(dirname "$0")/.."
python3 tools/check_cli_errors.py "$bin" models/minivgg-k5-random.rkg
