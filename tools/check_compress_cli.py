"""`rankedge compress` through the CLI: each policy on the shipped trained mini-VGG writes a graph
that `info` reads and a report whose totals agree with the table; bad input ends in one stderr
line and exit status 1 and leaves no output file."""
import atexit, json, os, shutil, subprocess, sys, tempfile

binary, model, samples = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3]
rec = 3073
raw = open(samples, "rb").read()
assert len(raw) // rec >= 100, "samples must hold at least 100 CIFAR records"
tmp = tempfile.mkdtemp(prefix="rankedge-compress-check-")
atexit.register(shutil.rmtree, tmp, ignore_errors=True)
data = os.path.join(tmp, "data")
os.makedirs(data)
for i in range(5):
    open(os.path.join(data, f"data_batch_{i + 1}.bin"), "wb").write(raw[i * 20 * rec:(i + 1) * 20 * rec])
open(os.path.join(data, "test_batch.bin"), "wb").write(raw[:20 * rec])
failures = []
passed = 0


def run(args, expect_ok, output=None):
    global passed
    p = subprocess.run([binary] + args, capture_output=True, text=True, timeout=900)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    ok = True
    if expect_ok and p.returncode != 0:
        failures.append(f"{args}: exit {p.returncode}: {p.stderr.strip()[-400:]}"); ok = False
    if not expect_ok:
        if p.returncode != 1:
            failures.append(f"{args}: expected exit 1, got {p.returncode}: {p.stderr.strip()[-300:]}"); ok = False
        elif len(lines) != 1 or not lines[0].startswith("rankedge: error: "):
            failures.append(f"{args}: not one error line: {p.stderr.strip()[-300:]}"); ok = False
        elif output and os.path.exists(output):
            failures.append(f"{args}: left {output} behind"); ok = False
    passed += ok
    return p


def report_of(args, name):
    out, rep = os.path.join(tmp, name + ".rkg"), os.path.join(tmp, name + ".json")
    p = run(["compress", model, "-o", out, "--report", rep, "--quiet"] + args, True)
    if p.returncode != 0:
        return None
    info = subprocess.run([binary, "info", out], capture_output=True, text=True)
    if info.returncode != 0:
        failures.append(f"{args}: info cannot read the output: {info.stderr.strip()}")
        return None
    r = json.load(open(rep))
    t = r["totals"]
    kept = [l for l in r["layers"] if l["kept"]]
    for l in kept:
        if l["params_after"] >= l["params_before"]:
            failures.append(f"{args}: {l['name']} kept without saving parameters")
    saved = sum(l["params_before"] - l["params_after"] for l in r["layers"])
    if t["params_before"] - t["params_after"] != saved and not r["merges"]:
        failures.append(f"{args}: totals {t['params_before']}→{t['params_after']} disagree with the layers' saving {saved}")
    return r


# Every policy and method on a trained model (small sizes keep this quick).
r = report_of(["--rank", "ratio:2"], "ratio")
if r and not any(l["kept"] for l in r["layers"]):
    failures.append("ratio:2 decomposed nothing")
report_of(["--rank", "energy:0.95", "--method", "svd"], "energy")
report_of(["--rank", "ratio:3", "--method", "spatial", "--snap", "multiple:4"], "spatial")
report_of(["--rank", "ratio:2", "--method", "rank-l"], "rankl")
report_of(["--rank", "ratio:2", "--branches", "2"], "branched")
r = report_of(["--rank", "ratio:2", "--snap", "latency", "--plots", os.path.join(tmp, "plots")], "snap")
if r and not r["sweeps"]:
    failures.append("--snap latency recorded no sweeps")
if r and not os.path.exists(os.path.join(tmp, "plots", "stages.svg")):
    failures.append("--plots wrote no stages.svg")
r = report_of(["--rank", "utilized:1", "--data", data, "--val", "20", "--calibration", "20"], "utilized")
if r and r["totals"].get("mlu") is None:
    failures.append("utilized: no MLU in the report")
