"""Every oversized request ends in exactly one line `rankedge: error: ...` and exit status 1, with the
estimate, the bound and --max-memory named where memory is the reason; nothing is written."""
import json, os, struct, subprocess, sys, tempfile

binary, model, onnx, cifar = (os.path.abspath(a) for a in sys.argv[1:5])


def with_input_shape(src, dst, shape):
    """A copy of the graph file `src` whose graph input declares `shape` (weights unchanged)."""
    raw = open(src, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    graph = json.loads(header["__metadata__"]["rankedge.graph"])
    graph["inputs"][0]["shape"] = shape
    header["__metadata__"]["rankedge.graph"] = json.dumps(graph)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    open(dst, "wb").write(struct.pack("<Q", len(h)) + h + raw[8 + n:])


passed = failed = 0
with tempfile.TemporaryDirectory() as d:
    def expect_refusal(label, args, words=(), output=None):
        global passed, failed
        p = subprocess.run([binary] + args, capture_output=True, text=True, cwd=d, timeout=300)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        problems = []
        if p.returncode != 1: problems.append(f"exit {p.returncode}")
        if len(lines) != 1 or not lines[0].startswith("rankedge: error:"): problems.append("not one error line")
        problems += [f"no '{w}'" for w in words if w not in p.stderr]
        if output and os.path.exists(os.path.join(d, output)): problems.append(f"{output} written")
        if any(os.path.basename(f).startswith(".") and ".tmp-" in f for f in os.listdir(d)): problems.append("temporary file left")
        if problems:
            failed += 1
            print(f"FAIL {label}: {', '.join(problems)}; stderr {p.stderr[-2000:]!r}")
        else:
            passed += 1
            print(f"ok   {label}: {lines[0][:220]}")

    memory = ("needs", "above the memory bound", "--max-memory MB")
    # The reproducer: 2,000,000 CIFAR images at once (SIGABRT, "failed to allocate 393216000000 bytes").
    expect_refusal("bench --batch 2000000", ["bench", model, "--batch", "2000000", "--iterations", "1"], memory)
    expect_refusal("compile --batch 2000000", ["compile", model, "--batch", "2000000", "-o", "out.rkg"], memory, "out.rkg")
    expect_refusal("bench --batch 2^61 (the input's size overflows Int)", ["bench", model, "--batch", str(2 ** 61)])
    expect_refusal("bench --max-memory 1", ["bench", model, "--max-memory", "1"], memory)
    expect_refusal("run --max-memory 1", ["run", model, "--cifar", cifar, "--index", "0", "--max-memory", "1"], memory)
    expect_refusal("eval --max-memory 1", ["eval", model, "--data", cifar, "--max-memory", "1"], memory)
    expect_refusal("import --max-memory 1", ["import", onnx, "-o", "out.rkg", "--max-memory", "1"], memory, "out.rkg")
    # A bound lifted past what the machine has: the system's refusal is an error too, not an abort.
    # (Only where the kernel refuses what it cannot back; with overcommit_memory=1 it never does.)
    if open("/proc/sys/vm/overcommit_memory").read().strip() != "1":
        expect_refusal("bench --batch 2000000 --max-memory 10^9 (524 GB asked of the system)",
                       ["bench", model, "--batch", "2000000", "--iterations", "1", "--max-memory", "1000000000"],
                       ("the system refused the memory",))
    expect_refusal("--max-memory 0", ["bench", model, "--max-memory", "0"], ("--max-memory must be at least 1",))
    expect_refusal("--threads 100000", ["bench", model, "--threads", "100000"], ("--threads must be between 1 and 256",))

    # Graph files declaring huge dimensions: a ResNet (global pooling, so any size is a valid graph).
    subprocess.run([binary, "zoo", "build", "resnet20", "-o", os.path.join(d, "r20.rkg")], check=True, capture_output=True)
    with_input_shape(os.path.join(d, "r20.rkg"), os.path.join(d, "huge.rkg"), [1, 100000, 100000, 3])
    expect_refusal("bench on a 1×100000×100000×3 input", ["bench", "huge.rkg", "--iterations", "1"], memory)
    expect_refusal("compile on a 1×100000×100000×3 input", ["compile", "huge.rkg", "-o", "out.rkg"], memory, "out.rkg")
    with_input_shape(os.path.join(d, "r20.rkg"), os.path.join(d, "overflow.rkg"), [1, 2 ** 40, 2 ** 40, 3])
    expect_refusal("info on dims whose product overflows", ["info", "overflow.rkg"], ("too many elements",))
    expect_refusal("bench on dims whose product overflows", ["bench", "overflow.rkg"], ("too many elements",))

    # A raised bound lets the same work through: the bound, not the batch, decided.
    p = subprocess.run([binary, "bench", model, "--batch", "4", "--iterations", "2", "--warmup", "0", "--max-memory", "100000"],
                       capture_output=True, text=True, cwd=d)
    if p.returncode == 0:
        passed += 1
        print("ok   bench --batch 4 --max-memory 100000 runs")
    else:
        failed += 1
        print(f"FAIL bench --batch 4 --max-memory 100000: exit {p.returncode}, {p.stderr!r}")

print(f"bounded resources: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
