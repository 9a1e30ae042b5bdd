#!/usr/bin/env python3
"""Two rankedge builds' latency on the same graph files, alternating: for each round and graph,
`rankedge bench GRAPH --threads 1 --warmup 5 --iterations 40 --rank-form separable --winograd never
--json` with RANKEDGE_ISA=avx2 on BEFORE and on AFTER back to back (which goes first alternates by
round and graph), one CSV row per run: round, graph, build, p50 ms, MACs, time. Forms are fixed by
rule, so both builds run the same steps (no timed choices, no measurement cache) and a newer ISA on
this CPU cannot confound the comparison. Summarise with tools/ab_zoo_table.py CSV.

    ab_zoo_bench.py ROUNDS CSV BEFORE_BINARY AFTER_BINARY GRAPH.rkg...   (ROUND0=N numbers rounds from N, to append)
"""
import csv, json, os, subprocess, sys, time
rounds, out, before, after = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
graphs = sys.argv[5:]
env = dict(os.environ, RANKEDGE_ISA="avx2")
flags = ["--threads", "1", "--warmup", "5", "--iterations", "40", "--rank-form", "separable", "--winograd", "never", "--json"]
with open(out, "a", newline="") as f:
    w = csv.writer(f)
    for r in range(int(os.environ.get("ROUND0", "0")), int(os.environ.get("ROUND0", "0")) + rounds):
        for i, g in enumerate(graphs):
            order = [("before", before), ("after", after)]
            if (r + i) % 2: order.reverse()
            for label, b in order:
                p = subprocess.run([b, "bench", g] + flags, capture_output=True, text=True, env=env)
                if p.returncode: print(label, g, p.stderr.strip()[:200], file=sys.stderr); continue
                d = json.loads(p.stdout)
                assert d["isa"] == "avx2", d["isa"]
                w.writerow([r, os.path.basename(g)[:-4], label, d["p50_ms"], d["macs"], time.strftime("%H:%M:%S")])
                f.flush()
        print(f"round {r + 1} done {time.strftime('%H:%M:%S')}", file=sys.stderr, flush=True)
