"""`lrscope runs`, `lrscope show RUN`, `lrscope resume RUN` and `lrscope delete RUN`."""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path

import numpy as np

from ..errors import LrscopeError
from ..events import CurvatureMeasured
from ..schedules.describe import describe_pieces, describe_schedule
from ..schedules.history_codec import run_schedule_from_dict
from ..serve.access import served_access
from ..step_columns import step_cells, step_header
from ..store.edit_rows import held_by
from ..store.paths import runs_root
from ..store.reader import (
    DATASET_WARNING,
    STOP_NOTE,
    find_run,
    list_runs,
    meta_object,
    newest_checkpoint_step,
    read_curvature,
    read_epochs,
    read_health,
    read_meta,
    read_steps,
    read_table,
    run_info,
)
from ..text import at_size, counted, printable, whose
from ..tune.folders import delete_tune_folder, go_on_line, record_folder
from ..tune.record import tune_of
from ..tune.rerun import runs_again
from ..tune.summary import summarize_tune
from .common import (
    CACHE_DIR_HELP,
    LIBRARY_DIR_HELP,
    RUNS_DIR_HELP,
    STORE_FAILED,
    TUNES_DIR_HELP,
    CliError,
    add_checkpoint_seconds_option,
    add_every_option,
    add_serve_option,
    cache_dir,
    check_writable,
    folder_options,
    path_arg,
    say,
    tunes_folder,
)
from .distributed import add_distributed_options
from .fault_policy import add_fault_options


def add_parsers(commands) -> None:
    """Register runs, show and resume."""
    runs = commands.add_parser("runs", help="list stored runs", description="List the runs stored under the runs folder.")
    runs.add_argument("--runs-dir", type=path_arg, help=RUNS_DIR_HELP)
    runs.add_argument("--tunes-dir", type=path_arg, help=TUNES_DIR_HELP)
    runs.add_argument("--json", action="store_true", help="a JSON array, one object per run (for scripts), instead of the table")
    runs.add_argument("--trials", action="store_true", help="list each tune's trial runs too (by default one line a tune)")
    runs.set_defaults(handler=list_command)
    show = commands.add_parser("show", help="summarize one run, or print its per-step metrics as CSV")
    show.add_argument("run", help="run id (or a unique prefix of it), or the run's folder")
    output = show.add_mutually_exclusive_group()  # both printed the CSV alone, which a JSON reader then failed on (helper-82)
    output.add_argument("--csv", action="store_true", help="per-step metrics as CSV: step, loss, LR of each group, epoch, momentum")
    output.add_argument("--json", action="store_true", help="the summary as one JSON object: the run, its config, epochs, edits, range tests, faults and warnings")
    show.add_argument("--runs-dir", type=path_arg, help=RUNS_DIR_HELP)
    show.add_argument("--tunes-dir", type=path_arg, help=TUNES_DIR_HELP)
    show.add_argument("--export-schedule", type=path_arg, metavar="FILE",
                      help="write the run's tuned schedule (with its edits) to FILE and add it to the library, as "
                           "`train --export-schedule` does at the run's end")
    show.add_argument("--library-dir", type=path_arg, help=LIBRARY_DIR_HELP)
    show.set_defaults(handler=show_command)
    resume = commands.add_parser("resume", help="continue a stopped or interrupted run from its last checkpoint",
                                 description="Continue a stopped or interrupted run from its last checkpoint, with its progress "
                                             "on stderr as `lrscope train` shows it.")
    resume.add_argument("run", help="run id (or a unique prefix of it), or the run's folder")
    resume.add_argument("--runs-dir", type=path_arg, help=RUNS_DIR_HELP)
    resume.add_argument("--cache-dir", type=path_arg, help=CACHE_DIR_HELP)
    resume.add_argument("--no-cache", action="store_true", help="decode images without reading or writing the cache")
    resume.add_argument("--data", type=path_arg, metavar="DIR",
                        help="where the run's dataset folder is now, if it moved (the same images: their fingerprint is checked)")
    add_checkpoint_seconds_option(resume, resumed=True)
    add_fault_options(resume)
    add_every_option(resume, "stderr")
    resume.add_argument("--json", action="store_true", help="print one JSON object with the result on stdout")
    add_serve_option(resume)
    add_distributed_options(resume, new_run=False)
    resume.set_defaults(handler=resume_command)
    delete = commands.add_parser("delete", help="delete stored runs (their metrics and checkpoints)",
                                 description="Delete runs and all they hold. Every run is found and checked first: a mistyped "
                                             "name, or a run that a process trains, deletes none of them.")
    delete.add_argument("runs", nargs="*", metavar="RUN", help="run id (or a unique prefix of it), or the run's folder")
    delete.add_argument("--tune", metavar="TUNE", help="every trial run of this tune (its name as `lrscope runs` gives it), and its "
                        "search record")
    delete.add_argument("--runs-dir", type=path_arg, help=RUNS_DIR_HELP)
    delete.add_argument("--tunes-dir", type=path_arg, help=TUNES_DIR_HELP)
    delete.set_defaults(handler=delete_command)


