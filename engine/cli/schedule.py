"""`lrscope schedule show|csv|plot FILE`: look at a schedule file without training; `list|add|delete`: the library."""

from __future__ import annotations

import argparse
import csv
import json
import sys

import numpy as np

from ..data.sizes import sizes_text
from ..schedules.chart import line_chart
from ..schedules.describe import describe_schedule
from ..schedules.groups import ALL, describe_groups
from ..schedules.sampling import plot_steps
from ..schedules.timeline import merged_spans
from ..text import counted, printable
from .common import LIBRARY_DIR_HELP, CliError, check_writable, path_arg, read_schedule, say
from .progress import edit_line

CSV_BLOCK = 65_536
MAX_STEPS = 10**9  # a schedule file's longest segment; a typo's extra zeros must not stream 10^10 CSV rows
SHOWN = 50
SCHEDULE_FILE_HELP = "a schedule file (.lrschedule.json): one exported from a run, a range test or a tune"


def add_parser(commands) -> None:
    """Register `schedule` and its actions."""
    parser = commands.add_parser("schedule", help="show, print or plot a schedule file; list, add to or delete from the "
                                                  "tuned-schedule library")
    actions = parser.add_subparsers(dest="action", required=True, metavar="{show,csv,plot,list,add,delete}")
    show = actions.add_parser("show", help="summary: dataset, context, segments, edits, suggestions")
    show.add_argument("file", type=path_arg, help=SCHEDULE_FILE_HELP)
    show.set_defaults(handler=show_command)
    table = actions.add_parser("csv", help="step, LR of each parameter group, momentum")
    table.add_argument("file", type=path_arg, help=SCHEDULE_FILE_HELP)
    table.add_argument("--steps", type=int, help="re-stretch to a run of this many steps")
    table.set_defaults(handler=csv_command)
    plot = actions.add_parser("plot", help="draw the LR of each parameter group against the step into a PNG (csv prints the momentum)")
    plot.add_argument("file", type=path_arg, help=SCHEDULE_FILE_HELP)
    plot.add_argument("-o", "--output", type=path_arg, required=True, metavar="FILE", help="the PNG file to write")
    plot.add_argument("--steps", type=int, help="re-stretch to a run of this many steps")
    plot.set_defaults(handler=plot_command)
    listing = actions.add_parser("list", help="the library's schedules, newest first: one folder per dataset, each exported "
                                              "schedule kept there (`train --schedule FILE` uses one)")
    listing.add_argument("--dataset", metavar="NAME", help="only the schedules of datasets whose name or fingerprint starts so")
    listing.add_argument("--library-dir", type=path_arg, help=LIBRARY_DIR_HELP)
    listing.add_argument("--json", action="store_true", help="one JSON array (for scripts)")
    listing.set_defaults(handler=list_command)
    adding = actions.add_parser("add", help="add a schedule file (one received from elsewhere) to the library, under the "
                                            "dataset it was tuned on")
    adding.add_argument("file", type=path_arg, help=SCHEDULE_FILE_HELP)
    adding.add_argument("--library-dir", type=path_arg, help=LIBRARY_DIR_HELP)
    adding.set_defaults(handler=add_command)
    deleting = actions.add_parser("delete", help="delete a schedule from the library")
    deleting.add_argument("entry", metavar="ENTRY", help="the schedule's file as `schedule list` prints it (or its file name)")
    deleting.add_argument("--library-dir", type=path_arg, help=LIBRARY_DIR_HELP)
    deleting.set_defaults(handler=delete_command)


def _timeline(args: argparse.Namespace):
    if args.steps is not None and not 1 <= args.steps <= MAX_STEPS:
        raise CliError(f"--steps: must be between 1 and {MAX_STEPS:,}")
    loaded = read_schedule(args.file)
    # What trains again, as torch_scheduler and train --schedule train it: without the steps of an undone edit.
    return loaded, loaded.for_run(args.steps or loaded.timeline.total_steps)


def _listed(items: list, line, what: str) -> None:
    """Print ``line(item)`` for the first SHOWN items and say how many more there are."""
    for item in items[:SHOWN]:
        print(line(item))
    if len(items) > SHOWN:
        print(f"… and {len(items) - SHOWN:,} more {what} (`lrscope schedule csv` prints every step)")


