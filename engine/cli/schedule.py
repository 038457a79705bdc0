"""`lrscope schedule show|csv|plot FILE`: look at a schedule file without training."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from ..schedules.chart import line_chart
from ..schedules.describe import describe_schedule
from ..schedules.groups import describe_groups
from ..schedules.schedule_file import load_schedule
from .common import CliError, say


def add_parser(commands) -> None:
    """Register `schedule` and its three actions."""
    parser = commands.add_parser("schedule", help="show, print or plot a schedule file")
    actions = parser.add_subparsers(dest="action", required=True, metavar="{show,csv,plot}")
    show = actions.add_parser("show", help="summary: dataset, context, segments, edits, suggestions")
    show.add_argument("file", type=Path)
    show.set_defaults(handler=show_command)
    table = actions.add_parser("csv", help="step, LR of each parameter group, momentum")
    table.add_argument("file", type=Path)
    table.add_argument("--steps", type=int, help="re-stretch to a run of this many steps")
    table.set_defaults(handler=csv_command)
    plot = actions.add_parser("plot", help="draw the LR (and momentum) against the step into a PNG")
    plot.add_argument("file", type=Path)
    plot.add_argument("-o", "--output", type=Path, required=True)
    plot.add_argument("--steps", type=int, help="re-stretch to a run of this many steps")
    plot.set_defaults(handler=plot_command)


def _timeline(args: argparse.Namespace):
    loaded = load_schedule(args.file)
    if args.steps is not None and args.steps < 1:
        raise CliError("--steps: must be at least 1")
    return loaded, loaded.for_run(args.steps) if args.steps else loaded.timeline


def _group_lrs(loaded, timeline, steps: np.ndarray) -> dict[str, np.ndarray]:
    """The LR of each group per step, by name: the model's groups when the file names them, else the file's own."""
    names = loaded.group_names or timeline.group_names
    return dict(zip(names, timeline.group_lrs(steps, names).T))


def show_command(args: argparse.Namespace) -> int:
    """Print what the file holds."""
    loaded = load_schedule(args.file)
    timeline = loaded.timeline
    dataset, context = loaded.dataset or {}, loaded.context or {}
    print(f"file        {args.file} (lrscope {loaded.lrscope_version or '?'}, {loaded.created or 'no date'})")
    print(f"dataset     {dataset.get('name', '?')} (fingerprint {dataset.get('fingerprint', '?')}, {dataset.get('image_count', '?')} images, "
          f"{len(dataset.get('classes') or [])} classes, {dataset.get('resolution', '?')} px)")
    if context:
        optimizer = context.get("optimizer") or {}
        print(f"context     {context.get('model')} / {optimizer.get('name')} momentum {optimizer.get('momentum')}, "
              f"batch {context.get('batch_size')}, {context.get('steps_per_epoch')} steps per epoch")
    print(f"length      {timeline.total_steps} steps")
    print(f"groups      {', '.join(loaded.group_names or timeline.group_names)}")
    for piece in timeline.pieces:
        print(f"from step {piece.start:<7} {describe_schedule(piece.schedule)}; {describe_groups(piece.groups)}")
    for edit in loaded.edits:
        print(f"edit at step {edit.get('step')} ({edit.get('reason')}): {str(edit.get('summary'))[:200]}")
    recommended = (loaded.range_test or {}).get("recommended")
    if recommended:
        print(f"range test  constant {recommended.get('constant_lr'):.3g}, one-cycle max {recommended.get('one_cycle_max_lr'):.3g}")
    if loaded.metrics:
        print(f"metrics     {', '.join(f'{k} {v}' for k, v in loaded.metrics.items())}")
    return 0


def csv_command(args: argparse.Namespace) -> int:
    """step, lr_<group>..., momentum on stdout."""
    loaded, timeline = _timeline(args)
    steps = np.arange(timeline.total_steps)
    lrs, momenta = _group_lrs(loaded, timeline, steps), timeline.momenta(steps)
    writer = csv.writer(sys.stdout)
    writer.writerow(["step", *[f"lr_{name}" for name in lrs], "momentum"])
    columns = np.column_stack(list(lrs.values()))
    for step, row, momentum in zip(steps, columns, momenta):
        writer.writerow([int(step), *[repr(float(lr)) for lr in row], "" if np.isnan(momentum) else repr(float(momentum))])
    return 0


def plot_command(args: argparse.Namespace) -> int:
    """A PNG of the LR per group against the step."""
    loaded, timeline = _timeline(args)
    steps = np.arange(timeline.total_steps)
    series = {f"lr {name}": lrs for name, lrs in _group_lrs(loaded, timeline, steps).items()}
    name = (loaded.dataset or {}).get("name", "?")
    line_chart(args.output, steps, series, title=f"LR schedule tuned on {name}", xlabel="step", ylabel="learning rate", log_y=True)
    say(f"wrote {args.output}")
    return 0
