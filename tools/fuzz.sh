#!/usr/bin/env bash
# Coverage-guided fuzzing of every reader of untrusted files (docs/RELIABILITY.md, "Fuzzing"):
# builds rankedge-fuzz with libFuzzer and AddressSanitizer into .build/fuzz (its own scratch path,
# so the normal build is untouched), then runs each target for FUZZ_SECONDS, one after another.
# Usage: tools/fuzz.sh [TARGET...]            (default: every target; FUZZ_SECONDS default 300)
# New inputs go to out/fuzz/corpus/TARGET (kept between runs), crashes to out/fuzz/findings/; the
# committed seeds in fuzz/corpus/TARGET are only read. Exits 1 if any target crashed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-300}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(rkg compiled onnx cifar npz png jpeg ppm)

# -use-ld=lld: gold fails with an internal error on the sanitizer build's debug info.
# The flags stay on the command line: Package.swift has no unsafeFlags.
start=$(date +%s)
swift build -c release --product rankedge-fuzz -j "${FUZZ_BUILD_JOBS:-2}" --scratch-path .build/fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DRANKEDGE_LIBFUZZER -Xswiftc -use-ld=lld 2>&1 \
    | grep -v "Cannot export local symbol" | grep -E "error|Build of" || true
bin=.build/fuzz/release/rankedge-fuzz
[ -x "$bin" ] || { echo "fuzz: build failed" >&2; exit 1; }
echo "fuzz: build took $(( $(date +%s) - start )) s"

mkdir -p out/fuzz/findings
# Leak checks are off: the Swift runtime's caches (metadata, interned strings) are never freed and
# would be reported as leaks. Out-of-memory is on at 2 GB: a reader that allocates by a declared
# size without a bound is a finding, reported like a crash.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=0}
fail=0
printf '%-9s %12s %9s %6s %7s %8s  %s\n' target executions exec/s cov ft rss_mb result
for t in "${targets[@]}"; do
    mkdir -p "out/fuzz/corpus/$t"
    log="out/fuzz/$t.log"
    set +e
    "$bin" "$t" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=20 \
        -print_final_stats=1 -artifact_prefix="out/fuzz/findings/$t-" "out/fuzz/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1
    status=$?
    set -e
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    if [ $status -eq 0 ]; then result=ok; else result="FAILED (exit $status; $log, out/fuzz/findings/$t-*)"; fail=1; fi
    printf '%-9s %12s %9s %6s %7s %8s  %s\n' "$t" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${rss:-?}" "$result"
done
exit $fail
