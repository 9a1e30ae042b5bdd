"""`rankedge train` / `eval` end to end on a tiny CIFAR-format dataset cut from the shipped samples:
bad input ends in one stderr line and exit status 1 without touching the output; resume through the
CLI reproduces an uninterrupted run byte for byte; Ctrl-C leaves a valid checkpoint."""
import atexit, hashlib, json, os, shutil, signal, subprocess, sys, tempfile, time

binary, samples = os.path.abspath(sys.argv[1]), sys.argv[2]
raw = open(samples, "rb").read()
rec = 3073
assert len(raw) % rec == 0 and len(raw) // rec >= 100, "samples must hold at least 100 CIFAR records"
tmp = tempfile.mkdtemp(prefix="rankedge-train-check-")
atexit.register(shutil.rmtree, tmp, ignore_errors=True)
data = os.path.join(tmp, "data")
os.makedirs(data)
for i in range(5):
    open(os.path.join(data, f"data_batch_{i + 1}.bin"), "wb").write(raw[i * 16 * rec:(i + 1) * 16 * rec])
open(os.path.join(data, "test_batch.bin"), "wb").write(raw[80 * rec:100 * rec])
failures = []

# The same images as NumPy .npz files (channels last, stored and compressed), and broken ones.
import numpy as np
records = np.frombuffer(raw[:100 * rec], np.uint8).reshape(100, rec)
images = np.ascontiguousarray(records[:, 1:].reshape(100, 3, 32, 32).transpose(0, 2, 3, 1))
labels = records[:, 0].astype(np.int64)
npz = os.path.join(tmp, "data.npz")
np.savez(npz, x=images[:80], y=labels[:80], x_test=images[80:], y_test=labels[80:])
npz_compressed = os.path.join(tmp, "data-compressed.npz")
np.savez_compressed(npz_compressed, x=images[:80], y=labels[:80], x_test=images[80:], y_test=labels[80:])
npz_no_test = os.path.join(tmp, "no-test.npz")
np.savez(npz_no_test, x=images[:80], y=labels[:80])
npz_truncated = os.path.join(tmp, "truncated.npz")
open(npz_truncated, "wb").write(open(npz, "rb").read()[:5000])
npz_gray = os.path.join(tmp, "gray.npz")
np.savez(npz_gray, x=images[:8, :28, :28, :1], y=labels[:8], x_test=images[8:12, :28, :28, :1], y_test=labels[8:12])


def run(args, expect_ok):
    p = subprocess.run([binary] + args, capture_output=True, text=True, timeout=600)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    if expect_ok and p.returncode != 0:
        failures.append(f"{args}: exit {p.returncode}: {p.stderr.strip()[-300:]}")
    if not expect_ok:
        if p.returncode != 1:
            failures.append(f"{args}: expected exit 1, got {p.returncode}")
        elif not lines or not lines[-1].startswith("rankedge: error: "):
            failures.append(f"{args}: no one-line error: {p.stderr.strip()[-300:]}")
        elif "Fatal error" in p.stderr or "crashed" in p.stderr:
            failures.append(f"{args}: crashed")
    return p


def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


base = ["--model", "minivgg", "--kernel", "3", "--batch", "4", "--data", data, "--eval-limit", "8"]
tiny = base + ["--threads", "2"]
good = os.path.join(tmp, "good.rkg")
run(["train"] + tiny + ["--iterations", "4", "-o", good], True)
good_hash = digest(good)

# Resume through the CLI: 2 steps, stop, resume to 4 on another thread count → the same file as
# the straight run (work is cut into parts independent of the thread count).
ck = os.path.join(tmp, "ck")
split = os.path.join(tmp, "split.rkg")
run(["train"] + tiny + ["--iterations", "4", "--checkpoint", ck, "--stop-after", "2", "-o", split], True)
if os.path.exists(split):
    failures.append("a stopped run wrote its output")
run(["train"] + base + ["--threads", "1", "--iterations", "4", "--checkpoint", ck, "--resume", "-o", split], True)
if not os.path.exists(split) or digest(split) != good_hash:
    failures.append("resumed run differs from the uninterrupted one")

