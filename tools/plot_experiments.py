#!/usr/bin/env python3
"""Turns the CSV written by `rankedge train --results FILE` into the SVG plots of docs/EXPERIMENTS.md.

Usage:
  tools/plot_experiments.py --csv results.csv [--experiment LABEL] [--out docs/img]
  tools/plot_experiments.py --csv results.csv [--experiment LABEL] --markdown > table.md

Plots (mini-VGG rows for the first four; skipped with a note on stderr when they have no data):
  accuracy_vs_rank.svg, latency_vs_rank.svg, params_vs_rank.svg, train_time_vs_rank.svg
      one series per kernel size k over rank L = 1..k, the dense model of each k as a dotted line;
  elrt.svg
      test accuracy of dense / Tucker-2 / ELRT convs of every model that has Tucker-2 or ELRT rows,
      MACs per image on each bar.
With --markdown the table of the selected rows goes to stdout and plots are written only if --out
is also given, so the table can be redirected on its own.

Columns are read by header name (unknown ones are ignored). When a configuration appears more than
once, the last row wins; different configurations that land on the same plot point (e.g. two
experiments or seeds) are averaged, with a note on stderr. Standard library only.
"""
import argparse
import contextlib
import csv
import math
import os
import sys
import tempfile
from collections import namedtuple
from xml.sax.saxutils import escape, quoteattr

PROG = "plot_experiments"
DEFAULT_OUT = os.path.join("docs", "img")
RANK_MODEL = "minivgg"

REQUIRED_COLUMNS = ("model", "kernel", "conv")
# Inputs of a run; two rows agreeing on all of them are the same configuration run again.
CONFIG_COLUMNS = ("experiment", "model", "kernel", "conv", "dso", "steps", "batch", "seed")
NUMERIC_COLUMNS = ("kernel", "rank", "dso", "steps", "batch", "seed", "params", "macs",
                   "test_accuracy", "train_accuracy", "train_seconds", "latency_ms",
                   "dense_latency_ms")
FORM_ORDER = {"dense": 0, "rank": 1, "tucker2": 2, "elrt": 3}

WIDTH, HEIGHT = 640, 420
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
Frame = namedtuple("Frame", "left top right bottom")
LINE_FRAME = Frame(68, 58, 486, 360)
BAR_FRAME = Frame(68, 58, 486, None)  # bottom: room for the captions
LEGEND_X = 502
INK, GRID, MUTED = "#222222", "#dddddd", "#555555"

# Okabe-Ito colours (safe for the common colour-vision deficiencies), yellow left out: too pale on
# white. Marker shapes differ per series too, so nothing relies on colour alone.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
MARKERS = ("circle", "square", "triangle", "diamond")
FORM_COLOURS = {"dense": "#999999", "tucker2": "#0072B2", "elrt": "#D55E00"}
# Label ink on each bar colour, whichever contrasts more.
FORM_TEXT = {"dense": INK, "tucker2": "white", "elrt": INK}
FORM_NAMES = {"dense": "dense", "tucker2": "Tucker-2", "elrt": "ELRT"}
DASHES = {"solid": None, "dashed": "7 4", "dotted": "1.5 4"}


class CsvError(Exception):
    """The results file cannot be used at all; the message is the one line shown to the user."""


# ---------------------------------------------------------------------------------------------
# Reading the results file


