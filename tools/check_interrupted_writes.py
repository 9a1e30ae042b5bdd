"""Kills rankedge while it writes, at fixed points, and checks what is left on disk: every output
either absent or a complete file `rankedge info` reads, and no temporary file. Two kinds of kill:
at times during the work (before or after the write), and inside the write itself (the process
paused between temporary file and rename by RANKEDGE_WRITE_PAUSE_MS, the signal sent once the
temporary file exists)."""
import glob, os, shutil, signal, subprocess, sys, tempfile, time

binary, model, onnx, cifar = (os.path.abspath(a) for a in sys.argv[1:5])
tmp = tempfile.mkdtemp(prefix="rankedge-interrupt-check-")
passed, failures = 0, []
deadline = time.time() + 120  # the whole check; it takes about 30 s on 2 cores


def temporaries(directory):
    return [p for p in glob.glob(os.path.join(directory, "**", ".*.tmp-*"), recursive=True)]


def readable(path):
    """A graph file `info` reads whole, or (other outputs) a file that exists at all."""
    if not path.endswith(".rkg"):
        return True
    return subprocess.run([binary, "info", path], capture_output=True).returncode == 0


def check_outputs(label, directory, outputs):
    global passed
    problems = []
    for out in outputs:
        if os.path.exists(out) and not readable(out):
            problems.append(f"{os.path.basename(out)} is partial")
    left = temporaries(directory)
    if left:
        problems.append(f"temporary files left: {[os.path.relpath(p, directory) for p in left]}")
    if problems:
        failures.append(f"{label}: {'; '.join(problems)}")
    else:
        passed += 1
    return not problems