def delete_command(args: argparse.Namespace) -> int:
    """Delete the runs named, each said as it goes."""
    from ..store.delete import delete_runs

    root = runs_root(args.runs_dir)
    named = [find_run(root, name) for name in args.runs]
    record = None
    if args.tune:  # a tune of a few minutes leaves hundreds of trial runs (helper-76)
        record = record_folder(args.tune, tunes_folder(args))
        trials = [run.run_dir for run in list_runs(root)[0] if tune_of(run.purpose) == args.tune]
        if not trials and record is None:
            raise CliError(f"--tune {args.tune}: no such tune under {tunes_folder(args)} and no trial run of it under {root} "
                           "(`lrscope runs` names each tune)")
        named += trials
    if not named and record is None:
        raise CliError("name the runs to delete, or give --tune TUNE")
    for run_dir in delete_runs(named):
        say(f"deleted {run_dir.name}")
    if record is not None:  # a killed tune's folder was left with no command to remove it (helper-81)
        delete_tune_folder(record)
        say(f"deleted tune {whose(args.tune)} search record ({record})")
    return 0


def _accuracy(value: float) -> str:
    return "-" if math.isnan(value) else f"{100 * value:.2f}%"


def list_command(args: argparse.Namespace) -> int:
    """One line per run."""
    root = runs_root(args.runs_dir)
    if root.exists() and not root.is_dir():  # it said "no runs under FILE" and exited 0 (helper-92)
        raise CliError(f"{root}: not a folder; give --runs-dir the folder the runs are stored in")
    runs, problems = list_runs(root)
    shown = {r.problem for r in runs}  # a damaged run's reason is printed under its line
    for problem in (p for p in problems if p not in shown):
        say(f"warning: {problem}")
    again = runs_again(runs, tunes_folder(args))  # a trial's run that its tune ran again: no trial of it any more
    if args.json:
        print(json.dumps([{**_listed(r), "run_again_as": again.get(r.run_id)} for r in runs]))
    if not runs:
        say(f"no runs under {root}" + ("" if root.is_dir() else " (no such folder yet)"))
    if args.json or not runs:
        return 0
    # As wide as the longest name, up to a point, and a cut name says so: "digits-camera2-lon" read as a whole name.
    width = min(max(len("DATASET"), *(len(r.dataset) for r in runs)), MAX_DATASET_WIDTH)
    print(f"{'RUN':<44} {'DATASET':<{width}} {'STARTED':<19} {'STATE':<20} {'STEPS':>13} {'BEST VAL ACC':>12}")
    tunes: dict[str, list] = {}
    for r in runs:
        if not args.trials and (tune := tune_of(r.purpose)):
            tunes.setdefault(tune, []).append(r)
            continue
        state = f"{r.state} (served)" if served_access(r.run_dir) else r.state
        dataset = r.dataset if len(r.dataset) <= width else r.dataset[:width - 1] + "…"
        print(f"{r.run_id:<44} {dataset:<{width}} {r.started:<19} {state:<20} {f'{r.steps_done}/{r.total_steps}':>13} "
              f"{_accuracy(r.best_val_accuracy):>12}")
        for note in r.notes:
            print(f"  {note}")
        if r.run_id in again:
            print(f"  its tune ran this trial again, as {again[r.run_id]}: it is not one of the tune's trials")
    _tune_lines(tunes, again, args)
    return 0