def parse_number(text):
    """A finite float, or None for empty, non-numeric, NaN and infinite cells."""
    try:
        value = float((text or "").strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def num(row, column):
    return parse_number(row.get(column))


def int_value(row, column):
    value = num(row, column)
    return int(value) if value is not None and value == int(value) else None


def dso_value(row):
    # The trainer writes 0 for "no DSO"; an empty cell from an older file means the same.
    return num(row, "dso") or 0.0


def read_runs(path):
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            # strict: an unbalanced quote is an error instead of swallowing the following rows
            reader = csv.DictReader(handle, strict=True)
            try:
                return parse_runs(reader, path)
            except csv.Error as error:
                raise CsvError(f"{path}: malformed CSV after line {reader.line_num}: {error}") from error
    except OSError as error:
        raise CsvError(f"cannot read {path}: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise CsvError(f"{path}: not UTF-8 text ({error.reason})") from error


def parse_runs(reader, path):
    header = reader.fieldnames
    if not header:
        raise CsvError(f"{path}: empty file, expected a header row")
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise CsvError(f"{path}: not a rankedge results CSV (no column {', '.join(missing)})")
    rows = []
    for row in reader:
        # DictReader files surplus cells under the key None; a shifted row would be misread.
        if row.get(None):
            raise CsvError(f"{path} line {reader.line_num}: more cells than the header has columns")
        row = {key: (value or "").strip() for key, value in row.items()}
        warn_non_numeric(row, f"{path} line {reader.line_num}")
        rows.append(row)
    return rows


def warn_non_numeric(row, where):
    # Such cells are plotted as missing; saying so beats a silently shorter line.
    for column in NUMERIC_COLUMNS:
        text = row.get(column, "")
        if text and text.lower() not in ("nan", "inf", "-inf") and parse_number(text) is None:
            note(f"{where}: {column} {text!r} is not a number, treated as missing")


def config_key(row):
    def normalised(column):
        if column == "dso":
            return dso_value(row)
        value = row.get(column, "")
        number = parse_number(value)
        return number if number is not None else value
    return tuple(normalised(column) for column in CONFIG_COLUMNS)


def latest_per_configuration(rows):
    latest = {}
    for index, row in enumerate(rows):
        latest[config_key(row)] = (index, row)
    return [row for _, row in sorted(latest.values(), key=lambda pair: pair[0])]


def conv_form(row):
    """('rank', 3.0) for rank:3, ('dense', None), ('tucker2', 0.25); unknown forms keep their name."""
    form, _, parameter = row.get("conv", "").lower().partition(":")
    return form, parse_number(parameter)


def run_rank(row):
    form, parameter = conv_form(row)
    if form != "rank":
        return None
    rank = num(row, "rank")
    rank = parameter if rank is None else rank
    return int(rank) if rank is not None and rank >= 1 and rank == int(rank) else None


def mean(values):
    values = [value for value in values if value is not None]
    return sum(values) / len(values) if values else None


def mean_of(rows, column, scale=1.0):
    value = mean(num(row, column) for row in rows)
    return None if value is None else value * scale


def group_by(rows, key):
    groups = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    return groups


def note(message):
    print(f"{PROG}: {message}", file=sys.stderr)


# ---------------------------------------------------------------------------------------------
# Number formatting


def fmt_sig(value, digits=3):
    """`digits` significant digits without exponent notation (1234 -> 1,234; 0.01234 -> 0.0123)."""
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:,.{decimals}f}"


def fmt_macs(macs):
    return f"{fmt_sig(macs / 1e6)}M"


def step_decimals(step):
    for decimals in range(8):
        if abs(round(step, decimals) - step) <= step * 1e-6:
            return decimals
    return 8


def nice_step(raw):
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if raw <= m * magnitude * (1 + 1e-9))


def nice_ticks(low, high, include_zero, target=5):
    """Round tick values (1, 2, 2.5 or 5 × 10^n apart) whose ends enclose [low, high]."""
    if include_zero:
        low, high = min(low, 0.0), max(high, 0.0)
    if high - low < 1e-12:
        pad = abs(high) * 0.1 or 1.0
        low, high = (low, high + pad) if include_zero and low == 0 else (low - pad, high + pad)
    step = nice_step((high - low) / target)
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    return [round(i * step, 10) for i in range(first, last + 1)], step


def tick_label(value, step):
    value = 0.0 if abs(value) < step * 1e-9 else value  # no "-0"
    return f"{value:,.{step_decimals(step)}f}"


# ---------------------------------------------------------------------------------------------
# SVG primitives


def el(tag, attrs=None, text=None, inner=""):
    attributes = "".join(f" {name}={quoteattr(str(value))}"
                         for name, value in (attrs or {}).items() if value is not None)
    body = (escape(text) if text is not None else "") + inner
    return f"<{tag}{attributes}>{body}</{tag}>" if body else f"<{tag}{attributes}/>"


def px(value):
    return f"{value:.1f}"


def text_width(text, size=12):
    return 0.6 * size * len(text)  # close enough for sans-serif digits and lower case


class Scale:
    def __init__(self, low, high, px_low, px_high):
        self.low, self.high, self.px_low, self.px_high = low, high, px_low, px_high

    def __call__(self, value):
        return self.px_low + (value - self.low) / (self.high - self.low) * (self.px_high - self.px_low)