scores = os.path.join(tmp, "scores.json")
for sparsity, cached in (("0.5", False), ("0.7", True)):
    r = report_of(["--rank", f"perturbation:{sparsity}:score=output", "--data", data, "--val", "10", "--calibration", "8",
                   "--sensitivity-cache", scores], "perturbation" + sparsity)
    pr = (r or {}).get("pruning")
    if r and (not pr or pr["scores_cached"] != cached or not 0 < pr["kept_vectors"] < pr["vectors"]
              or not -1 <= pr["spearman_relerr"] <= 1):
        failures.append(f"perturbation:{sparsity}: pruning summary {pr} (expected scores_cached {cached})")
if not os.path.exists(scores):
    failures.append("perturbation: no score cache written")
report_of(["--rank", "perturbation:0.6:score=relerr:blocks=alds"], "alds")
r = report_of(["--rank", "budget:macs=0.7", "--data", data, "--val", "20", "--sensitivity-cache", os.path.join(tmp, "sens.json")], "budget")
if r and r["totals"]["macs_after"] > 0.7 * r["totals"]["macs_before"] * 1.02:
    failures.append(f"budget:macs=0.7 left {r['totals']['macs_after']} of {r['totals']['macs_before']} MACs")
if not os.path.exists(os.path.join(tmp, "sens.json")):
    failures.append("budget: no sensitivity cache written")

# Bad input: one line, exit 1, no output.
out = os.path.join(tmp, "bad.rkg")
corrupt = os.path.join(tmp, "corrupt.rkg")
open(corrupt, "wb").write(open(model, "rb").read()[:1000])
for args in [
    ["--rank", "bogus:2"], ["--rank", "ratio:1"], ["--rank", "ratio:0.5"], ["--rank", "ratio:x"],
    ["--rank", "energy:0"], ["--rank", "energy:1.5"], ["--rank", "perturbation:1"], ["--rank", "perturbation:-0.1"],
    ["--rank", "perturbation:0.5:score=nope"], ["--rank", "budget:flops=0.5"], ["--rank", "budget:macs=1.5"],
    ["--rank", "utilized:0.1"], ["--rank", "budget:latency=0.5"], ["--rank", "perturbation:0.5"],
    ["--rank", "ratio:2", "--method", "cp"], ["--rank", "ratio:2", "--merge", "sometimes"],
    ["--rank", "ratio:2", "--snap", "fastest"], ["--rank", "ratio:2", "--snap", "multiple:0"],
    ["--rank", "ratio:2", "--include", "nothing*"], ["--rank", "ratio:2", "--exclude", "*"],
    ["--rank", "ratio:2", "--branches", "0"], ["--rank", "ratio:2", "--branches", "2", "--method", "svd"],
    ["--rank", "ratio:2", "--threads", "0"], ["--rank", "ratio:2", "--min-rank-fraction", "0"],
    ["--rank", "utilized:0.1", "--data", os.path.join(tmp, "missing")],
    ["--rank", "ratio:2", "--report", os.path.join(tmp, "no", "such", "dir.json")],
    ["--rank", "ratio:2", "--no-such-flag"],
]:
    run(["compress", model, "-o", out] + args, False, out)
run(["compress", corrupt, "-o", out, "--rank", "ratio:2"], False, out)
run(["compress", os.path.join(tmp, "missing.rkg"), "-o", out, "--rank", "ratio:2"], False, out)
# A graph with nothing to compress (every layer excluded by default: the zoo's tiniest net would do;
# here the include list names only the classifier's input, a pool).
run(["compress", model, "-o", out, "--rank", "ratio:2", "--include", "block1.pool"], False, out)
help_text = subprocess.run([binary, "compress", "--help"], capture_output=True, text=True).stdout
if "utilized" not in help_text or "--snap" not in help_text:
    failures.append("compress --help does not explain the policies")

if failures:
    print("check_compress_cli: FAILED\n  " + "\n  ".join(failures), file=sys.stderr)
    sys.exit(1)
print(f"check_compress_cli: {passed} cases passed")