# Bad input: one line, exit 1, the good output untouched.
corrupt_dir = os.path.join(tmp, "corrupt")
os.makedirs(corrupt_dir)
ckbytes = bytearray(open(os.path.join(ck, "checkpoint.rkck"), "rb").read())
ckbytes[len(ckbytes) // 2] ^= 0xFF
open(os.path.join(corrupt_dir, "checkpoint.rkck"), "wb").write(ckbytes)
bad_data = os.path.join(tmp, "bad")
os.makedirs(bad_data)
for name in os.listdir(data):
    open(os.path.join(bad_data, name), "wb").write(open(os.path.join(data, name), "rb").read())
open(os.path.join(bad_data, "data_batch_3.bin"), "ab").write(b"xx")
foreign_csv = os.path.join(tmp, "foreign.csv")
open(foreign_csv, "w").write("a,b\n1,2\n")
cases = {
    "unknown model": ["train", "--model", "alexnet", "--data", data, "--iterations", "2", "-o", good],
    "unknown option": ["train"] + tiny + ["--iterations", "2", "--frobnicate", "-o", good],
    "missing dataset": ["train", "--model", "minivgg", "--data", os.path.join(tmp, "nope"), "--iterations", "2", "-o", good],
    "malformed data file": ["train", "--model", "minivgg", "--data", bad_data, "--iterations", "2", "-o", good],
    "corrupt checkpoint": ["train"] + tiny + ["--iterations", "4", "--checkpoint", corrupt_dir, "--resume", "-o", good],
    "checkpoint of another run": ["train"] + tiny + ["--iterations", "9", "--checkpoint", ck, "--resume", "-o", good],
    "resume without checkpoint": ["train"] + tiny + ["--iterations", "2", "--resume", "-o", good],
    "both iterations and epochs": ["train"] + tiny + ["--iterations", "2", "--epochs", "1", "-o", good],
    "even kernel": ["train", "--model", "minivgg", "--kernel", "4", "--data", data, "--iterations", "2", "-o", good],
    "batch too large": ["train", "--model", "minivgg", "--data", data, "--batch", "100000", "--iterations", "1", "-o", good],
    "batch zero": ["train", "--model", "minivgg", "--data", data, "--batch", "0", "--iterations", "1", "-o", good],
    "bad conv form": ["train"] + tiny + ["--iterations", "2", "--conv", "rank:x", "-o", good],
    "rank above the kernel": ["train"] + tiny + ["--iterations", "2", "--conv", "rank:4", "-o", good],
    "tucker ratio not above 1": ["train"] + tiny + ["--iterations", "2", "--conv", "elrt:0.5", "-o", good],
    "empty conv form": ["train"] + tiny + ["--iterations", "2", "--conv", "", "-o", good],
    "huge tucker ratio": ["train"] + tiny + ["--iterations", "2", "--conv", "tucker2:1e19", "-o", good],
    "dso without tucker": ["train"] + tiny + ["--iterations", "2", "--dso", "0.1", "-o", good],
    "negative dso": ["train"] + tiny + ["--iterations", "2", "--conv", "elrt:2", "--dso", "-1", "-o", good],
    "unknown rank form": ["train"] + tiny + ["--iterations", "2", "--conv", "rank:1", "--rank-form", "fast", "-o", good],
    "foreign results file": ["train"] + tiny + ["--iterations", "2", "--results", foreign_csv, "-o", good],
    "eval missing model": ["eval", os.path.join(tmp, "none.rkg"), "--data", data],
    "eval missing data": ["eval", good, "--data", os.path.join(tmp, "nope")],
    "eval npz without a test split": ["eval", good, "--data", npz_no_test],
    "eval truncated npz": ["eval", good, "--data", npz_truncated],
    "eval images of another size": ["eval", good, "--data", npz_gray],
    "train on truncated npz": ["train"] + tiny + ["--iterations", "2", "-o", good, "--data", npz_truncated],
    "train on images of another size": ["train"] + tiny + ["--iterations", "2", "-o", good, "--data", npz_gray],
    "run --cifar on an npz": ["run", good, "--cifar", npz, "--index", "0"],
}
for name, args in cases.items():
    before = digest(good)
    run(args, False)
    if digest(good) != before:
        failures.append(f"{name}: overwrote the output")

if open(foreign_csv).read() != "a,b\n1,2\n":
    failures.append("a refused run changed the foreign results file")

# Low-rank forms train, export, and append experiment rows the plot script reads.
results = os.path.join(tmp, "results.csv")
for form in (["--conv", "rank:1"], ["--conv", "elrt:2"], []):
    out = os.path.join(tmp, f"lowrank-{form[1].replace(':', '') if form else 'dense'}.rkg")
    run(["train"] + tiny + ["--iterations", "2"] + form + ["--results", results, "--tag", "check", "-o", out], True)
    p = run(["info", out, "--json"], True)
    if p.returncode == 0 and form:
        nodes = json.loads(p.stdout)["nodes"]
        if form[1] == "rank:1" and sum(n["op"] == "rankConv2d" for n in nodes) != 6:
            failures.append("rank:1 export: expected 6 rankConv2d nodes (every conv of the k=3 mini-VGG)")
        if form[1] == "elrt:2" and not any("elrt" in (n.get("provenance") or "") for n in nodes):
            failures.append("elrt export: no provenance naming elrt")
rows = [l.split(",") for l in open(results).read().splitlines()] if os.path.exists(results) else []
if len(rows) != 4 or any(len(r) != len(rows[0]) for r in rows) or rows[0][:3] != ["date", "experiment", "model"]:
    failures.append(f"results CSV: expected a header and 3 rows, got {rows}")
else:
    conv = [r[rows[0].index("conv")] for r in rows[1:]]
    latency = [float(r[rows[0].index("latency_ms")]) for r in rows[1:]]
    if conv != ["rank:1", "elrt:2", "dense"] or not all(t > 0 for t in latency):
        failures.append(f"results CSV rows: conv {conv}, latency {latency}")
plot = subprocess.run([sys.executable, "tools/plot_experiments.py", "--csv", results, "--markdown"], capture_output=True, text=True)
if plot.returncode != 0 or plot.stdout.count("| check |") != 3:
    failures.append(f"plot_experiments on the train CSV: exit {plot.returncode}: {plot.stderr.strip()[-300:]}")

# remeasure_latency rewrites the latency columns from the exported models, named as run_experiments names them.
models = os.path.join(tmp, "models")
os.makedirs(models)
header = rows[0] if rows else []
for r in rows[1:]:
    conv = r[header.index("conv")]
    source = f"lowrank-{conv.replace(':', '')}.rkg"
    name = f"check-{r[header.index('model')]}-k{r[header.index('kernel')]}-{conv.replace(':', '')}-seed{r[header.index('seed')]}.rkg"
    shutil.copy(os.path.join(tmp, source), os.path.join(models, name))
before = open(results).read()
re = subprocess.run([sys.executable, "tools/remeasure_latency.py", "--experiment", "check", "--csv", results, "--models", models,
                     "--bin", binary, "--rounds", "2", "--iterations", "3"], capture_output=True, text=True)
after = [l.split(",") for l in open(results).read().splitlines()]
if re.returncode != 0 or len(after) != len(rows) or any(a[:15] != b[:15] for a, b in zip(after, rows)):
    failures.append(f"remeasure_latency: exit {re.returncode}, rows {after}: {re.stderr.strip()[-300:]}")
elif len(after) == 4:
    dense_latency = float(after[3][header.index("latency_ms")])
    if not all(float(a[header.index("dense_latency_ms")]) == dense_latency for a in after[1:]) or before == open(results).read():
        failures.append(f"remeasure_latency: dense twin latency not the dense row's, or nothing rewritten: {after}")
bad = subprocess.run([sys.executable, "tools/remeasure_latency.py", "--experiment", "none", "--csv", results, "--bin", binary],
                     capture_output=True, text=True)
if bad.returncode == 0 or "no rows of experiment none" not in bad.stderr:
    failures.append(f"remeasure_latency on a missing experiment: exit {bad.returncode}: {bad.stderr.strip()}")

# eval --json on the runtime.
p = run(["eval", good, "--data", data, "--limit", "12", "--json"], True)
if p.returncode == 0:
    r = json.loads(p.stdout)
    if not (0 <= r["accuracy"] <= 1 and r["count"] == 12 and len(r["per_class"]) == 10):
        failures.append(f"eval json: {r}")

# The .npz copies of the data: eval agrees with the CIFAR folder, and training reads them.
reports = []
for source in (data, npz, npz_compressed):
    p = run(["eval", good, "--data", source, "--json"], True)
    reports.append(json.loads(p.stdout) if p.returncode == 0 else None)
if reports[0] is None or any(r is None or {k: r[k] for k in ("count", "correct", "per_class")} != {k: reports[0][k] for k in ("count", "correct", "per_class")}
                             for r in reports[1:]):
    failures.append(f"eval on the .npz copies differs from the CIFAR folder: {reports}")
npz_model = os.path.join(tmp, "npz.rkg")
run(["train"] + tiny + ["--iterations", "2", "--data", npz_compressed, "-o", npz_model], True)
if not os.path.exists(npz_model):
    failures.append("train on an .npz wrote no model")

# Ctrl-C: finishes the step, writes a valid checkpoint, exits 1 with one line.
ck2 = os.path.join(tmp, "ck2")
proc = subprocess.Popen([binary, "train"] + tiny + ["--iterations", "100000", "--eval-every", "0", "--checkpoint", ck2,
                        "-o", os.path.join(tmp, "int.rkg")], stderr=subprocess.PIPE, text=True)
deadline = time.time() + 120
while time.time() < deadline and not os.path.exists(os.path.join(ck2)):
    time.sleep(0.2)
time.sleep(3)
proc.send_signal(signal.SIGINT)
_, err = proc.communicate(timeout=120)
if proc.returncode != 1 or "interrupted at step" not in err:
    failures.append(f"SIGINT: exit {proc.returncode}, stderr {err.strip()[-300:]}")
run(["train"] + tiny + ["--iterations", "100000", "--eval-every", "0", "--checkpoint", ck2, "--resume", "--stop-after", "1",
     "-o", os.path.join(tmp, "int.rkg")], True)

# finetune: a trained graph fine-tuned with a validation split; resume reproduces the straight run;
# factor freezing leaves the frozen weights bit for bit; distillation runs; bad input is one line.
def rkg_metadata(path):
    raw = open(path, "rb").read()
    n = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8:8 + n]).get("__metadata__", {})