def svg_document(title, parts):
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family={quoteattr(FONT)} font-size="12" '
            f'fill="{INK}">')
    background = el("rect", {"width": WIDTH, "height": HEIGHT, "fill": "white"})
    return "\n".join([head, el("title", text=title), background, *parts, "</svg>"]) + "\n"


def draw_header(title, subtitle):
    parts = [el("text", {"x": 16, "y": 24, "font-size": 15, "font-weight": "bold"}, title)]
    if subtitle:
        parts.append(el("text", {"x": 16, "y": 42, "fill": MUTED}, subtitle))
    return parts


def draw_y_axis(frame, y_scale, ticks, step, label):
    parts = []
    for value in ticks:
        y = px(y_scale(value))
        parts.append(el("line", {"x1": frame.left, "x2": frame.right, "y1": y, "y2": y,
                                 "stroke": GRID, "stroke-width": 1}))
        parts.append(el("text", {"x": frame.left - 6, "y": px(y_scale(value) + 4),
                                 "text-anchor": "end"}, tick_label(value, step)))
    middle = (frame.top + frame.bottom) / 2
    parts.append(el("text", {"x": 18, "y": px(middle), "text-anchor": "middle",
                             "transform": f"rotate(-90 18 {px(middle)})"}, label))
    parts.append(el("line", {"x1": frame.left, "x2": frame.left, "y1": frame.top,
                             "y2": frame.bottom, "stroke": INK}))
    return parts


def draw_x_axis(frame, x_scale=None, ticks=(), label=None):
    parts = [el("line", {"x1": frame.left, "x2": frame.right, "y1": frame.bottom,
                         "y2": frame.bottom, "stroke": INK})]
    for value, text in ticks:
        x = px(x_scale(value))
        parts.append(el("line", {"x1": x, "x2": x, "y1": frame.bottom, "y2": frame.bottom + 5,
                                 "stroke": INK}))
        parts.append(el("text", {"x": x, "y": frame.bottom + 19, "text-anchor": "middle"}, text))
    if label:
        parts.append(el("text", {"x": px((frame.left + frame.right) / 2), "y": frame.bottom + 42,
                                 "text-anchor": "middle"}, label))
    return parts


def marker(shape, x, y, colour, filled, tooltip=None, css_class="point"):
    style = {"class": css_class, "fill": colour if filled else "white", "stroke": colour,
             "stroke-width": 1.5}
    inner = el("title", text=tooltip) if tooltip else ""
    if shape == "circle":
        return el("circle", {"cx": px(x), "cy": px(y), "r": 4, **style}, inner=inner)
    if shape == "square":
        return el("rect", {"x": px(x - 3.6), "y": px(y - 3.6), "width": 7.2, "height": 7.2,
                           **style}, inner=inner)
    offsets = {"triangle": ((0, -5), (4.5, 3.5), (-4.5, 3.5)),
               "diamond": ((0, -5), (5, 0), (0, 5), (-5, 0))}[shape]
    points = " ".join(f"{px(x + dx)},{px(y + dy)}" for dx, dy in offsets)
    return el("polygon", {"points": points, **style}, inner=inner)


# swatch: a DASHES key for a line sample, "bar" for a filled square, None for a text-only row.
LegendEntry = namedtuple("LegendEntry", "label colour swatch marker filled")


def draw_legend(entries, top):
    parts = []
    for index, entry in enumerate(entries):
        y = top + 20 * index
        if entry.swatch == "bar":
            parts.append(el("rect", {"x": LEGEND_X + 5, "y": y - 6, "width": 14, "height": 12,
                                     "fill": entry.colour}))
        elif entry.swatch:
            parts.append(el("line", {"x1": LEGEND_X, "x2": LEGEND_X + 24, "y1": y, "y2": y,
                                     "stroke": entry.colour, "stroke-width": 2,
                                     "stroke-dasharray": DASHES[entry.swatch],
                                     "stroke-linecap": "round"}))
        if entry.marker:
            parts.append(marker(entry.marker, LEGEND_X + 12, y, entry.colour, entry.filled,
                                css_class="legend-marker"))
        text_x = LEGEND_X + (30 if entry.swatch or entry.marker else 0)
        parts.append(el("text", {"x": text_x, "y": y + 4}, entry.label))
    return [el("g", {"class": "legend"}, inner="".join(parts))]


# ---------------------------------------------------------------------------------------------
# Line charts


