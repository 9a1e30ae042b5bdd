#!/usr/bin/env python3
"""The Markdown table of tools/ab_zoo_bench.py's CSV: per graph, the median over rounds of each
build's p50, their ratio, and the median (and quartiles) of the per-round after/before ratios;
then the geometric mean of the ratios over the graphs.

    ab_zoo_table.py CSV
"""
import csv, collections, statistics, math, sys
rows = list(csv.reader(open(sys.argv[1])))
t = collections.defaultdict(lambda: collections.defaultdict(dict)); macs = {}
for r, g, label, p50, m, _ in rows:
    t[g][int(r)][label] = float(p50); macs[g] = int(m)
print("| model variant | MACs | before ms | after ms | after / before | per-round ratio, median (p25–p75) |")
print("|---|---|---|---|---|---|")
logs = []; n = set()
for g in sorted(t):
    b = [v["before"] for v in t[g].values() if len(v) == 2]; a = [v["after"] for v in t[g].values() if len(v) == 2]
    ratios = sorted(v["after"] / v["before"] for v in t[g].values() if len(v) == 2)
    n.add(len(ratios))
    mb, ma = statistics.median(b), statistics.median(a)
    q = statistics.quantiles(ratios, n=4)
    logs.append(math.log(ma / mb))
    name = g.replace("branched2", "branched:2").replace("rank2", "rank:2")
    m, v = name.rsplit("-", 1)
    print(f"| {m} {v} | {macs[g]/1e6:.1f} M | {mb:.3f} | {ma:.3f} | {ma/mb:.3f} | {statistics.median(ratios):.3f} ({q[0]:.3f}–{q[2]:.3f}) |")
print(f"\ngeometric mean of after/before over {len(logs)} graphs: {math.exp(sum(logs)/len(logs)):.3f}; rounds per graph: {sorted(n)}")
