#!/usr/bin/env bash
# tools/plot_experiments.py on a generated results CSV: every SVG parses as XML and holds the
# expected series, points and bars; the last of repeated rows wins; --experiment and --markdown
# select what they should; bad input ends in one stderr line and exit status 1.
# Usage: tools/check_plot_experiments.sh [path/to/rankedge]  (`make test` passes the binary; the
# plots need no binary, so it is ignored)
set -euo pipefail
script="$(cd "$(dirname "$0")" && pwd)/plot_experiments.py"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
passed=0

fail() { echo "check_plot_experiments: $*" >&2; exit 1; }
check() {  # check NAME ACTUAL EXPECTED
    [ "$2" == "$3" ] || fail "$1: expected [$3], got [$2]"
    passed=$((passed + 1))
}
count() { grep -c -- "$1" "$2" || true; }  # count PATTERN FILE: matching lines, 0 is fine
plot() {  # plot ARGS...: runs the script, stdout to $tmp/out, stderr to $tmp/err, sets $status
    status=0
    python3 "$script" "$@" > "$tmp/out" 2> "$tmp/err" || status=$?
}
# One line per series ("series NAME=POINTS"), dense reference, and the bars with their MACs
# labels; sorted, so the expectations below do not depend on drawing order.
svg_summary() {
    python3 -c '
import sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == ns + "svg" and (root.get("width"), root.get("height")) == ("640", "420"), root.attrib
assert (root.findtext(ns + "title") or "").strip(), "no title"
lines = []
for group in root.iter(ns + "g"):
    kind, name = group.get("class"), group.get("data-series")
    if kind == "series":
        points = sum(1 for child in group if child.get("class") == "point")
        lines.append(f"series {name}={points}")
    elif kind == "reference":
        lines.append(f"reference {name}")
bars = [rect.get("data-form") for rect in root.iter(ns + "rect") if rect.get("class") == "bar"]
macs = [text.text for text in root.iter(ns + "text") if text.get("class") == "macs"]
if bars:
    lines.append("bars " + ",".join(bars) + " macs " + ",".join(macs))
print("\n".join(sorted(lines)))
' "$1" || fail "$1 is not a well-formed plot"
}
# Exit status 1 and a single "plot_experiments: error: ..." line on stderr.
check_error() {  # check_error NAME ARGS...
    local name=$1; shift
    plot "$@"
    check "$name: exit status" "$status" 1
    check "$name: one error line" "$(wc -l < "$tmp/err" | tr -d ' ') $(cut -c1-24 "$tmp/err")" \
        "1 plot_experiments: error:"
}

# Columns out of the documented order plus an unknown one, to prove columns are read by name.
python3 - "$tmp/results.csv" <<'PY'
import csv, sys
columns = ["date", "model", "experiment", "kernel", "conv", "rank", "dso", "steps", "batch", "seed",
           "params", "macs", "test_accuracy", "train_accuracy", "train_seconds", "latency_ms",
           "dense_latency_ms", "future_column"]
rows = []
def run(experiment, model, kernel, conv, acc, dso=0, steps=1000, latency=None, macs=1e6, seed=0):
    rank = conv.split(":")[1] if conv.startswith("rank:") else ""
    rows.append(dict(date="2024-05-01T10:00:00Z", model=model, experiment=experiment, kernel=kernel,
                     conv=conv, rank=rank, dso=dso, steps=steps, batch=64, seed=seed,
                     params=int(1000 * kernel + 500 * (int(rank) if rank else 9)), macs=int(macs),
                     test_accuracy=acc, train_accuracy=acc + 0.05, train_seconds=10.0 + kernel,
                     latency_ms=0.5 if latency is None else latency, dense_latency_ms=1.0,
                     future_column="ignored"))
run("sweep-1000", "minivgg", 3, "rank:2", 0.1111)  # rerun below: the later row must win
for k in (3, 5, 7):
    run("sweep-1000", "minivgg", k, "dense", 0.60)
    for rank in range(1, k + 1):
        latency = "" if (k, rank) == (5, 4) else 0.1 * rank  # a missing value: one point fewer
        run("sweep-1000", "minivgg", k, f"rank:{rank}", 0.6222 if (k, rank) == (3, 2) else 0.5, latency=latency)
run("sweep-1000", "minivgg", 5, "rank:2", 0.55, dso=0.001)  # DSO: table only, not the rank plots
run("protocol", "minivgg", 3, "rank:1", 0.7, steps=5000)  # shares a plot point with sweep-1000
for conv, macs in (("dense", 41e6), ("tucker2:0.5", 18e6), ("elrt:0.5", 17.5e6), ("elrt:0.25", 9.1e6)):
    run("elrt", "resnet20", 3, conv, 0.9, steps=20000, macs=macs)
with open(sys.argv[1], "w", newline="") as handle:
    writer = csv.DictWriter(handle, columns)
    writer.writeheader()
    writer.writerows(rows)
PY