Series = namedtuple("Series", "name colour dash marker filled points")  # points: (x, y, tooltip)
Reference = namedtuple("Reference", "name colour value tooltip")
LineChart = namedtuple("LineChart", "title subtitle x_label y_label x_max series references "
                                    "legend include_zero")


def draw_series(series, x_scale, y_scale):
    points = sorted(series.points)
    path = " ".join(f"{'M' if i == 0 else 'L'}{px(x_scale(x))},{px(y_scale(y))}"
                    for i, (x, y, _) in enumerate(points))
    parts = [el("path", {"d": path, "fill": "none", "stroke": series.colour, "stroke-width": 2,
                         "stroke-dasharray": DASHES[series.dash]})]
    parts += [marker(series.marker, x_scale(x), y_scale(y), series.colour, series.filled, tooltip)
              for x, y, tooltip in points]
    return el("g", {"class": "series", "data-series": series.name}, inner="".join(parts))


def draw_reference(reference, frame, y_scale):
    y = px(y_scale(reference.value))
    line = el("line", {"x1": frame.left, "x2": frame.right, "y1": y, "y2": y,
                       "stroke": reference.colour, "stroke-width": 2,
                       "stroke-dasharray": DASHES["dotted"], "stroke-linecap": "round"},
              inner=el("title", text=reference.tooltip))
    return el("g", {"class": "reference", "data-series": reference.name}, inner=line)


def integer_ticks(x_max):
    # Every rank up to 12, otherwise round steps: ranks are whole numbers either way.
    if x_max <= 12:
        return list(range(1, x_max + 1))
    ticks, _ = nice_ticks(1, x_max, include_zero=False, target=8)
    return [int(t) for t in ticks if 1 <= t <= x_max]


def render_line_chart(chart):
    frame = LINE_FRAME
    values = [y for series in chart.series for _, y, _ in series.points]
    values += [reference.value for reference in chart.references]
    y_ticks, step = nice_ticks(min(values), max(values), chart.include_zero)
    y_scale = Scale(y_ticks[0], y_ticks[-1], frame.bottom, frame.top)
    # Half a rank of margin keeps the end markers off the axes.
    x_scale = Scale(0.5, chart.x_max + 0.5, frame.left, frame.right)
    x_ticks = [(value, str(value)) for value in integer_ticks(chart.x_max)]
    parts = draw_header(chart.title, chart.subtitle)
    parts += draw_y_axis(frame, y_scale, y_ticks, step, chart.y_label)
    parts += draw_x_axis(frame, x_scale, x_ticks, chart.x_label)
    parts += [draw_reference(reference, frame, y_scale) for reference in chart.references]
    parts += [draw_series(series, x_scale, y_scale) for series in chart.series]
    parts += draw_legend(chart.legend, frame.top + 6)
    return svg_document(chart.title, parts)


# ---------------------------------------------------------------------------------------------
# Bar chart

Bar = namedtuple("Bar", "form label sublabel value macs tooltip")
BarGroup = namedtuple("BarGroup", "label bars")
# x_label and y_cap default to the accuracy charts': forms per model, no tick above 100 %.
BarChart = namedtuple("BarChart", "title subtitle y_label groups legend x_label y_cap",
                      defaults=("conv form and ratio, per model", 100.0))
BarLayout = namedtuple("BarLayout", "frame centres slot rotate caption_height")


def bar_slots(groups, frame):
    """x centre of every bar and the slot width; groups are set apart by 0.7 of a slot."""
    gap = 0.7
    slots = sum(len(group.bars) for group in groups) + gap * (len(groups) + 1)
    width = (frame.right - frame.left) / slots
    centres, x = [], frame.left + gap * width
    for group in groups:
        centres.append([x + (i + 0.5) * width for i in range(len(group.bars))])
        x += (len(group.bars) + gap) * width
    return centres, width


def caption_lines(bar):
    return [bar.label] + ([bar.sublabel] if bar.sublabel else [])


def captions_collide(left, right, slot):
    return any((text_width(a) + text_width(b)) / 2 + 6 > slot for a, b in zip(left, right))


