#!/usr/bin/env python3
"""Per-stage utilization of two networks from `rankedge bench --per-layer --json`: an SVG bar chart
of effective GFLOP/s (2 x the layers' MACs / their time) per stage, the two networks side by side,
and the same numbers as a Markdown table on stdout.

Usage:
  tools/plot_layer_utilization.py --json dense.json --json lrd.json [--label dense --label LRD]
                                  [--title TEXT] [--out docs/img/utilization.svg]

A stage is the part of a step name before its second dot when the name starts with `layer`
(`layer2.0` is a stage's first block, with its stride and projection; the other blocks of the
stage are grouped as `layer2.x`); any other step goes to the stage named by its first component
(`conv1`, `maxpool`, `fc`; `features.3.conv` to `features`).
Stages without multiply-adds (pools alone) are left out of the chart but counted in the table's
total. MACs are those `rankedge bench` reports: a Winograd conv counts the direct conv's, so its
GFLOP/s can exceed the FMA peak. Standard library only; the drawing is plot_experiments.py's.
"""
import argparse
import json
import os
import sys
from collections import OrderedDict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plot_experiments import (  # noqa: E402  (the drawing code lives beside this script)
    Bar, BarChart, BarGroup, FORM_COLOURS, INK, LegendEntry, exit_status, fmt_macs, render_bar_chart, write_atomic)

PROG = "plot_layer_utilization.py"
# The two networks' bar colours: plot_experiments' dense grey and Tucker-2 blue.
FORMS = ["dense", "tucker2"]


class InputError(Exception):
    pass


def stage_of(name):
    parts = name.split(".")
    if parts[0].startswith("layer") and len(parts) > 2:
        return parts[0] + (".0" if parts[1] == "0" else ".x")
    return parts[0]


def read_stages(path):
    """(model name, OrderedDict stage -> [ms, macs]) in the order the stages first run."""
    try:
        with open(path, encoding="utf-8") as stream:
            report = json.load(stream)
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: not JSON ({error.msg} at line {error.lineno})") from None
    layers = report.get("layers") if isinstance(report, dict) else None
    if not isinstance(layers, list) or not layers:
        raise InputError(f"{path}: no `layers` list: write it with `rankedge bench MODEL --per-layer --json`")
    stages = OrderedDict()
    for index, layer in enumerate(layers):
        try:
            name, ms, macs = str(layer["name"]), float(layer["ms"]), int(layer["macs"])
        except (KeyError, TypeError, ValueError):
            raise InputError(f"{path}: layer {index} lacks a name, ms or macs") from None
        totals = stages.setdefault(stage_of(name), [0.0, 0])
        totals[0] += ms
        totals[1] += macs
    return str(report.get("name", path)), stages


def gflops(ms, macs):
    return 2.0 * macs / (ms * 1e6) if ms > 0 else 0.0


def short_label(stage):
    return stage[len("layer"):] if stage.startswith("layer") else stage


def build_chart(networks, title):
    order = []
    for _, stages in networks:
        order += [stage for stage in stages if stage not in order]
    groups = []
    for stage in order:
        bars = []
        for form, (label, stages) in zip(FORMS, networks):
            ms, macs = stages.get(stage, (0.0, 0))
            if macs == 0 or ms <= 0:
                continue
            value = gflops(ms, macs)
            bars.append(Bar(form, "", "", value, None,
                            f"{label} {stage}: {value:.1f} GFLOP/s, {ms:.3f} ms, {fmt_macs(macs)} MACs"))
        if bars:
            groups.append(BarGroup(short_label(stage), bars))
    if not groups:
        raise InputError("no stage has multiply-adds to plot")
    legend = [LegendEntry(label, FORM_COLOURS[form], "bar", None, True) for form, (label, _) in zip(FORMS, networks)]
    legend.append(LegendEntry("effective GFLOP/s:", INK, None, None, False))
    legend.append(LegendEntry("2 × MACs / time", INK, None, None, False))
    subtitle = " vs ".join(label for label, _ in networks) + ", per stage"
    return BarChart(title, subtitle, "effective GFLOP/s", groups, legend,
                    x_label="stage (n.0: first block of layer n, n.x: the others)", y_cap=None)


def markdown(networks):
    labels = [label for label, _ in networks]
    lines = ["| stage | " + " | ".join(f"{label} ms | {label} GFLOP/s" for label in labels) + " |",
             "|---" * (1 + 2 * len(labels)) + "|"]
    order = []
    for _, stages in networks:
        order += [stage for stage in stages if stage not in order]
    for stage in order + ["total"]:
        cells = []
        for _, stages in networks:
            ms, macs = (sum(v[0] for v in stages.values()), sum(v[1] for v in stages.values())) if stage == "total" \
                else stages.get(stage, (0.0, 0))
            cells += [f"{ms:.2f}", f"{gflops(ms, macs):.1f}" if macs else "—"]
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="append", required=True,
                        help="a `rankedge bench --per-layer --json` report (give two)")
    parser.add_argument("--label", action="append", help="a name per report (default: the model's)")
    parser.add_argument("--title", default="Effective GFLOP/s per stage")
    parser.add_argument("--out", help="write the SVG here (default: only the table)")
    args = parser.parse_args(argv)
    if len(args.json) != 2:
        parser.error(f"give exactly two --json reports, got {len(args.json)}")
    if args.label is not None and len(args.label) != 2:
        parser.error(f"give a --label per report, got {len(args.label)}")
    return args


def main(argv=None):
    args = parse_args(argv)

    def run():
        networks = []
        for index, path in enumerate(args.json):
            name, stages = read_stages(path)
            networks.append((args.label[index] if args.label else name, stages))
        if args.out:
            write_atomic(args.out, render_bar_chart(build_chart(networks, args.title)))
            print(f"{PROG}: wrote {args.out}", file=sys.stderr)
        print(markdown(networks))

    return exit_status(PROG, run, InputError)


if __name__ == "__main__":
    sys.exit(main())