def rkg_tensors(path):
    from safetensors.numpy import load_file
    return load_file(path)


ft = ["finetune", good, "--data", data, "--batch", "4", "--val", "16", "--eval-limit", "8", "--iterations", "3"]
ft_out = os.path.join(tmp, "ft.rkg")
run(ft + ["-o", ft_out], True)
if os.path.exists(ft_out):
    meta = rkg_metadata(ft_out)
    graph = json.loads(meta.get("rankedge.graph", "{}")) if "rankedge.graph" in meta else {}
    want = ["rankedge.finetune.recipe", "rankedge.finetune.val_accuracy_before", "rankedge.finetune.val_accuracy_after",
            "rankedge.finetune.test_accuracy"]
    text = json.dumps(meta)
    missing = [k for k in want if k not in text]
    if missing:
        failures.append(f"finetune output metadata lacks {missing}")
# Fine-tuning a fine-tuned graph without a validation split keeps none of the first run's accuracies.
again = os.path.join(tmp, "again.rkg")
run(["finetune", ft_out, "--data", data, "--batch", "4", "--val", "0", "--eval-limit", "8", "--iterations", "1", "-o", again], True)
if os.path.exists(again) and "val_accuracy_before" in json.dumps(rkg_metadata(again)):
    failures.append("finetune kept the previous run's validation accuracy in its metadata")