def bar_layout(groups):
    centres, slot = bar_slots(groups, BAR_FRAME)
    captions = [caption_lines(bar) for group in groups for bar in group.bars]
    # Captions sit under their bars unless neighbours would touch; then they are read upwards,
    # and the plot gives up height for them rather than letting them overlap.
    rotate = any(captions_collide(left, right, slot) for left, right in zip(captions, captions[1:]))
    if rotate:
        height = max(text_width(" ".join(lines)) for lines in captions) + 14
    else:
        height = 6 + 14 * max(len(lines) for lines in captions)
    frame = BAR_FRAME._replace(bottom=HEIGHT - 52 - height)
    return BarLayout(frame, centres, slot, rotate, height)


def draw_caption(bar, centre, layout):
    bottom = layout.frame.bottom
    if layout.rotate:
        x, y = px(centre + 4), px(bottom + 8)
        return [el("text", {"x": x, "y": y, "text-anchor": "end", "transform": f"rotate(-90 {x} {y})"},
                   " ".join(caption_lines(bar)))]
    return [el("text", {"x": px(centre), "y": bottom + 17 + 14 * index, "text-anchor": "middle",
                        "fill": INK if index == 0 else MUTED}, line)
            for index, line in enumerate(caption_lines(bar))]


def draw_macs(bar, centre, top, layout):
    text = fmt_macs(bar.macs)
    if text_width(text) <= layout.slot:
        return el("text", {"class": "macs", "x": px(centre), "y": px(top - 5),
                           "text-anchor": "middle"}, text)
    # Too wide to lie flat: read upwards, inside the bar when it is tall enough, so tall bars
    # do not push their label into the title.
    inside = layout.frame.bottom - top >= text_width(text) + 10
    x, y = px(centre + 4), px(top + 5 if inside else top - 5)
    return el("text", {"class": "macs", "x": x, "y": y, "text-anchor": "end" if inside else "start",
                       "fill": FORM_TEXT.get(bar.form, INK) if inside else INK,
                       "transform": f"rotate(-90 {x} {y})"}, text)


def draw_bar(bar, centre, layout, y_scale):
    top = y_scale(bar.value)
    parts = [el("rect", {"class": "bar", "data-form": bar.form, "x": px(centre - 0.4 * layout.slot),
                         "y": px(top), "width": px(0.8 * layout.slot),
                         "height": px(layout.frame.bottom - top),
                         "fill": FORM_COLOURS.get(bar.form, MUTED)},
                inner=el("title", text=bar.tooltip))]
    if bar.macs is not None:
        parts.append(draw_macs(bar, centre, top, layout))
    return parts + draw_caption(bar, centre, layout)


def render_bar_chart(chart):
    layout = bar_layout(chart.groups)
    frame = layout.frame
    highest = max(bar.value for group in chart.groups for bar in group.bars)
    # Headroom for the MACs labels, but never a tick above the cap (100 % for accuracy).
    top = highest * 1.12 if chart.y_cap is None else min(chart.y_cap, highest * 1.12)
    y_ticks, step = nice_ticks(0.0, top, include_zero=True)
    y_scale = Scale(y_ticks[0], y_ticks[-1], frame.bottom, frame.top)
    parts = draw_header(chart.title, chart.subtitle)
    parts += draw_y_axis(frame, y_scale, y_ticks, step, chart.y_label)
    parts += draw_x_axis(frame)
    group_y = frame.bottom + layout.caption_height + 16
    for group, centres in zip(chart.groups, layout.centres):
        for bar, centre in zip(group.bars, centres):
            parts += draw_bar(bar, centre, layout, y_scale)
        parts.append(el("text", {"x": px((centres[0] + centres[-1]) / 2), "y": px(group_y),
                                 "text-anchor": "middle", "font-weight": "bold"}, group.label))
    parts.append(el("text", {"x": px((frame.left + frame.right) / 2), "y": px(group_y + 22),
                             "text-anchor": "middle"}, chart.x_label))
    parts += draw_legend(chart.legend, frame.top + 6)
    return svg_document(chart.title, parts)


# ---------------------------------------------------------------------------------------------
# From rows to charts


def describe_selection(rows):
    """'experiment sweep-1000 · 1000 steps' for the subtitle; lists are cut short to fit."""
    experiments = sorted({row.get("experiment", "") for row in rows} - {""})
    steps = sorted({int_value(row, "steps") for row in rows} - {None})
    parts = []
    if experiments:
        parts.append(("experiment " if len(experiments) == 1 else "experiments ")
                     + ", ".join(experiments))
    if len(steps) == 1:
        parts.append(f"{steps[0]:,} steps")
    elif steps:
        parts.append(f"{steps[0]:,}–{steps[-1]:,} steps")
    text = " · ".join(parts)
    return text if len(text) <= 80 else text[:79] + "…"


