#!/usr/bin/env python3
"""Seed 004's grid on a trained model: `rankedge compress --rank perturbation:S:score=X:blocks=Y` for
every sparsity, score and blocking, each followed by a short `rankedge finetune`, one CSV row per
configuration (docs/experiments/compression.csv's columns) plus a details row (collapsed layers,
scoring time, Spearman correlations). Configurations already in --csv are skipped, so the sweep can
be stopped and run again; the output scores of each blocking are cached beside the model
(MODEL.perturbation-BLOCKS.json), so every sparsity and the variance score reuse one scoring.

  tools/run_perturbation_sweep.py --model vgg16.rkg --data DIR --out DIR --csv rows.csv \
      [--blocks none,alds,square] [--scores magnitude,relerr,output,variance] \
      [--sparsities 0.8,0.9,0.95,0.98] [--calibration 16] [--val 500] [--ft-iterations 30] \
      [--eval-limit 2000] [--label "vgg16 (trained here)"] [--bin .build/release/rankedge]

Test accuracy before and after fine-tuning is measured by `finetune --val 0` on the first
--eval-limit test images (the same images for every row and for --baseline-accuracy).

  tools/run_perturbation_sweep.py --table rows.csv [more.csv ...]
      prints the Markdown tables of docs/EXPERIMENTS.md from the rows and their details files.
"""
import argparse
import csv
import json
import os
import re
import subprocess
import sys
import time

COLUMNS = ["experiment", "model", "method", "policy", "params", "macs", "latency_ms_1t", "latency_ms_2t",
           "baseline_accuracy", "accuracy_before_ft", "accuracy_after_ft", "mlu", "sparsity", "command"]
DETAILS = ["policy", "score", "blocks", "sparsity", "vectors", "kept_vectors", "collapsed", "collapsed_layers",
           "svd_seconds", "scoring_seconds", "scores_cached", "spearman_relerr", "spearman_magnitude",
           "val_accuracy_before", "val_accuracy_after", "compress_seconds", "finetune_ms_per_step"]


def done(path):
    if not os.path.exists(path):
        return set()
    with open(path, newline="") as f:
        return {row["policy"] for row in csv.DictReader(f)}


def append(path, columns, row):
    new = not os.path.exists(path)
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        if new:
            writer.writeheader()
        writer.writerow(row)


def run(command, log):
    start = time.time()
    with open(log, "w") as f:
        status = subprocess.run(command, stdout=f, stderr=subprocess.STDOUT).returncode
    if status != 0:
        sys.exit(f"run_perturbation_sweep: {' '.join(command)} failed (status {status}); see {log}")
    return time.time() - start, open(log).read()


