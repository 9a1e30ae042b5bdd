"""Every malformed model and bad argument must end in one stderr line and exit status 1, no crash,
no output file. Corrupts copies of a shipped model in each way the issue lists."""
import json, os, struct, subprocess, sys, tempfile

binary, model = os.path.abspath(sys.argv[1]), sys.argv[2]
raw = open(model, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
body = raw[8 + n:]
graph = json.loads(header["__metadata__"]["rankedge.graph"])


def rebuild(hdr, data=None):
    h = json.dumps(hdr).encode()
    return struct.pack("<Q", len(h)) + h + (body if data is None else data)


def with_graph(mutate):
    g = json.loads(header["__metadata__"]["rankedge.graph"])
    mutate(g)
    hdr = json.loads(json.dumps(header))
    hdr["__metadata__"]["rankedge.graph"] = json.dumps(g)
    return rebuild(hdr)


def with_tensor(name, mutate):
    hdr = json.loads(json.dumps(header))
    mutate(hdr[name])
    return rebuild(hdr)


tensors = sorted((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][0])
first, second = tensors[0], tensors[1]
conv = next(nd for nd in graph["nodes"] if nd["op"] == "conv2d")


def cycle(g):
    g["nodes"][0]["inputs"][0] = g["nodes"][1]["outputs"][0]


def dangling(g):
    g["nodes"][0]["inputs"][1] = "no.such.weight"


def bad_shape(g):
    g["inputs"][0]["shape"][3] = 5


cases = {
    "truncated": raw[: len(raw) // 2],
    "shorter than the length field": raw[:5],
    "header length beyond the file": struct.pack("<Q", len(raw) * 2) + raw[8:],
    "bad JSON": struct.pack("<Q", n) + b"#" + raw[9:8 + n] + body,
    "unknown dtype": with_tensor(first, lambda t: t.__setitem__("dtype", "Q7")),
    "overlapping offsets": with_tensor(second, lambda t: t.__setitem__("data_offsets",
                                                                       [header[first]["data_offsets"][0], header[first]["data_offsets"][0] + (t["data_offsets"][1] - t["data_offsets"][0])])),
    "offsets out of range": with_tensor(tensors[-1], lambda t: t.__setitem__("data_offsets", [t["data_offsets"][0], len(body) + 4])),
    "shape disagrees with bytes": with_tensor(first, lambda t: t.__setitem__("shape", [t["shape"][0] + 1] + t["shape"][1:])),
    "input shape disagrees with the weights": with_graph(bad_shape),
    "cycle": with_graph(cycle),
    "dangling tensor name": with_graph(dangling),
}

passed = failed = 0
with tempfile.TemporaryDirectory() as d:
    def expect_clean_failure(label, args):
        global passed, failed
        p = subprocess.run([binary] + args, capture_output=True, text=True, cwd=d)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        ok = p.returncode == 1 and len(lines) == 1 and lines[0].startswith("rankedge: error:") and not os.path.exists(os.path.join(d, "out.rkg"))
        if ok:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {label}: exit {p.returncode}, stderr {p.stderr!r}")

    for label, data in cases.items():
        path = os.path.join(d, "bad.rkg")
        open(path, "wb").write(data)
        expect_clean_failure(f"info on {label}", ["info", path])
        expect_clean_failure(f"info --json on {label}", ["info", path, "--json"])
    expect_clean_failure("missing file", ["info", os.path.join(d, "missing.rkg")])
    expect_clean_failure("unknown flag", ["info", model, "--bogus"])
    expect_clean_failure("unknown command", ["frobnicate"])
    expect_clean_failure("unknown zoo model", ["zoo", "build", "alexnet", "-o", "out.rkg"])
    expect_clean_failure("bad variant", ["zoo", "build", "resnet20", "--variant", "rank:x", "-o", "out.rkg"])
    expect_clean_failure("bad ratio", ["zoo", "build", "resnet20", "--variant", "lrd", "--ratio", "0.5", "-o", "out.rkg"])
    expect_clean_failure("unwritable output", ["zoo", "build", "resnet20", "-o", os.path.join(d, "no", "dir", "out.rkg")])

    # A negative count is named as such, not as a missing value.
    def expect_message(label, args, words):
        global passed, failed
        p = subprocess.run([binary] + args, capture_output=True, text=True, cwd=d)
        if p.returncode == 1 and words in p.stderr and len(p.stderr.strip().splitlines()) == 1:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {label}: exit {p.returncode}, stderr {p.stderr!r}")
    expect_message("negative batch", ["bench", model, "--batch", "-5"], "--batch must be ≥ 1 (a count), got -5")
    expect_message("negative threads", ["run", model, "--threads", "-2", "--raw-input", model], "--threads must be ≥ 1 (a count), got -2")

print(f"cli errors: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