def note_averaged(groups, what):
    """One stderr line naming the points that average several configurations."""
    shared = [(key, rows) for key, rows in sorted(groups.items()) if len(rows) > 1]
    if not shared:
        return
    places = [what(key) for key, _ in shared]
    listed = ", ".join(places[:4]) + (", …" if len(places) > 4 else "")
    labels = ", ".join(sorted({row.get("experiment") or "?" for _, rows in shared for row in rows}))
    note(f"averaging runs of different configurations (experiments {labels}) at {listed}; "
         f"use --experiment to pick one")


RankMetric = namedtuple("RankMetric", "column label dash filled")
RankPlot = namedtuple("RankPlot", "filename title y_label unit scale metrics include_zero "
                                  "dense_fallback")

RANK_PLOTS = (
    RankPlot("accuracy_vs_rank.svg", "Accuracy vs rank", "accuracy (%)", "%", 100.0,
             (RankMetric("test_accuracy", "test accuracy", "solid", True),
              RankMetric("train_accuracy", "train accuracy", "dashed", False)), False, None),
    # Without a dense row, the dense latency measured beside each rank-L run stands in for it.
    RankPlot("latency_vs_rank.svg", "RankEdge runtime latency vs rank",
             "latency, batch 1, 1 thread (ms)", " ms", 1.0,
             (RankMetric("latency_ms", "rank-L conv", "solid", True),), True, "dense_latency_ms"),
    RankPlot("params_vs_rank.svg", "Trainable parameters vs rank", "parameters (thousands)", "k",
             1e-3, (RankMetric("params", "rank-L conv", "solid", True),), True, None),
    RankPlot("train_time_vs_rank.svg", "Training wall time vs rank", "training time (s)", " s", 1.0,
             (RankMetric("train_seconds", "rank-L conv", "solid", True),), True, None),
)

RankData = namedtuple("RankData", "kernels by_kernel_rank dense_by_kernel subtitle")


def rank_data(rows, model):
    """The rows of the rank plots, grouped by (k, L) and by k for dense; None when there are none."""
    rows = [row for row in rows if row.get("model") == model and int_value(row, "kernel")]
    with_dso = [row for row in rows if dso_value(row) != 0]
    if with_dso:
        note(f"rank plots: leaving out {len(with_dso)} {model} run(s) trained with DSO "
             f"(they are in the --markdown table)")
    rows = [row for row in rows if dso_value(row) == 0]
    ranked = [row for row in rows if run_rank(row) is not None]
    dense = [row for row in rows if conv_form(row)[0] == "dense"]
    if not ranked and not dense:
        return None
    by_kernel_rank = group_by(ranked, lambda row: (int_value(row, "kernel"), run_rank(row)))
    dense_by_kernel = group_by(dense, lambda row: int_value(row, "kernel"))
    note_averaged({**{(k, 0): rows for k, rows in dense_by_kernel.items()}, **by_kernel_rank},
                  lambda key: f"{model} k={key[0]} " + (f"rank {key[1]}" if key[1] else "dense"))
    kernels = sorted({k for k, _ in by_kernel_rank} | set(dense_by_kernel))
    subtitle = " · ".join(filter(None, [f"model {model}", describe_selection(ranked + dense)]))
    return RankData(kernels, by_kernel_rank, dense_by_kernel, subtitle)


def kernel_style(index):
    return PALETTE[index % len(PALETTE)], MARKERS[index % len(MARKERS)]


def dense_reference(plot, data, k, colour):
    dense_rows = data.dense_by_kernel.get(k, [])
    column = plot.metrics[0].column
    value = mean_of(dense_rows, column, plot.scale)
    if value is None and plot.dense_fallback:
        ranked = [row for (kernel, _), rows in data.by_kernel_rank.items() if kernel == k
                  for row in rows]
        value = mean_of(ranked, plot.dense_fallback, plot.scale)
    if value is None:
        return None
    return Reference(f"k={k} dense", colour, value,
                     f"k={k}, dense, {plot.metrics[0].label}: {fmt_sig(value)}{plot.unit}")