def _tune_lines(tunes: dict[str, list], again: dict[str, str], args: argparse.Namespace) -> None:
    """One line a tune: a tune of a minute listed 232 trial runs, 621 lines (helper-76). The commands it names find the
    folders `runs` was given: without them `delete --tune` and `tune --resume` looked in the default ones."""
    from .tune import resume_command

    where = "".join(f" {option}" for option in folder_options(args))
    for tune, runs_of_tune in tunes.items():
        summary = summarize_tune(tunes_folder(args) / tune, runs_of_tune, again)
        print(f"tune {tune}: {summary.runs_words()}, {summary.winner}; "
              f"`lrscope runs{where} --trials` lists them, `lrscope delete --tune {tune}{where}` deletes them")
        if line := go_on_line(tunes_folder(args) / tune, resume_command(args)):  # a killed tune read as a finished one (helper-81)
            print(f"  {line}")


def _listed(info) -> dict:
    """A run's line of ``lrscope runs`` as plain data: NaN (no validation yet) is null, the folder a string."""
    return {"run": info.run_id, "folder": str(info.run_dir), "dataset": info.dataset, "fingerprint": info.fingerprint,
            "started": info.started, "state": info.state, "served": served_access(info.run_dir) is not None,
            "steps_done": info.steps_done, "total_steps": info.total_steps,
            "best_val_accuracy": None if math.isnan(info.best_val_accuracy) else info.best_val_accuracy,
            "problem": info.problem or None, "purpose": info.purpose or None, "fault": info.fault,
            "why_ended": info.why_ended or None}


# what `show` lists beside epochs and edits
MAX_DATASET_WIDTH = 32
NOTED_EVENTS = (f"kind LIKE 'fault:%' OR kind LIKE 'stability:%' OR kind IN ('warning', 'resume', '{STOP_NOTE}', "
                f"'{DATASET_WARNING}')")


def show_command(args: argparse.Namespace) -> int:
    """A run's summary, or its steps as CSV."""
    run_dir = find_run(runs_root(args.runs_dir), args.run)
    if args.export_schedule and (exported := _export(run_dir, args)):
        return exported
    if args.csv:
        write_steps_csv(run_dir)
        return 0
    info, meta = run_info(run_dir), read_meta(run_dir)
    config = meta_object(meta, "config")
    # Where `lrscope resume` continues, as `train --json` says it: the newest checkpoint, which a kill may leave behind
    # the last stored step ("ended at step 100" while show said 97 and a resume began at 80).
    resume_step = newest_checkpoint_step(run_dir) if info.state != "finished" else None
    again = runs_again([info], tunes_folder(args)).get(info.run_id)  # as `runs` marks it
    if args.json:
        print(json.dumps({**_listed(info), "run_again_as": again, "resume_step": resume_step, "config": config,
                          "epochs": [_epoch_row(row) for row in read_epochs(run_dir)], "edits": _edits(run_dir, meta),
                          "range_tests": _range_tests(run_dir), "notes": _notes(run_dir), **_curvature(run_dir)}))
        return 0
    print(f"run        {info.run_id}\nfolder     {info.run_dir}\ndataset    {info.dataset} (fingerprint {info.fingerprint})"
          f"{_dataset_folder(config.get('data'), info)}")
    print(f"started    {info.started}\nstate      {info.state}\nsteps      {info.steps_done}/{info.total_steps}"
          + (f" (a resume continues from step {resume_step})" if resume_step is not None else ""))
    if (access := served_access(run_dir)) is not None:  # only --json said so, and there is no `ctl RUN status` (helper-68)
        print(f"served     at {access.address}: `lrscope ctl {info.run_id} ACTION` steers it, `lrscope watch {info.run_id}` "
              "follows it, Attach in the window does both")
    if info.purpose:
        print(f"made as    {info.purpose}" + (f" (its tune ran this trial again, as {again})" if again else ""))
    if info.why_ended:
        print(f"ended      {info.why_ended}")
    processes = config.get("world_size", 1)
    batch = f"{config.get('batch_size')} × {processes} processes" if processes > 1 else config.get("batch_size")
    images = at_size(meta_object(meta, "dataset"))
    print(f"model      {config.get('model')} / {config.get('optimizer')} batch {batch}" + (f", images{images}" if images else ""))
    edits = _edit_rows(run_dir, meta)  # read once: the header counts the undone ones, the history lists them all
    undone = sum(row[5] for row in edits)
    print(f"schedule   {_started_with(meta, config, undone)}")
    print(f"best val   {_accuracy(info.best_val_accuracy)}")
    if line := _lambda_line(run_dir):
        print(f"λmax       {line}")
    for line in _history(run_dir, edits):
        print(f"  {line}")
    return 0