ft_ck = os.path.join(tmp, "ft-ck")
ft_split = os.path.join(tmp, "ft-split.rkg")
run(ft + ["--checkpoint", ft_ck, "--stop-after", "1", "-o", ft_split], True)
run(ft + ["--checkpoint", ft_ck, "--resume", "-o", ft_split], True)
# The weights, bit for bit (the resumed run has no "before" accuracy in its metadata).
if not os.path.exists(ft_split) or not os.path.exists(ft_out) or any(
        (x != rkg_tensors(ft_split)[k]).any() for k, x in rkg_tensors(ft_out).items()):
    failures.append("finetune: resumed run's weights differ from the uninterrupted one's")
lrd = os.path.join(tmp, "lrd.rkg")
run(["zoo", "build", "minivgg-k3", "--variant", "lrd", "-o", lrd], True)
frozen_out = os.path.join(tmp, "frozen.rkg")
run(["finetune", lrd, "--data", data, "--batch", "4", "--val", "8", "--eval-limit", "8", "--iterations", "2",
     "--freeze-factors", "first-last", "--freeze", "fc2*", "--teacher", lrd, "-o", frozen_out], True)
if os.path.exists(frozen_out):
    a, b = rkg_tensors(lrd), rkg_tensors(frozen_out)
    fixed = [k for k in a if k.endswith((".tucker_in.weight", ".tucker_out.weight", ".svd_v.weight")) or k.startswith("fc2")]
    moved = [k for k in a if k.endswith(".tucker_core.weight")]
    if not fixed or any((a[k] != b[k]).any() for k in fixed):
        failures.append("finetune --freeze-factors first-last / --freeze changed a frozen weight")
    if not moved or all((a[k] == b[k]).all() for k in moved):
        failures.append("finetune: the unfrozen Tucker cores did not train")