def table(paths):
    rows, details = [], {}
    for path in paths:
        with open(path, newline="") as f:
            rows += list(csv.DictReader(f))
        with open(path.replace(".csv", "-details.csv"), newline="") as f:
            details.update({d["policy"]: d for d in csv.DictReader(f)})
    cell = {}
    for r in rows:
        d = details[r["policy"]]
        cell[(d["score"], d["blocks"], d["sparsity"])] = (r, d)
    sparsities = sorted({k[2] for k in cell}, key=float)
    scores = [s for s in ("magnitude", "relerr", "output", "variance") if any(k[0] == s for k in cell)]
    blockings = [b for b in ("none", "alds", "square") if any(k[1] == b for k in cell)]
    print("| score | blocks | " + " | ".join(f"{float(s) * 100:g} %" for s in sparsities) + " |")
    print("|---|---|" + "---|" * len(sparsities))
    for score in scores:
        for blocks in blockings:
            entries = []
            for sparsity in sparsities:
                if (score, blocks, sparsity) not in cell:
                    entries.append("–")
                    continue
                r, d = cell[(score, blocks, sparsity)]
                collapsed = f" ({d['collapsed']} coll.)" if d["collapsed"] != "0" else ""
                entries.append(f"{float(r['accuracy_before_ft']):.1f} → {float(r['accuracy_after_ft']):.1f}{collapsed}")
            print(f"| {score} | {blocks} | " + " | ".join(entries) + " |")
    print()
    print("| score | blocks | vectors | SVDs s | scoring s | Spearman vs relerr | Spearman vs magnitude |")
    print("|---|---|---|---|---|---|---|")
    for score in scores:
        for blocks in blockings:
            ds = [cell[k][1] for k in cell if k[0] == score and k[1] == blocks]
            if not ds:
                continue
            d = ds[0]
            rho = lambda x: f"{float(x):.3f}" if x else "–"
            print(f"| {score} | {blocks} | {d['vectors']} | {float(d['svd_seconds']):.1f} | {max(float(x['scoring_seconds']) for x in ds):.1f} "
                  f"| {rho(d['spearman_relerr'])} | {rho(d['spearman_magnitude'])} |")


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--table":
        return table(sys.argv[2:])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--csv", required=True)
    p.add_argument("--details", help="details CSV (default: --csv with -details before .csv)")
    p.add_argument("--bin", default=".build/release/rankedge")
    p.add_argument("--blocks", default="none,alds,square")
    p.add_argument("--scores", default="magnitude,relerr,output,variance")
    p.add_argument("--sparsities", default="0.8,0.9,0.95,0.98")
    p.add_argument("--calibration", type=int, default=16)
    p.add_argument("--val", type=int, default=500)
    p.add_argument("--ft-iterations", type=int, default=30)
    p.add_argument("--ft-batch", type=int, default=128)
    p.add_argument("--eval-limit", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--label", default=None, help="model column (default: the file name)")
    p.add_argument("--baseline-accuracy", default="", help="the original's test accuracy on the same images")
    a = p.parse_args()
    details = a.details or a.csv.replace(".csv", "-details.csv")
    os.makedirs(a.out, exist_ok=True)
    stem = os.path.splitext(os.path.basename(a.model))[0]
    label = a.label or stem
    finished = done(a.csv)
    for blocks in a.blocks.split(","):
        cache = os.path.join(a.out, f"{stem}.perturbation-{blocks}.json")
        for score in a.scores.split(","):
            for sparsity in a.sparsities.split(","):
                policy = f"perturbation:{sparsity}:score={score}:blocks={blocks}"
                if policy in finished:
                    continue
                name = f"{stem}-{score}-{blocks}-{sparsity}"
                compressed, report = os.path.join(a.out, name + ".rkg"), os.path.join(a.out, name + ".json")
                tuned = os.path.join(a.out, name + "-ft.rkg")
                compress = [a.bin, "compress", a.model, "-o", compressed, "--rank", policy, "--data", a.data,
                            "--calibration", str(a.calibration), "--val", str(a.val), "--threads", str(a.threads),
                            "--sensitivity-cache", cache, "--report", report, "--quiet"]
                seconds, _ = run(compress, os.path.join(a.out, name + ".compress.log"))
                r = json.load(open(report))
                finetune = [a.bin, "finetune", compressed, "--data", a.data, "--iterations", str(a.ft_iterations),
                            "--batch", str(a.ft_batch), "--val", "0", "--eval-limit", str(a.eval_limit),
                            "--eval-every", "0", "--threads", str(a.threads), "-o", tuned]
                _, log = run(finetune, os.path.join(a.out, name + ".finetune.log"))
                before = re.search(r"before: test accuracy ([\d.]+)%", log)
                after = re.search(r"finished \d+ steps \([\d.]+ img/s, ([\d.]+) ms/step\): test accuracy ([\d.]+)%", log)
                if not before or not after:
                    sys.exit(f"run_perturbation_sweep: no accuracies in the finetune log of {name}")
                t, pr = r["totals"], r["pruning"]
                append(a.csv, COLUMNS, {
                    "experiment": f"seed004 {score} {blocks} {sparsity}", "model": label, "method": "svd (pruned)",
                    "policy": policy, "params": t["params_after"], "macs": t["macs_after"],
                    "latency_ms_1t": f"{t['ms_after']:.3f}" if a.threads == 1 else "",
                    "latency_ms_2t": f"{t['ms_after']:.3f}" if a.threads == 2 else "",
                    "baseline_accuracy": a.baseline_accuracy, "accuracy_before_ft": before.group(1),
                    "accuracy_after_ft": after.group(2), "mlu": "", "sparsity": sparsity,
                    "command": " ".join(["rankedge"] + compress[1:]) + "; rankedge " + " ".join(finetune[1:])})
                append(details, DETAILS, {
                    "policy": policy, "score": score, "blocks": blocks, "sparsity": sparsity,
                    "vectors": pr["vectors"], "kept_vectors": pr["kept_vectors"], "collapsed": len(pr["collapsed"]),
                    "collapsed_layers": " ".join(pr["collapsed"]), "svd_seconds": f"{pr['svd_seconds']:.2f}",
                    "scoring_seconds": f"{pr['scoring_seconds']:.2f}", "scores_cached": pr["scores_cached"],
                    "spearman_relerr": pr.get("spearman_relerr", ""), "spearman_magnitude": pr.get("spearman_magnitude", ""),
                    "val_accuracy_before": t.get("val_accuracy_before", ""), "val_accuracy_after": t.get("val_accuracy_after", ""),
                    "compress_seconds": f"{seconds:.1f}", "finetune_ms_per_step": after.group(1)})
                print(f"{policy}: params {t['params_after']}, {t['ms_after']:.3f} ms, test {before.group(1)} -> {after.group(2)} %, "
                      f"collapsed {len(pr['collapsed'])}, compress {seconds:.0f} s", flush=True)


if __name__ == "__main__":
    main()