def _dataset_folder(data, info) -> str:
    """" in /data/digits", and whether it is gone and how to resume anyway: the path was in --json alone, and nothing said a
    run's folder had moved until its resume failed (helper-71)."""
    if not isinstance(data, str) or not data:
        return ""
    if Path(data).is_dir():
        return f" in {printable(data)}"
    resume = f": `lrscope resume {info.run_id} --data DIR` resumes it from its new place" if info.state != "finished" else ""
    return f" in {printable(data)}, a folder that is gone{resume}"


def _curvature(run_dir: Path) -> dict:
    """``curvature`` (every λmax measurement) and ``health`` (each group's last gradient norm and update ratio, None
    when none was logged), as `train --json` gives them: the store held them and `show` left them out (helper-70)."""
    health = read_health(run_dir)
    last = {"step": int(health["step"][-1]), "groups": list(health["groups"]), "grad_norm": health["grad_norm"][-1].tolist(),
            "update_ratio": health["update_ratio"][-1].tolist()} if len(health["step"]) else None
    return {"curvature": read_curvature(run_dir), "health": last}


def _lambda_line(run_dir: Path) -> str:
    """"3 measurements, the last 4.59 at step 506 (LR at 4% of the bound 0.847); --json lists them", or "" for none."""
    measurements = read_curvature(run_dir)
    if not measurements:
        return ""
    last = CurvatureMeasured.from_dict(measurements[-1])
    return (f"{counted(len(measurements), 'measurement')}, the last {last.lambda_max:.3g} at step {last.step} "
            f"({last.edge_words()}); --json lists them")


def _export(run_dir: Path, args: argparse.Namespace) -> int:
    """`show --export-schedule`: the one line of where it went (0: the summary, --json or --csv follow as asked), or why
    not (STORE_FAILED)."""
    from .export_run import export_stored_run

    check_writable(args.export_schedule)
    written = export_stored_run(run_dir, args.export_schedule, args.library_dir)
    if "export_error" in written:
        say(f"lrscope: error: {written['export_error']}")
        return STORE_FAILED
    return 0


def _epoch_row(row: dict) -> dict:
    """An epoch for --json: counted from 1, as the text, the progress lines and the window count it (it said epoch 0 of
    the epoch that ended at step 22), and NaN (a value not measured, or damaged) as None: JSON has no NaN."""
    row = {**row, "epoch": row["epoch"] + 1}
    return {key: None if isinstance(value, float) and not math.isfinite(value) else value for key, value in row.items()}


def _edit_source_column(run_dir: Path) -> str:
    """Runs stored before edits recorded their source lack the column."""
    return "source" if "source" in {row[1] for row in read_table(run_dir, "PRAGMA table_info(edits)")} else "''"


def _range_test_outcome(stored) -> str:
    """What a stored range test concluded, in a few words: it was listed with none, a cancelled one as a finished one."""
    try:
        result = json.loads(stored)
        recommended, cancelled = result.get("recommended"), result.get("stop_reason") == "cancelled"
        said = (f"recommends max LR {float(recommended['one_cycle_max_lr']):.3g} (one-cycle), {float(recommended['constant_lr']):.3g} "
                "(constant)" if recommended else "no recommendation")
    except (TypeError, ValueError, KeyError, AttributeError):
        return "its result cannot be read"
    return f"cancelled; {said}" if cancelled else said


def _kind_words(kind: str) -> str:
    """A stored note's kind as `show` says it: "fault (exploding loss)", not "fault:exploding_loss"."""
    if kind == STOP_NOTE:
        return "note"
    group, _, detail = str(kind).partition(":")
    return f"{group} ({printable(detail).replace('_', ' ')})" if detail else group