def _names(loaded, timeline) -> tuple[str, ...]:
    """The model's groups when the file names them, else the groups its pieces name ('all' only if none is named:
    a piece that names every group without 'all' could not say what 'all' is)."""
    named = tuple(n for n in timeline.group_names if n != ALL)
    return loaded.group_names or named or (ALL,)


def _group_lrs(loaded, timeline, steps: np.ndarray) -> dict[str, np.ndarray]:
    """The LR of each group per step, by name."""
    names = _names(loaded, timeline)
    return dict(zip(names, timeline.group_lrs(steps, names).T))


def show_command(args: argparse.Namespace) -> int:
    """Print what the file holds."""
    loaded = read_schedule(args.file)
    timeline = loaded.timeline
    dataset, context = loaded.dataset or {}, loaded.context or {}
    print(f"file        {printable(str(args.file))} (lrscope {loaded.lrscope_version or '?'}, {loaded.created or 'no date'})")
    if dataset:
        print(f"dataset     {dataset.get('name', '?')} (fingerprint {dataset.get('fingerprint', '?')}, {counted(dataset.get('image_count', '?'), 'image')}, "
              f"{counted(len(dataset.get('classes') or []), 'class')}, {dataset.get('resolution', '?')} px)")
    else:  # a file written by hand: "? (fingerprint ?, ? images, 0 classes, ? px)" (helper-76)
        print("dataset     not recorded (train --schedule asks before using it, or takes --accept-mismatch)")
    if sizes := sizes_text(dataset.get("image_sizes") or {}, dataset.get("size_counts"), dataset.get("sizes_read"),
                           dataset.get("image_count", 0)):
        print(f"sizes       {sizes}")
    if context:
        optimizer = context.get("optimizer") or {}
        tuned = loaded.tuned_batch
        batch = (f"{tuned[0]} × {tuned[1]} processes (global batch {tuned[0] * tuned[1]})" if tuned and tuned[1] > 1
                 else context.get("batch_size"))
        print(f"context     {context.get('model')} / {optimizer.get('name')} momentum {optimizer.get('momentum')}, "
              f"batch {batch}, {counted(context.get('steps_per_epoch'), 'step')} per epoch")
    print(f"length      {counted(timeline.total_steps, 'step')}")
    print(f"groups      {', '.join(printable(n) for n in _names(loaded, timeline))}")
    # Each piece is in force until the next begins (its own schedule may run longer: an edit cuts it there).
    ends = [p.start for p in timeline.pieces[1:]] + [timeline.total_steps]
    _listed(list(zip(timeline.pieces, ends)), lambda pe: f"steps {pe[0].start}–{pe[1]} ({counted(pe[1] - pe[0].start, 'step')}): "
            f"{describe_schedule(pe[0].schedule)}{_cut(*pe)}; {printable(describe_groups(pe[0].groups))}", "pieces")
    # Numbered and marked: "undid edit #2" named a number the list did not show, and an undone edit read as in effect.
    said = loaded.fates
    _listed(loaded.edits, lambda e: _edit_line(e, f"; {said[e.get('id')]}" if e.get("id") in said else ""), "edits")
    if spans := merged_spans(loaded.taken_back):
        where = ", ".join(f"{first}–{end}" for first, end in spans)
        # "the schedule it went back to" read as the plan before the edit, where a redo trains the redone edit (helper-76).
        print(f"undone      steps {where} trained what the run took back later (an undone edit, an undo it redid); "
              "trained again (train --schedule, torch_scheduler, csv, plot) they follow what the run kept in force: the "
              "plan before an undone edit, a redone edit from its own step")
    recommended = (loaded.range_test or {}).get("recommended") or {}
    if "constant_lr" in recommended and "one_cycle_max_lr" in recommended:
        print(f"range test  constant {recommended['constant_lr']:.3g}, one-cycle max {recommended['one_cycle_max_lr']:.3g}")
    if loaded.range_test_doubt:
        print(f"            low confidence: {loaded.range_test_doubt}")
    if loaded.tuned_weight_decay is not None:
        print(f"tuned       weight decay {loaded.tuned_weight_decay:.3g} (lrscope train --schedule uses it)")
    if line := _search_line(loaded.search or {}):
        print(f"search      lrscope tune: {line}")
    if loaded.metrics:
        measured = {k: v for k, v in loaded.metrics.items() if v is not None}  # null: the run ended before its first validation
        # A run exported in progress: its metrics are those so far, not how it ended.
        in_progress = measured.pop("in_progress", None) is True
        if isinstance(run := measured.pop("run", None), str):
            print(f"from run    {printable(run)}{' (in progress when exported)' if in_progress else ''}")
        if set(measured) <= {"steps"}:
            steps = measured.get("steps")
            after = f", after {counted(steps, 'step')}" if isinstance(steps, int) else ""
            print(f"metrics     none: the run {'was exported' if in_progress else 'ended'} before its first validation{after}")
        else:
            print(f"metrics     {', '.join(f'{k} {_number(v)}' for k, v in measured.items())}")
    return 0


