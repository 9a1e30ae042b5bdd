#!/usr/bin/env python3
"""The accuracy-against-latency front of docs/EXPERIMENTS.md: every compressed model and method in
docs/experiments/compression.csv, test accuracy against RankEdge's measured 1-thread latency, with
the dense models on ONNX Runtime and OpenVINO (docs/experiments/peer_latency.csv) marked.

Usage:
  tools/plot_front.py [--csv docs/experiments/compression.csv] [--peers docs/experiments/peer_latency.csv]
                      [--out docs/img/front.svg] [--threads 1]

A row is plotted when it has a latency and an accuracy: after fine-tuning where there is one (filled
marker), else before (hollow). Rows without accuracy (ResNet-50 with random weights) are left out.
The Pareto front over all rows (no other row is both faster and more accurate) is drawn as a line
and printed as a Markdown table on stdout, so the plot says which method wins where.
Standard library only; the drawing code is plot_experiments.py's.
"""
import argparse
import csv
import math
import os
import sys
from collections import namedtuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plot_experiments import (  # noqa: E402  (the drawing code lives beside this script)
    LINE_FRAME, LegendEntry, MUTED, PALETTE, Scale, draw_header, draw_legend, draw_x_axis, draw_y_axis,
    el, exit_status, marker, nice_ticks, px, svg_document, write_atomic)

PROG = "plot_front.py"
Point = namedtuple("Point", "model label latency accuracy final")
Peer = namedtuple("Peer", "model engine latency")
ENGINES = {"onnxruntime": ("ORT", "triangle"), "openvino": ("OpenVINO", "diamond")}


class InputError(Exception):
    pass


def number(row, column, path, line):
    text = (row.get(column) or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{path}:{line}: {column} is not a number: {text!r}") from None
    return value if math.isfinite(value) else None


def read_csv(path, required):
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{path}: no column {', '.join(missing)}")
        return [(index + 2, row) for index, row in enumerate(reader)]


def model_name(text):
    return text.split(" (")[0].strip()


def read_points(path, threads):
    column = f"latency_ms_{threads}t"
    points = []
    for line, row in read_csv(path, ("experiment", "model", "method", "policy", column,
                                     "accuracy_before_ft", "accuracy_after_ft")):
        latency = number(row, column, path, line)
        after = number(row, "accuracy_after_ft", path, line)
        before = number(row, "accuracy_before_ft", path, line)
        if latency is None or (after is None and before is None):
            continue
        label = row["experiment"].split(" ", 1)[-1] if " " in row["experiment"] else row["policy"]
        # An original model is final as trained; a compressed one is final once fine-tuned.
        final = after is not None or row["method"].strip() == "none"
        points.append(Point(model_name(row["model"]), label, latency, after if after is not None else before, final))
    if not points:
        raise InputError(f"{path}: no row with {column} and an accuracy")
    return points


def read_peers(path, threads):
    if path is None or not os.path.exists(path):
        return []
    peers = []
    for line, row in read_csv(path, ("model", "engine", "threads", "latency_ms")):
        if row["engine"] not in ENGINES:
            raise InputError(f"{path}:{line}: unknown engine {row['engine']!r} ({', '.join(ENGINES)})")
        if number(row, "threads", path, line) == threads:
            latency = number(row, "latency_ms", path, line)
            if latency is not None:
                peers.append(Peer(model_name(row["model"]), row["engine"], latency))
    return peers


def pareto_front(points):
    """Points no other point beats on both latency and accuracy, fastest first."""
    front, best = [], -math.inf
    for p in sorted(points, key=lambda p: (p.latency, -p.accuracy)):
        if p.accuracy > best:
            front.append(p)
            best = p.accuracy
    return front


def log_ticks(low, high):
    ticks = []
    for exponent in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1):
        for mantissa in (1, 2, 3, 5):
            value = mantissa * 10 ** exponent
            if low <= value <= high:
                ticks.append(value)
    return ticks