def _edit_rows(run_dir: Path, meta: dict[str, str]) -> list[tuple]:
    """The run's stored edits in the order they were made: (time, step, reason, summary, source, undone by a rollback,
    the edit's number in the schedule or None, what became of it: "" or "undone at step 30, …"). Numbered: an undo
    reads "undid edit #2", which the list must show."""
    rows = read_table(run_dir, f"SELECT time, step, reason, summary, {_edit_source_column(run_dir)} FROM edits ORDER BY id")
    try:
        run_schedule = run_schedule_from_dict(json.loads(meta["run_schedule"]))
    except (KeyError, ValueError, TypeError, LrscopeError):
        return [(*row, False, None, "") for row in rows]  # the header says the stored schedule cannot be read
    held, said = held_by(((index, row[1], row[3]) for index, row in enumerate(rows)), run_schedule.edits), run_schedule.fates()
    numbers = [getattr(held.get(index), "id", None) for index in range(len(rows))]
    return [(*row, number is None, number, said.get(number, "")) for row, number in zip(rows, numbers)]


def _edits(run_dir: Path, meta: dict[str, str]) -> list[dict]:
    """The run's schedule edits, in the order they were made, each saying whether a rollback undid it."""
    return [{"id": number, "step": step, "reason": reason, "source": source or None, "summary": summary, "undone": undone}
            for _, step, reason, summary, source, undone, number, _ in _edit_rows(run_dir, meta)]


def _range_tests(run_dir: Path) -> list[dict]:
    """The run's range tests for --json, each with its stored result (the text listed them and --json did not)."""
    tests = []
    for step, mode, result in read_table(run_dir, "SELECT step, mode, result FROM range_tests ORDER BY id"):
        try:
            stored = json.loads(result)
        except (TypeError, ValueError):
            stored = None  # a damaged cell: the test is still listed
        tests.append({"step": step, "mode": mode, "result": stored})
    return tests


def _notes(run_dir: Path) -> list[dict]:
    """Faults, stability warnings and warnings for --json, as the text's history lists them. Each has the time it was
    stored, as the epochs have: a warning said between steps has no step, and its time is what places it among them."""
    return [{"kind": kind, "step": step, "time": time, "message": message} for time, kind, step, message in read_table(
        run_dir, f"SELECT time, kind, step, message FROM events WHERE {NOTED_EVENTS} ORDER BY time")]


def _history(run_dir: Path, edits: list[tuple]) -> list[str]:
    """Each epoch, edit (``edits``: `_edit_rows`), range test, fault and warning of a run, in the order they happened (by the time each was
    stored; by step where a time is missing). All edits were listed after all epochs, far from where they acted, and a
    rollback's edit (at the step it returns to) would come before the fault that caused it if sorted by step."""
    # Faults first: in a run stored before each row had its own time, a fault shares the time of the rollback it caused
    # (a stable sort keeps this order).
    noted = read_table(run_dir, f"SELECT time, kind, step, message FROM events WHERE {NOTED_EVENTS}")
    # A warning line is stored without a step (it is said between steps, e.g. a refused client): its time places it.
    entries = [(time, step, f"{_kind_words(kind)}{'' if step is None else f' at step {step}'}: {message}")
               for time, kind, step, message in noted]
    for time, step, reason, summary, source, undone, number, fate in edits:
        entries.append((time, step, f"edit {'' if number is None else f'#{number} '}at step {step} ({reason}{f', from {source}' if source else ''}): {summary}"
                                    + (" (undone by a rollback)" if undone else f"; {fate}" if fate else "")))
    for time, step, mode, result in read_table(run_dir, "SELECT time, step, mode, result FROM range_tests ORDER BY id"):
        entries.append((time, step, f"range test ({mode}) at step {step}: {_range_test_outcome(result)}"))
    entries += [(row["time"], row["step"], f"epoch {row['epoch'] + 1:>3}  step {row['step']:>7}  train loss {row['train_loss']:.4f}  "
                                           f"val loss {row['val_loss']:.4f}  val acc {_accuracy(row['val_accuracy'])}")
                for row in read_epochs(run_dir)]
    timed = all(isinstance(time, (int, float)) and math.isfinite(time) for time, _, _ in entries)
    steps_known = all(isinstance(step, int) for _, step, _ in entries)
    if timed:
        entries.sort(key=lambda entry: entry[0])
    elif steps_known:
        entries.sort(key=lambda entry: entry[1])
    return [line for _, _, line in entries]


