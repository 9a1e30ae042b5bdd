#!/usr/bin/env python3
"""RankEdge's decomposition errors against independent references.

For seeded zoo models, `rankedge compress --method tucker2` is run at a few rank policies and every
layer of its report is checked against the original weights read from the .rkg:
  * tucker2 layers: RankEdge's ||W - W^||_F / ||W||_F is no worse than TensorLy's `partial_tucker`
    (HOSVD init, then HOOI to tol 1e-8) on the same weight over modes (S, C) at the same ranks, plus
    1e-4; with `--hooi-iterations 0` (plain HOSVD) it is compared with TensorLy's HOSVD instead;
  * svd layers: the error equals the Eckart-Young optimum at rank R (numpy's singular values)
    within 1e-4.
Prints one table row per layer and a summary; a failure ends in one stderr line and exit status 1.
Usage: tools/check_tensorly_tucker.py PATH_TO_RANKEDGE [--models resnet20 minivgg-k5] [--keep DIR]
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

# One BLAS thread: the SVDs here are small, and a threaded OpenBLAS on a busy 2-core machine makes
# each take ~1 s instead of ~1 ms. rankedge itself runs with the caller's environment.
CALLER_ENV = dict(os.environ)
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"

import numpy as np  # noqa: E402

NAME = "check_tensorly_tucker"
TOLERANCE = 1e-4


class CheckError(Exception):
    pass


def read_rkg(path):
    """The tensors of a .rkg (safetensors) file as numpy arrays: 8-byte LE header length, JSON header, bytes."""
    with open(path, "rb") as handle:
        blob = handle.read()
    if len(blob) < 8:
        raise CheckError(f"{path}: too short for a safetensors file")
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + length])
    data = memoryview(blob)[8 + length:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] != "F32":
            continue
        begin, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(entry["shape"]).astype(np.float64)
    return tensors


def run(cmd):
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=CALLER_ENV)
    if result.returncode != 0:
        message = (result.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise CheckError(f"`{' '.join(cmd)}` exited {result.returncode}: {message}")
    return result.stdout


def relative_error(w, approx):
    return float(np.linalg.norm(w - approx) / np.linalg.norm(w))


def tensorly_tucker2(w_ohwi, r1, r2, hooi):
    """TensorLy's partial_tucker of an OHWI weight over modes (S, C) at ranks (R2, R1): relative error."""
    import tensorly as tl
    from tensorly.decomposition import partial_tucker
    from tensorly.tenalg import multi_mode_dot

    tensor = tl.tensor(np.ascontiguousarray(w_ohwi.transpose(0, 3, 1, 2)))  # [S, C, kh, kw]
    # n_iter_max=0 leaves TensorLy's SVD initialisation, i.e. HOSVD; else HOOI until the error moves < 1e-8.
    (core, factors), _ = partial_tucker(tensor, rank=[r2, r1], modes=[0, 1], init="svd",
                                        n_iter_max=100 if hooi else 0, tol=1e-8)
    approx = multi_mode_dot(core, factors, modes=[0, 1])
    return relative_error(tl.to_numpy(tensor), tl.to_numpy(approx))


def eckart_young(matrix, rank):
    s = np.linalg.svd(matrix, compute_uv=False)
    return float(np.sqrt(np.sum(s[rank:] ** 2)) / np.sqrt(np.sum(s ** 2)))


