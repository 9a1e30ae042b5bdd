#!/usr/bin/env bash
# tools/plot_front.py on a generated compression CSV and peer CSV: which rows are plotted (final
# accuracy filled, before fine-tuning hollow, no accuracy left out), the Pareto front table, the
# peers' markers at the original's accuracy, and bad input ending in one stderr line, exit status 1
# and no SVG.
# Usage: tools/check_plot_front.sh [path/to/rankedge]  (the binary is not needed)
set -euo pipefail
script="$(cd "$(dirname "$0")" && pwd)/plot_front.py"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
passed=0
fail() { echo "check_plot_front: $*" >&2; exit 1; }
check() {  # check NAME ACTUAL EXPECTED
    [ "$2" == "$3" ] || fail "$1: expected [$3], got [$2]"
    passed=$((passed + 1))
}

header="experiment,model,method,policy,params,macs,latency_ms_1t,latency_ms_2t,baseline_accuracy,accuracy_before_ft,accuracy_after_ft,mlu,sparsity,command"
cat > "$tmp/c.csv" <<CSV
$header
s original,netA (trained),none,-,10,10,2.0,1.2,80,80,,,,cmd
s small,netA (trained),svd,ratio:2,5,5,1.0,0.8,80,50,79,,,cmd
s tiny,netA (trained),svd,ratio:4,3,3,0.5,0.4,80,30,,,,cmd
s worse,netA (trained),svd,ratio:3,4,4,1.5,1.0,80,40,70,,,cmd
s original,netB (trained),none,-,10,10,4.0,2.5,85,85,,,,cmd
s random,netC (random weights),none,-,10,10,9.0,5.0,,,,,,cmd
CSV
cat > "$tmp/p.csv" <<CSV
model,graph,engine,threads,latency_ms,machine,date,command
netA (trained),original,onnxruntime,1,3.0,m,d,c
netA (trained),original,openvino,1,2.5,m,d,c
netB (trained),original,openvino,2,3.5,m,d,c
CSV
python3 "$script" --csv "$tmp/c.csv" --peers "$tmp/p.csv" --out "$tmp/f.svg" > "$tmp/table"
check "front: fastest first, each more accurate than every faster row" \
    "$(tail -n +3 "$tmp/table" | cut -d'|' -f2,3,5 | tr -d ' ' | tr '\n' ' ')" \
    "0.500|30.00%(notfine-tuned)|tiny 1.000|79.00%|small 2.000|80.00%|original 4.000|85.00%|original "
count() { python3 -c '
import sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
shapes = [e for e in root.iter() if e.get("class") == sys.argv[2]]
print(len(shapes), sum(e.get("fill") == "white" for e in shapes))
' "$tmp/f.svg" "$1"; }
check "points: 5 with an accuracy, the one not fine-tuned hollow" "$(count point)" "5 1"
check "peers: 1-thread rows of models with an original" "$(count peer)" "2 2"
python3 "$script" --csv "$tmp/c.csv" --peers "$tmp/p.csv" --threads 2 --out "$tmp/f2.svg" > /dev/null
check "2 threads: the other latency column and peer rows" "$(python3 -c '
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
print(sum(e.get("class") == "peer" for e in root.iter()))' "$tmp/f2.svg")" "1"
python3 "$script" --csv "$tmp/c.csv" --peers "$tmp/absent.csv" --out "$tmp/f3.svg" > /dev/null
check "no peer file: plotted without peers" "$([ -s "$tmp/f3.svg" ] && echo yes)" "yes"

error_case() {  # error_case NAME ARGS...: exit 1, one stderr line, no SVG written
    local name=$1 status=0
    shift
    python3 "$script" "$@" --out "$tmp/none.svg" > /dev/null 2> "$tmp/err" || status=$?
    check "$name: exit status, one line, nothing written" \
        "$status $(wc -l < "$tmp/err" | tr -d ' ') $([ -e "$tmp/none.svg" ] && echo written || echo none)" "1 1 none"
}
printf 'model,latency_ms_1t\nx,1\n' > "$tmp/cols.csv"
printf '%s\ns x,m,none,-,1,1,fast,1,1,1,,,,c\n' "$header" > "$tmp/nan.csv"
printf '%s\ns x,m,none,-,1,1,,,,,,,,c\n' "$header" > "$tmp/empty.csv"
printf 'model,graph,engine,threads,latency_ms\nnetA (trained),original,tvm,1,2\n' > "$tmp/engine.csv"
error_case "missing file" --csv "$tmp/missing.csv"
error_case "missing columns" --csv "$tmp/cols.csv"
error_case "latency not a number" --csv "$tmp/nan.csv"
error_case "no row to plot" --csv "$tmp/empty.csv"
error_case "unknown engine" --csv "$tmp/c.csv" --peers "$tmp/engine.csv"

echo "plot_front: $passed checks passed"