plot --help
check "--help" "$status $(grep -q -- '--csv FILE' "$tmp/out" && echo documents --csv)" "0 documents --csv"

plot --csv "$tmp/results.csv" --out "$tmp/img"
check "full run: exit status" "$status" 0
check "full run: files" "$(cd "$tmp/img" && ls -A | tr '\n' ' ')" \
    "accuracy_vs_rank.svg elrt.svg latency_vs_rank.svg params_vs_rank.svg train_time_vs_rank.svg "

dense_refs=$'reference k=3 dense\nreference k=5 dense\nreference k=7 dense'
check "accuracy_vs_rank.svg" "$(svg_summary "$tmp/img/accuracy_vs_rank.svg")" "$dense_refs
series k=3 test accuracy=3
series k=3 train accuracy=3
series k=5 test accuracy=5
series k=5 train accuracy=5
series k=7 test accuracy=7
series k=7 train accuracy=7"
check "latency_vs_rank.svg" "$(svg_summary "$tmp/img/latency_vs_rank.svg")" "$dense_refs
series k=3 rank-L conv=3
series k=5 rank-L conv=4
series k=7 rank-L conv=7"
for name in params_vs_rank train_time_vs_rank; do
    check "$name.svg" "$(svg_summary "$tmp/img/$name.svg")" "$dense_refs
series k=3 rank-L conv=3
series k=5 rank-L conv=5
series k=7 rank-L conv=7"
done
check "elrt.svg" "$(svg_summary "$tmp/img/elrt.svg")" \
    "bars dense,tucker2,elrt,elrt macs 41.0M,18.0M,9.10M,17.5M"
accuracy="$tmp/img/accuracy_vs_rank.svg"
check "last of repeated rows wins" \
    "$(count 'k=3, rank 2, test accuracy: 62.2%' "$accuracy"):$(count '11.1%' "$accuracy")" "1:0"
check "shared plot point averaged, with a note" \
    "$(count 'k=3, rank 1, test accuracy: 60.0%' "$accuracy"):$(count 'averaging runs' "$tmp/err")" "1:1"
check "DSO runs left out of the rank plots, with a note" "$(count 'trained with DSO' "$tmp/err")" 1

plot --csv "$tmp/results.csv" --out "$tmp/img"  # again, over the existing files
check "rerun: no temporary files left" "$status $(ls -A "$tmp/img" | wc -l | tr -d ' ')" "0 5"

(cd "$tmp" && plot --csv results.csv --markdown)
check "markdown: exit status, no plots without --out" \
    "$status $([ -e "$tmp/docs" ] && echo plots || echo none)" "0 none"
check "markdown: header and one row per configuration" \
    "$(head -1 "$tmp/out") $(count '^| ' "$tmp/out")" \
    "| experiment | model | k | conv | steps | test % | train % | params | MACs | train s | latency ms | 25"
check "markdown: sorted by model, k, conv form, rank" \
    "$(sed -n '3p;4p;23p' "$tmp/out" | cut -d'|' -f2-5 | tr -s ' ' | tr '\n' ';')" \
    " sweep-1000 | minivgg | 3 | dense ; protocol | minivgg | 3 | rank:1 ; elrt | resnet20 | 3 | dense ;"
check "markdown: DSO in the conv column" "$(count '| rank:2 + DSO 0.001 |' "$tmp/out")" 1

plot --csv "$tmp/results.csv" --out "$tmp/elrt-only" --experiment elrt
check "--experiment: only its plots" \
    "$status $(ls "$tmp/elrt-only") $(count 'skipped' "$tmp/err")" "0 elrt.svg 4"

head -1 "$tmp/results.csv" > "$tmp/header-only.csv"
plot --csv "$tmp/header-only.csv" --out "$tmp/none"
check "header only: every plot skipped" \
    "$status $(ls -A "$tmp/none" | wc -l | tr -d ' ') $(count 'skipped' "$tmp/err")" "0 0 5"

printf 'a,b\n1,2\n' > "$tmp/foreign.csv"
printf 'model,kernel,conv\nminivgg,3,dense,surplus\n' > "$tmp/surplus.csv"
printf 'model,kernel,conv\nminivgg,"3,dense\n' > "$tmp/quote.csv"
: > "$tmp/empty.csv"
check_error "missing file" --csv "$tmp/missing.csv" --out "$tmp/x"
check_error "empty file" --csv "$tmp/empty.csv" --out "$tmp/x"
check_error "foreign CSV" --csv "$tmp/foreign.csv" --out "$tmp/x"
check_error "surplus cells" --csv "$tmp/surplus.csv" --out "$tmp/x"
check_error "unbalanced quote" --csv "$tmp/quote.csv" --out "$tmp/x"
check_error "unknown experiment" --csv "$tmp/results.csv" --experiment nope --out "$tmp/x"
check "errors write nothing" "$([ -e "$tmp/x" ] && echo written || echo none)" none

echo "plot_experiments: $passed checks passed"