def rank_series(plot, metric, data, k, style):
    colour, shape = style
    points = []
    for (kernel, rank), rows in data.by_kernel_rank.items():
        value = mean_of(rows, metric.column, plot.scale)
        if kernel == k and value is not None:
            points.append((rank, value, f"k={k}, rank {rank}, {metric.label}: "
                                        f"{fmt_sig(value)}{plot.unit}"))
    if not points:
        return None
    return Series(f"k={k} {metric.label}", colour, metric.dash, shape, metric.filled, points)


def rank_legend(plot, data, series, references):
    # Colour and marker name the kernel size; line style names the metric, in neutral ink.
    shown = {name.split()[0] for name in [s.name for s in series] + [r.name for r in references]}
    entries = []
    for index, k in enumerate(data.kernels):
        colour, shape = kernel_style(index)
        if f"k={k}" in shown:
            entries.append(LegendEntry(f"k = {k}", colour, "solid", shape, True))
    several = len(plot.metrics) > 1
    # With several metrics the markers differ too (filled / open), so the legend shows them.
    entries += [LegendEntry(metric.label, MUTED, metric.dash, "circle" if several else None,
                            metric.filled)
                for metric in plot.metrics if any(s.dash == metric.dash for s in series)]
    if references:
        suffix = f" ({plot.metrics[0].label.split()[0]})" if several else ""
        entries.append(LegendEntry("dense" + suffix, MUTED, "dotted", None, False))
    return entries


def build_rank_chart(plot, data):
    series, references = [], []
    for index, k in enumerate(data.kernels):
        style = kernel_style(index)
        series += filter(None, (rank_series(plot, metric, data, k, style) for metric in plot.metrics))
        reference = dense_reference(plot, data, k, style[0])
        if reference:
            references.append(reference)
    if not series and not references:
        return None
    x_max = max(data.kernels + [x for s in series for x, _, _ in s.points])
    return LineChart(plot.title, data.subtitle, "rank L of every k×k conv", plot.y_label, x_max,
                     series, references, rank_legend(plot, data, series, references),
                     plot.include_zero)


def bar_for(rows, form, ratio, dso):
    value = mean_of(rows, "test_accuracy", 100.0)
    if value is None:
        return None
    macs = mean_of(rows, "macs")
    label = "dense" if ratio is None else f"{ratio:g}"
    sublabel = f"DSO {dso:g}" if dso else ""
    details = [FORM_NAMES[form] + ("" if ratio is None else f" {ratio:g}"), sublabel,
               f"test accuracy {fmt_sig(value)}%", "" if macs is None else f"{fmt_macs(macs)} MACs"]
    return Bar(form, label, sublabel, value, macs, ", ".join(filter(None, details)))


def bar_group(label, rows):
    rows = [row for row in rows if conv_form(row)[0] in FORM_COLOURS]
    configs = group_by(rows, lambda row: (FORM_ORDER[conv_form(row)[0]], conv_form(row)[1] or 0.0,
                                          dso_value(row)))
    note_averaged(configs, lambda key: f"elrt: {label} {rows_label(configs[key][0])}")
    bars = []
    for _, config_rows in sorted(configs.items()):
        form, ratio = conv_form(config_rows[0])
        bar = bar_for(config_rows, form, ratio, dso_value(config_rows[0]))
        if bar is None:
            note(f"elrt: {label} {rows_label(config_rows[0])} has no test accuracy, left out")
        else:
            bars.append(bar)
    return BarGroup(label, bars) if bars else None


def rows_label(row):
    return row.get("conv", "") + (f" + DSO {dso_value(row):g}" if dso_value(row) else "")


def build_elrt_chart(rows):
    by_model_kernel = group_by(rows, lambda row: (row.get("model", ""), int_value(row, "kernel") or 0))
    compared = {key: group_rows for key, group_rows in by_model_kernel.items()
                if any(conv_form(row)[0] in ("tucker2", "elrt") for row in group_rows)}
    kernels_per_model = group_by(compared, lambda key: key[0])
    groups = []
    for (model, k), group_rows in sorted(compared.items()):
        label = model if len(kernels_per_model[model]) == 1 else f"{model} k={k}"
        group = bar_group(label, group_rows)
        if group:
            groups.append(group)
    if not groups:
        return None
    forms = {bar.form for group in groups for bar in group.bars}
    legend = [LegendEntry(FORM_NAMES[form], FORM_COLOURS[form], "bar", None, True)
              for form in FORM_COLOURS if form in forms]
    legend.append(LegendEntry("bar labels:", INK, None, None, False))
    legend.append(LegendEntry("MACs per image", INK, None, None, False))
    used = [row for key in compared for row in compared[key]]
    return BarChart("Dense vs Tucker-2 vs ELRT: test accuracy", describe_selection(used),
                    "test accuracy (%)", groups, legend)