def render(points, peers, threads):
    frame = LINE_FRAME
    models = list(dict.fromkeys(p.model for p in points))
    colours = {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(models)}
    originals = {}
    for p in points:
        if p.label == "original":
            originals[p.model] = p.accuracy
    peers = [q for q in peers if q.model in originals]
    latencies = [p.latency for p in points] + [q.latency for q in peers]
    low, high = min(latencies) / 1.15, max(latencies) * 1.15
    x_scale = Scale(math.log10(low), math.log10(high), frame.left, frame.right)
    y_ticks, step = nice_ticks(min(p.accuracy for p in points), max(p.accuracy for p in points), False)
    y_scale = Scale(y_ticks[0], y_ticks[-1], frame.bottom, frame.top)
    x_ticks = [(math.log10(v), f"{v:g}") for v in log_ticks(low, high)]
    parts = draw_header("Accuracy against latency: every model and method",
                        f"CIFAR-10 test accuracy; RankEdge batch-1 latency, {threads} thread{'s' if threads > 1 else ''}, log scale")
    parts += draw_y_axis(frame, y_scale, y_ticks, step, "test accuracy (%)")
    parts += draw_x_axis(frame, x_scale, x_ticks, "latency (ms)")
    front = pareto_front(points)
    path = " ".join(f"{'M' if i == 0 else 'L'}{px(x_scale(math.log10(p.latency)))},{px(y_scale(p.accuracy))}"
                    for i, p in enumerate(front))
    parts.append(el("path", {"class": "front", "d": path, "fill": "none", "stroke": MUTED,
                             "stroke-width": 1.5, "stroke-dasharray": "7 4"}))
    for p in points:
        tooltip = f"{p.model} {p.label}: {p.accuracy:.2f} % at {p.latency:.3f} ms" + ("" if p.final else " (not fine-tuned)")
        parts.append(marker("circle", x_scale(math.log10(p.latency)), y_scale(p.accuracy), colours[p.model],
                            p.final, tooltip))
    for q in peers:
        name, shape = ENGINES[q.engine]
        parts.append(marker(shape, x_scale(math.log10(q.latency)), y_scale(originals[q.model]), colours[q.model],
                            False, f"{q.model} original on {name}: {q.latency:.3f} ms", css_class="peer"))
    # Front labels alternate above and below the line so neighbours do not overprint.
    for index, p in enumerate(front):
        x, y = x_scale(math.log10(p.latency)), y_scale(p.accuracy)
        parts.append(el("text", {"class": "front-label", "x": px(x + 5), "y": px(y - 7 if index % 2 == 0 else y + 15),
                                 "font-size": 9, "fill": MUTED}, f"{p.model} {p.label}"))
    legend = [LegendEntry(m, colours[m], None, "circle", True) for m in models]
    legend += [LegendEntry("not fine-tuned", MUTED, None, "circle", False)]
    engines = [(name, shape) for engine, (name, shape) in ENGINES.items() if any(q.engine == engine for q in peers)]
    if engines:
        legend += [LegendEntry("originals on:", MUTED, None, None, False)]
        legend += [LegendEntry(name, MUTED, None, shape, False) for name, shape in engines]
    legend += [LegendEntry("Pareto front", MUTED, "dashed", None, False)]
    parts += draw_legend(legend, frame.top + 6)
    return svg_document("Accuracy against latency", parts), front


def markdown(front, threads):
    lines = [f"| latency ({threads}t) ms | test accuracy | model | variant |", "|---|---|---|---|"]
    lines += [f"| {p.latency:.3f} | {p.accuracy:.2f} %{'' if p.final else ' (not fine-tuned)'} | {p.model} | {p.label} |"
              for p in front]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", default=os.path.join("docs", "experiments", "compression.csv"))
    parser.add_argument("--peers", default=os.path.join("docs", "experiments", "peer_latency.csv"),
                        help="dense models on ONNX Runtime and OpenVINO (skipped when the file is absent)")
    parser.add_argument("--out", default=os.path.join("docs", "img", "front.svg"))
    parser.add_argument("--threads", type=int, choices=(1, 2), default=1)
    args = parser.parse_args(argv)

    def run():
        points = read_points(args.csv, args.threads)
        svg, front = render(points, read_peers(args.peers, args.threads), args.threads)
        write_atomic(args.out, svg)
        print(markdown(front, args.threads))

    return exit_status(PROG, run, InputError)


if __name__ == "__main__":
    sys.exit(main())