p = run(["train-bench", "--graph", lrd, "--freeze-factors", "first-last", "--batch", "2", "--seconds", "0.1", "--warmup", "0",
         "--json"], True)
if p.returncode == 0 and not json.loads(p.stdout)["images_per_second"] > 0:
    failures.append(f"train-bench --graph: {p.stdout}")
held = os.path.join(tmp, "held.rkg")
run(["train"] + tiny + ["--iterations", "2", "--val", "8", "-o", held], True)
if os.path.exists(held) and not all(k in json.dumps(rkg_metadata(held))
                                    for k in ("rankedge.train.val_accuracy", "rankedge.train.test_accuracy")):
    failures.append("train --val: no validation and test accuracy in the output's metadata")
distilled = os.path.join(tmp, "distilled.rkg")
run(ft + ["--teacher", lrd, "--distill-weight", "0.9", "-o", distilled], True)
if os.path.exists(distilled) and os.path.exists(ft_out) and all(
        (x == rkg_tensors(distilled)[k]).all() for k, x in rkg_tensors(ft_out).items()):
    failures.append("finetune --teacher: the same weights as without a teacher (distillation did nothing)")
ft_cases = {
    "finetune resume with a teacher added": ft + ["--checkpoint", ft_ck, "--resume", "--teacher", lrd, "-o", good],
    "finetune resume with other freezing": ft + ["--checkpoint", ft_ck, "--resume", "--freeze", "fc*", "-o", good],
    "finetune resume with another mean": ft + ["--checkpoint", ft_ck, "--resume", "--mean", "0.5,0.5,0.5", "--std", "0.2,0.2,0.2",
                                               "-o", good],
    "train holding out every image": ["train"] + tiny + ["--iterations", "1", "--val", "80", "-o", good],
    "finetune negative eval limit": ft + ["--eval-limit", "-1", "-o", good],
    "finetune infinite epochs": ["finetune", good, "--data", data, "--epochs", "inf", "-o", good],
    "train-bench freezing without a graph": ["train-bench", "--model", "resnet20", "--freeze-factors", "first", "--seconds", "0.1"],
    "train-bench model and graph": ["train-bench", "--model", "resnet20", "--graph", lrd, "--seconds", "0.1"],
    "train-bench missing graph": ["train-bench", "--graph", os.path.join(tmp, "none.rkg"), "--seconds", "0.1"],
    "train-bench no model": ["train-bench", "--seconds", "0.1"],
    "train without a model": ["train", "--data", data, "--iterations", "1", "-o", good],
    "finetune glob matching nothing": ft + ["--freeze", "nothing*", "-o", good],
    "finetune factors of a dense graph": ft + ["--freeze-factors", "first", "-o", good],
    "finetune unknown freeze scheme": ft + ["--freeze-factors", "all", "-o", good],
    "finetune resume with another model": ["finetune", lrd, "--data", data, "--batch", "4", "--val", "16", "--iterations", "3",
                                           "--checkpoint", ft_ck, "--resume", "-o", good],
    "finetune all images held out": ft + ["--val", "80", "-o", good],
    "finetune missing model": ["finetune", os.path.join(tmp, "none.rkg"), "--data", data, "--iterations", "1", "-o", good],
    "finetune missing teacher": ft + ["--teacher", os.path.join(tmp, "none.rkg"), "-o", good],
    "finetune NaN loss": ft + ["--lr", "1e30", "--optimizer", "sgd", "-o", good],
    "finetune bad distill weight": ft + ["--teacher", lrd, "--distill-weight", "2", "-o", good],
}
for name, args in ft_cases.items():
    before = digest(good)
    run(args, False)
    if digest(good) != before:
        failures.append(f"{name}: overwrote the output")
cases.update(ft_cases)

if failures:
    print("\n".join("FAIL " + f for f in failures))
    sys.exit(1)
print(f"train/eval CLI: {len(cases)} bad-input cases, CLI resume, low-rank forms + results CSV + remeasure_latency, SIGINT, eval JSON and finetune (resume, freezing, distillation) OK")