def fresh_dir(name):
    d = os.path.join(tmp, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def kill_at(label, args, outputs_in, sig, after):
    """Start, wait `after` seconds, send `sig`; the outputs must be absent or whole."""
    d = fresh_dir("run")
    outputs = [os.path.join(d, o) for o in outputs_in]
    proc = subprocess.Popen([binary] + [a.replace("{d}", d) for a in args], cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(after)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    ok = check_outputs(f"{label}, {signal.Signals(sig).name} after {after} s (exit {proc.returncode})", d, outputs)
    state = ", ".join(f"{o}: {'whole' if os.path.exists(p) else 'absent'}" for o, p in zip(outputs_in, outputs))
    print(f"{'ok  ' if ok else 'FAIL'} {label}, {signal.Signals(sig).name} after {after} s: exit {proc.returncode}; {state}")
    return proc.returncode, ok


def kill_in_write(label, args, outputs_in, sig):
    """Pause every atomic write before its rename, send `sig` once the temporary file exists."""
    d = fresh_dir("run")
    outputs = [os.path.join(d, o) for o in outputs_in]
    env = dict(os.environ, RANKEDGE_WRITE_PAUSE_MS="20000")
    proc = subprocess.Popen([binary] + [a.replace("{d}", d) for a in args], cwd=d, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen = []
    limit = time.time() + 60
    while not seen and proc.poll() is None and time.time() < limit:
        time.sleep(0.02)
        seen = temporaries(d)
    if not seen:
        proc.kill()
        proc.communicate()
        failures.append(f"{label}: no temporary file appeared (exit {proc.returncode})")
        return
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    killed = proc.returncode == -sig
    if not killed:
        failures.append(f"{label}: expected death by {signal.Signals(sig).name}, exit {proc.returncode}: {err[-300:]!r}")
    # The signal came mid-write: the destination must not exist yet (it did not before the run).
    for out in outputs:
        if os.path.exists(out) and not readable(out):
            failures.append(f"{label}: {os.path.basename(out)} partial")
    ok = check_outputs(f"{label}: {signal.Signals(sig).name} with {os.path.basename(seen[0])} on disk", d, outputs)
    state = ", ".join(f"{o}: {'whole' if os.path.exists(p) else 'absent'}" for o, p in zip(outputs_in, outputs))
    print(f"{'ok  ' if ok and killed else 'FAIL'} {label}, {signal.Signals(sig).name} with {os.path.relpath(seen[0], d)} on disk: "
          f"exit {proc.returncode}, temporary gone; {state}")


# Inputs: a CIFAR-format data folder for finetune (cut from the shipped samples).
data = os.path.join(tmp, "data")
os.makedirs(data)
raw = open(cifar, "rb").read()
rec = 3073
for i in range(5):
    open(os.path.join(data, f"data_batch_{i + 1}.bin"), "wb").write(raw[i * 16 * rec:(i + 1) * 16 * rec])
open(os.path.join(data, "test_batch.bin"), "wb").write(raw[80 * rec:100 * rec])

commands = {
    # The default measured forms: the compile then spends its first second timing layers.
    "compile": (["compile", model, "-o", "out.rkg"], ["out.rkg"]),
    "compress": (["compress", model, "--rank", "ratio:2", "-o", "out.rkg", "--report", "report.json", "--plots", "plots", "--quiet"],
                 ["out.rkg", "report.json"]),
    "import": (["import", onnx, "-o", "out.rkg"], ["out.rkg"]),
    "finetune": (["finetune", model, "--data", data, "--batch", "4", "--val", "0", "--eval-limit", "8", "--iterations", "2",
                  "--checkpoint", "{d}/ck", "-o", "out.rkg"], ["out.rkg", "ck/checkpoint.rkck"]),
}

# 1. Inside the write, for every command and both signals.
for name, (args, outputs) in commands.items():
    for sig in (signal.SIGINT, signal.SIGTERM):
        if name == "finetune" and sig == signal.SIGINT:
            continue  # training takes its first SIGINT as "checkpoint and stop": part 3
        kill_in_write(f"{name} mid-write", args, outputs, sig)

# 2. At a few points in time: early (loading), mid-work, and late (likely after the write).
for name, (args, outputs) in commands.items():
    for sig, after in ((signal.SIGTERM, 0.02), (signal.SIGINT, 0.15), (signal.SIGTERM, 0.6)):
        if time.time() > deadline:
            break
        kill_at(f"{name}", args, outputs, sig, after)

# 3. finetune: the first Ctrl-C finishes the step, writes the checkpoint and stops (exit 1, one
#    line); --resume then finishes the run from it and writes a whole model.
d = fresh_dir("ft")
ft = ["finetune", model, "--data", data, "--batch", "4", "--val", "0", "--eval-limit", "8", "--eval-every", "0",
      "--iterations", "100000", "--checkpoint", os.path.join(d, "ck")]
proc = subprocess.Popen([binary] + ft + ["-o", "out.rkg"], cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
time.sleep(2.5)
proc.send_signal(signal.SIGINT)
_, err = proc.communicate(timeout=60)
lines = [l for l in err.splitlines() if l.startswith("rankedge: error:")]
if proc.returncode == 1 and lines and "interrupted at step" in lines[-1] and os.path.exists(os.path.join(d, "ck", "checkpoint.rkck")):
    passed += 1
    step = int(lines[-1].split("interrupted at step ")[1].split("/")[0])
    # The same settings (a checkpoint of other settings is refused); one more step, then it stops
    # with a checkpoint again, resumed at the step the SIGINT left.
    resumed = subprocess.run([binary] + ft + ["--resume", "--stop-after", "1", "-o", "out.rkg"], cwd=d, capture_output=True, text=True,
                             timeout=120)
    if resumed.returncode == 0 and f"resumed from {os.path.join(d, 'ck', 'checkpoint.rkck')} at step {step}/" in resumed.stderr:
        passed += 1
        print(f"finetune: SIGINT stopped at step {step} with a checkpoint; --resume continued from step {step}")
    else:
        failures.append(f"finetune --resume after SIGINT: exit {resumed.returncode}: {resumed.stderr[-300:]!r}")
else:
    failures.append(f"finetune SIGINT: exit {proc.returncode}, stderr {err[-300:]!r}")
check_outputs("finetune after SIGINT and resume", d, [os.path.join(d, "out.rkg"), os.path.join(d, "ck", "checkpoint.rkck")])

shutil.rmtree(tmp, ignore_errors=True)
for f in failures:
    print("FAIL " + f)
print(f"interrupted writes: {passed} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