def _cut(piece, end: int) -> str:
    """Where a piece's own schedule, laid out from its origin, is cut: "steps 261–678 (417 steps): constant … over 449
    steps" gave two lengths with nothing to say how they meet (helper-79)."""
    if piece.origin == piece.start and piece.origin + piece.schedule.total_steps == end:
        return ""
    if piece.origin == piece.start:
        return f" (cut after its first {counted(end - piece.start, 'step')})"
    return f" (laid out from step {piece.origin}: its steps {piece.start - piece.origin}–{end - piece.origin} are in force here)"


def _edit_line(edit: dict, fate: str) -> str:
    """``edit #2 at step 21 (user): set LR to 0.05 for the rest; undone at step 30``."""
    number = f"#{edit['id']} " if isinstance(edit.get("id"), int) else ""
    return (f"edit {number}at " + edit_line(edit.get("step"), edit.get("reason"), printable(str(edit.get("source") or "")),
                                           str(edit.get("summary"))[:200]) + printable(fate))


def _search_line(search: dict) -> str:
    """What a tune chose, in the words its finish line used: "the winner lr 0.2" of a schedule that stayed, compared with
    nothing, read as a tuned 0.2 (helper-67). "" for a file without a search."""
    winner, baseline = search.get("winner") or {}, search.get("baseline") or {}
    if not isinstance(winner, dict) or not isinstance(winner.get("params"), dict):
        return ""
    trials = [t for t in search.get("trials") or () if isinstance(t, dict)] if isinstance(search.get("trials"), list) else []
    params = ", ".join(f"{k} {_number(v)}" for k, v in winner["params"].items())
    tried = f"{counted(len(trials), 'trial')}; " if trials else ""
    if not isinstance(baseline, dict) or winner.get("number") != baseline.get("number"):
        return f"{tried}the winner {params}"
    rivals = sum(t.get("state") == "complete" for t in trials) - 1
    if rivals <= 0:
        return f"{tried}your schedule kept ({params}): no other trial ran to the end, so nothing was compared with it"
    return f"{tried}your schedule kept ({params}): none of the {counted(rivals, 'other complete trial')} beat it"


def _number(value) -> str:
    """A metric as people read it: 0.9637883008356546 → 0.9638."""
    return f"{value:.4g}" if isinstance(value, float) else printable(str(value))


def csv_command(args: argparse.Namespace) -> int:
    """step, lr_<group>..., momentum on stdout, computed and written a block of steps at a time."""
    loaded, timeline = _timeline(args)
    writer = csv.writer(sys.stdout)
    names = _names(loaded, timeline)
    if set(timeline.group_names) == {ALL} and ALL not in names:  # alike: the LR every group gets, for an unnamed group
        names = (ALL, *names)
    writer.writerow(["step", *[f"lr_{printable(name)}" for name in names], "momentum"])
    for first in range(0, timeline.total_steps, CSV_BLOCK):
        steps = np.arange(first, min(first + CSV_BLOCK, timeline.total_steps))
        lrs, momenta = timeline.group_lrs(steps, names).tolist(), timeline.momenta(steps).tolist()
        writer.writerows([step, *map(repr, row), "" if momentum != momentum else repr(momentum)]
                         for step, row, momentum in zip(steps.tolist(), lrs, momenta))
    return 0