def _started_with(meta: dict[str, str], config: dict, undone: int) -> str:
    """The schedule the run started with (its config's lr is only the default's peak: a --schedule file sets its own),
    and how many edits it holds now beside the ``undone`` ones a rollback went back past."""
    try:
        run_schedule = run_schedule_from_dict(json.loads(meta["run_schedule"]))
        stored_start = run_schedule_from_dict(json.loads(meta["start_schedule"])) if "start_schedule" in meta else None
    except (KeyError, ValueError, TypeError, LrscopeError):
        return f"peak LR {config.get('lr')} (the stored schedule cannot be read)"
    # A run steered to a constant 0.05 read as if it had trained its one-cycle throughout.
    edits = run_schedule.edits
    beside = f" in force and {undone} a rollback undid" if undone else ""
    changed = f" (as it started; then {counted(len(edits), 'edit')}{beside}, listed below)" if edits or undone else ""
    source = meta.get("schedule_source")
    origin = f"from {source}: " if source else ""
    if stored_start is not None:
        return origin + describe_pieces(stored_start.timeline) + changed
    # Stored before the start was: an edit at step 0 (a rollback to the first checkpoint) replaced the first piece, so
    # the one it replaced is the start's.
    started = edits[0].before if edits and edits[0].step == 0 else run_schedule.timeline.pieces[0]
    return describe_schedule(started.schedule) + changed


def write_steps_csv(run_dir: Path) -> None:
    """Per-step metrics on stdout: one LR column per parameter group, named after it (a damaged row reads nan)."""
    steps = read_steps(run_dir)
    damaged = int(np.isnan(steps["lrs"]).all(axis=1).sum())
    if damaged:
        say(f"warning: damaged LR cells in {counted(damaged, 'step')} of {run_dir / 'run.sqlite'}; they are written as nan")
    writer = csv.writer(sys.stdout)
    writer.writerow([*step_header(steps["groups"]), "epoch", "momentum"])
    for i in range(len(steps["step"])):
        writer.writerow([*step_cells(steps["step"][i], steps["loss"][i], steps["lrs"][i]), f"{steps['epoch'][i]:.6g}",
                         repr(float(steps["momentum"][i]))])


def resume_command(args: argparse.Namespace) -> int:
    """Continue a run from its last checkpoint, with the same schedule and edits, on any number of processes
    (the global batch is kept, so the steps and the data position continue)."""
    from .distributed import joined, relaunched

    run_dir = find_run(runs_root(args.runs_dir), args.run)  # before --nproc starts its processes: said once, not by each
    launched = relaunched(args)
    if launched is not None:
        return launched
    with joined(meta_object(read_meta(run_dir), "config").get("device", "auto")) as world:
        return resume(args, run_dir, world)


def resume(args: argparse.Namespace, run_dir: Path, world) -> int:
    """Resume as this process's part of the run; rank 0 reports."""
    from ..run import InProcessRun, ResumedRun  # loads torch: only when resuming
    from .distributed import describe_world, follower_status
    from .run_job import execute, report

    trained_on = meta_object(read_meta(run_dir), "config").get("world_size", 1)

    def prepared(run) -> None:
        say(f"resuming {run_dir.name} at step {run.job.step} of {run.job.total_steps}")
        # On another number of processes each one's batch changes (the global batch is kept): say so, as for one process.
        if world.distributed or trained_on != run.job.config.world_size:
            changed = f" (it trained on {trained_on} before)" if trained_on != run.job.config.world_size else ""
            say(describe_world(run.job.config) + changed)

    handle = InProcessRun(ResumedRun(run_dir, cache_dir(args), None if args.data is None else str(args.data),
                                      args.checkpoint_seconds))
    result, seconds, policy = execute(handle, args, args.serve if world.leader else None, prepared, leader=world.leader)
    if not world.leader:
        return follower_status(world, result)
    return report(result, seconds, handle, policy, args.json, {})