def check_run(binary, model_path, weights, label, policy, extra, tmp):
    """Compresses MODEL at POLICY and returns (rows, failures) for every decomposed layer."""
    stem = label.replace("/", "-")
    out, report_path = os.path.join(tmp, stem + ".rkg"), os.path.join(tmp, stem + ".json")
    run([binary, "compress", model_path, "-o", out, "--rank", policy, "--method", "tucker2",
         "--include", "*", "--report", report_path, "--quiet", *extra])
    with open(report_path) as handle:
        report = json.load(handle)
    hooi = "--hooi-iterations" not in extra or extra[extra.index("--hooi-iterations") + 1] != "0"
    rows, failures = [], []
    for layer in report["layers"]:
        method, ranks, ours = layer.get("method"), layer.get("ranks") or [], layer.get("relative_error")
        if method not in ("tucker2", "svd") or not ranks:
            continue
        if not layer.get("kept") and ours is None:  # left original (no saving at these ranks): nothing to compare
            continue
        key = layer["name"] + ".weight"
        if key not in weights:
            raise CheckError(f"{model_path}: report layer {layer['name']} has no tensor {key}")
        if ours is None:
            raise CheckError(f"{label}: {layer['name']} ({method}) reports no relative_error")
        w = weights[key]
        if method == "tucker2":
            if w.ndim != 4:
                raise CheckError(f"{key}: tucker2 on a weight of shape {list(w.shape)}")
            r1, r2 = ranks
            reference = tensorly_tucker2(w, r1, r2, hooi)
            ok = ours <= reference + TOLERANCE
            what = "tensorly HOOI" if hooi else "tensorly HOSVD"
            shown = f"[{r1},{r2}]"
        else:
            (rank,) = ranks
            reference = eckart_young(w.reshape(w.shape[0], -1), rank)
            ok = abs(ours - reference) <= TOLERANCE
            what = "Eckart-Young"
            shown = f"[{rank}]"
        row = (f"{label}", layer["name"], method, shown, "x".join(map(str, w.shape)), ours, reference,
               ours - reference, what, ok)
        rows.append(row)
        if not ok:
            failures.append(row)
    return rows, failures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rankedge", help="path to the rankedge binary")
    parser.add_argument("--models", nargs="+", default=["resnet20", "minivgg-k5"], help="zoo models to build")
    parser.add_argument("--keep", help="keep the generated models and reports in this folder")
    args = parser.parse_args()
    try:
        import tensorly  # noqa: F401
    except ImportError:
        print(f"{NAME}: the tensorly package is not installed (pip install tensorly)", file=sys.stderr)
        return 1
    if not (os.path.isfile(args.rankedge) and os.access(args.rankedge, os.X_OK)):
        print(f"{NAME}: {args.rankedge} is not an executable rankedge binary", file=sys.stderr)
        return 1
    binary = os.path.abspath(args.rankedge)
    tmp = args.keep or tempfile.mkdtemp(prefix="rankedge-tensorly-")
    os.makedirs(tmp, exist_ok=True)
    # Policies: the default HOOI at two rank policies, and plain HOSVD (first model only, it is the
    # same algorithm as TensorLy's initialisation so errors should agree to float precision).
    runs = [("ratio2", "ratio:2", []), ("energy0.9", "energy:0.9", []),
            ("ratio2-hosvd", "ratio:2", ["--hooi-iterations", "0"])]
    rows, failures = [], []
    try:
        for index, model in enumerate(args.models):
            model_path = os.path.join(tmp, model + ".rkg")
            run([binary, "zoo", "build", model, "-o", model_path])
            weights = read_rkg(model_path)
            for label, policy, extra in runs:
                if extra and index > 0:
                    continue
                got, bad = check_run(binary, model_path, weights, f"{model}/{label}", policy, extra, tmp)
                if not any(r[2] == "tucker2" for r in got):
                    raise CheckError(f"{model}/{label}: the report has no tucker2 layer to compare")
                rows += got
                failures += bad
    except CheckError as error:
        print(f"{NAME}: {error}", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    header = ("run", "layer", "method", "ranks", "shape", "rankedge", "reference", "difference", "reference is", "")
    table = [header] + [(r[0], r[1], r[2], r[3], r[4], f"{r[5]:.6f}", f"{r[6]:.6f}", f"{r[7]:+.2e}", r[8],
                         "ok" if r[9] else "FAIL") for r in rows]
    widths = [max(len(str(line[i])) for line in table) for i in range(len(header))]
    for line in table:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip())
    tucker = [r for r in rows if r[2] == "tucker2"]
    svd = [r for r in rows if r[2] == "svd"]
    worst = max(tucker, key=lambda r: r[7])
    print(f"{NAME}: {len(tucker)} tucker2 layers (largest rankedge - tensorly {worst[7]:+.2e}, {worst[0]} {worst[1]}; "
          f"{sum(r[7] < -TOLERANCE for r in tucker)} better by more than {TOLERANCE:g}), "
          f"{len(svd)} svd layers (largest |difference| from Eckart-Young "
          f"{max((abs(r[7]) for r in svd), default=0):.2e})")
    if failures:
        r = failures[0]
        print(f"{NAME}: {len(failures)} layer(s) fail; first {r[0]} {r[1]} {r[2]} ranks {r[3]}: rankedge {r[5]:.6f}, "
              f"{r[8]} {r[6]:.6f}", file=sys.stderr)
        return 1
    print(f"{NAME}: {len(rows)} layer checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