def plot_command(args: argparse.Namespace) -> int:
    """A PNG of the LR per group against the step, drawn from a bounded number of well-placed steps."""
    check_writable(args.output)
    loaded, timeline = _timeline(args)
    steps = plot_steps(timeline)
    if set(timeline.group_names) == {ALL}:  # alike: one line, not four names in the key over one visible line
        series = {"lr (every group)": timeline.group_lrs(steps, (ALL,))[:, 0]}
    else:
        series = {f"lr {printable(name)}": lrs for name, lrs in _group_lrs(loaded, timeline, steps).items()}
    name = (loaded.dataset or {}).get("name", "?")
    try:
        line_chart(args.output, steps, series, title=f"LR schedule tuned on {name}", xlabel="step", ylabel="learning rate", log_y=True)
    except (OSError, ValueError) as error:
        raise CliError(f"{args.output}: cannot be written ({error}); choose another file (ending in .png)") from None
    say(f"wrote {args.output}")
    return 0


def list_command(args: argparse.Namespace) -> int:
    """The library's entries, newest first, with what each was tuned on and how well its run did. The library had no
    command line: a run on a server could not find the schedule tuned for its dataset (helper-71)."""
    from ..schedules.library import ScheduleLibrary
    from ..store.paths import library_root

    root = library_root(args.library_dir)
    entries, problems = ScheduleLibrary(root).entries()
    wanted = (args.dataset or "").lower()
    entries = [e for e in entries if e.dataset.lower().startswith(wanted) or e.fingerprint.startswith(wanted)]
    for problem in problems:
        say(f"warning: {problem}")
    if args.json:
        print(json.dumps([{"file": str(e.path), "dataset": e.dataset, "fingerprint": e.fingerprint, "created": e.created,
                           "best_val_accuracy": e.best_val_accuracy, "schedule": e.description, "run": e.run or None,
                           "so_far_at_step": e.so_far_at}
                          for e in entries]))
        return 0
    if not entries:
        say(f"no schedules in {root}{f' for {printable(args.dataset)}' if args.dataset else ''}: `lrscope train "
            "--export-schedule FILE`, `tune` and the window's Export add one for their dataset")
        return 0
    for entry in entries:
        accuracy = f"best val {100 * entry.best_val_accuracy:.2f}%" if entry.best_val_accuracy is not None else "no validation"
        run = f", run {entry.run}" if entry.run else ""
        print(f"{printable(entry.dataset)} ({entry.fingerprint}) · {entry.local_time} · {accuracy}{entry.so_far}{run}\n"
              f"  {printable(entry.description)}\n  {printable(str(entry.path))}")
    say("`lrscope train --data DIR --schedule FILE` trains one (a file tuned on another dataset is asked about first)")
    return 0


def add_command(args: argparse.Namespace) -> int:
    """Copy a schedule file into its dataset's library folder, checked as any import: the window's Import only loaded a
    received file into the editor, and nothing put it in the library (helper-80)."""
    from ..schedules.library import ScheduleLibrary
    from ..store.paths import library_root

    held, done, loaded = ScheduleLibrary(library_root(args.library_dir)).add_file(args.file)
    for warning in loaded.warnings:
        say(f"warning: {printable(str(args.file))}: {warning}")
    dataset = loaded.dataset or {}
    say(f"{done} the library of {printable(str(dataset.get('name', '?')))} "
        f"({dataset.get('fingerprint')}): {printable(str(held))}")
    return 0


def delete_command(args: argparse.Namespace) -> int:
    """Delete one library entry, named as `schedule list` names it (only `rm` did it, or the window)."""
    from ..schedules.library import ScheduleLibrary
    from ..store.paths import library_root

    library = ScheduleLibrary(library_root(args.library_dir))
    path = library.find(args.entry)
    library.remove(path)
    say(f"deleted {printable(str(path))} from the library")
    return 0