# ---------------------------------------------------------------------------------------------
# Output


def write_atomic(path, text):
    directory = os.path.dirname(path) or "."
    handle, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                         dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)  # mkstemp makes the file private; these are published docs
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def charts(rows):
    """(file name, SVG text or None) for every plot, in a fixed order."""
    data = rank_data(rows, RANK_MODEL)
    for plot in RANK_PLOTS:
        chart = build_rank_chart(plot, data) if data else None
        yield plot.filename, chart and render_line_chart(chart)
    chart = build_elrt_chart(rows)
    yield "elrt.svg", chart and render_bar_chart(chart)


def write_plots(rows, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for filename, svg in charts(rows):
        path = os.path.join(out_dir, filename)
        if svg is None:
            note(f"{filename}: no data in the selected rows, skipped")
        else:
            write_atomic(path, svg)
            note(f"wrote {path}")


def markdown_order(row):
    form, parameter = conv_form(row)
    return (row.get("model", ""), int_value(row, "kernel") or 0, FORM_ORDER.get(form, len(FORM_ORDER)),
            form, parameter or 0.0, dso_value(row), row.get("experiment", ""),
            int_value(row, "steps") or 0)


def cell(value, formatter):
    return "—" if value is None else formatter(value)


def markdown_row(row):
    conv = rows_label(row)
    cells = [row.get("experiment", ""), row.get("model", ""), cell(int_value(row, "kernel"), str),
             conv, cell(int_value(row, "steps"), lambda v: f"{v:,}"),
             cell(num(row, "test_accuracy"), lambda v: f"{100 * v:.1f}"),
             cell(num(row, "train_accuracy"), lambda v: f"{100 * v:.1f}"),
             cell(int_value(row, "params"), lambda v: f"{v:,}"),
             cell(num(row, "macs"), fmt_macs),
             cell(num(row, "train_seconds"), fmt_sig),
             cell(num(row, "latency_ms"), fmt_sig)]
    return "| " + " | ".join(text.replace("|", "\\|") or "—" for text in cells) + " |"


def markdown_table(rows):
    header = ("experiment", "model", "k", "conv", "steps", "test %", "train %", "params", "MACs",
              "train s", "latency ms")
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i < 4 else "---:" for i in range(len(header))) + "|"]
    lines += [markdown_row(row) for row in sorted(rows, key=markdown_order)]
    return "\n".join(lines)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="plot_experiments.py",
        description="SVG plots and a Markdown table from `rankedge train --results` CSV files.")
    parser.add_argument("--csv", required=True, metavar="FILE", help="results CSV to read")
    parser.add_argument("--out", metavar="DIR",
                        help=f"directory for the SVG files (default {DEFAULT_OUT})")
    parser.add_argument("--experiment", metavar="LABEL",
                        help="use only rows with this experiment label (default: all rows)")
    parser.add_argument("--markdown", action="store_true",
                        help="print a Markdown table of the rows to stdout; plots are then "
                             "written only if --out is given too")
    return parser.parse_args(argv)


def select_experiment(rows, label, path):
    if label is None:
        return rows
    selected = [row for row in rows if row.get("experiment", "") == label]
    if rows and not selected:
        known = ", ".join(sorted({row.get("experiment", "") for row in rows})) or "none"
        raise CsvError(f"{path}: no rows with experiment {label!r} (labels: {known})")
    return selected


def exit_status(prog, action, expected):
    """Runs action(): 0, or 1 after one stderr line for an `expected` error or an OSError."""
    try:
        action()
    except expected as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"{prog}: error: {error.filename or ''}: {error.strerror or error}", file=sys.stderr)
        return 1
    return 0


def main(argv=None):
    args = parse_args(argv)

    def run():
        rows = latest_per_configuration(read_runs(args.csv))
        rows = select_experiment(rows, args.experiment, args.csv)
        if args.markdown:
            print(markdown_table(rows))
        if not args.markdown or args.out is not None:
            write_plots(rows, args.out or DEFAULT_OUT)

    return exit_status(PROG, run, CsvError)


if __name__ == "__main__":
    sys.exit(main())
