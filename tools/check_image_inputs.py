#!/usr/bin/env python3
"""Image inputs of `rankedge run`, end to end, with no imaging library: PNGs are written here with
zlib, so the PNG path is checked against the same pixels as a PPM and as the CIFAR record they came
from; resizing and cropping change the size as asked; broken files and bad flags give one line and
exit status 1.

Usage: check_image_inputs.py RANKEDGE MODEL.rkg CIFAR10_BINARY
"""
import os, shutil, struct, subprocess, sys, tempfile, zlib


def png(width, height, rgb):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + rgb[y * width * 3:(y + 1) * width * 3] for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def ppm(width, height, rgb):
    return f"P6\n{width} {height}\n255\n".encode() + rgb


def main():
    rankedge, model, cifar = sys.argv[1:4]
    work = tempfile.mkdtemp(prefix="image-inputs-")
    passed = failed = 0

    def record(ok, what, detail=""):
        nonlocal passed, failed
        passed, failed = passed + ok, failed + (not ok)
        print(f"  {'ok  ' if ok else 'FAIL'}  {what} {detail}")

    def run(*args):
        return subprocess.run([rankedge, "run", model, *args], capture_output=True, text=True)

    def write(name, data):
        path = os.path.join(work, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    with open(cifar, "rb") as f:
        rec = f.read(3073)
    planes = rec[1:]
    rgb = bytes(planes[c * 1024 + p] for p in range(1024) for c in range(3))   # CHW → HWC
    reference = run("--cifar", cifar, "--index", "0")
    for label, path in [("PNG", write("x.png", png(32, 32, rgb))), ("PPM", write("x.ppm", ppm(32, 32, rgb)))]:
        r = run("--input", path)
        record(r.returncode == 0 and r.stdout == reference.stdout, f"{label} input gives the CIFAR record's classes",
               r.stderr.strip() or r.stdout.splitlines()[0] if r.stdout else "")

    # A 64x40 image: the shorter side to 32, then the centre 32x32.
    big = bytes((x * 4 + c * 50) % 256 for y in range(40) for x in range(64) for c in range(3))
    big_png = write("big.png", png(64, 40, big))
    r = run("--input", big_png, "--resize", "32", "--center-crop", "32")
    record(r.returncode == 0 and "%" in r.stdout, "--resize 32 --center-crop 32 of a 64x40 PNG", r.stderr.strip())
    r = run("--input", big_png)
    record(r.returncode == 1 and "--resize" in r.stderr and len(r.stderr.strip().splitlines()) == 1,
           "an image of the wrong size names --resize", r.stderr.strip())

    good = png(32, 32, rgb)
    bad = [("truncated PNG", write("t.png", good[:len(good) // 2]), "corrupt PNG"),
           ("JPEG header and noise", write("n.jpg", b"\xff\xd8\xff\xe0" + bytes(range(200))), "corrupt JPEG"),
           ("crop larger than the image", big_png, "larger than"),
           ("negative resize", big_png, "must be ≥ 1")]
    extra = {"crop larger than the image": ["--center-crop", "50"], "negative resize": ["--resize", "-3"]}
    for label, path, words in bad:
        r = run("--input", path, *extra.get(label, []))
        lines = r.stderr.strip().splitlines()
        record(r.returncode == 1 and len(lines) == 1 and words in r.stderr, label, lines[0] if lines else "(no message)")
    shutil.rmtree(work, ignore_errors=True)
    print(f"image inputs: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
