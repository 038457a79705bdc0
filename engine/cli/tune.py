"""`lrscope tune`: a budgeted search of the schedule's peak LR by short real runs, losers stopped early."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..distributed.launcher import tell_the_launcher_reported
from ..events import Event, TuneFinished, TuneIntervalChosen, TuneStarted, TuneTrialFinished
from ..text import counted, estimate, percent
from ..tune.budget import larger_budget, small_budget_note
from ..tune.record import state_words
from ..tune.settings import MAX_RUNS, MIN_RUNS, SEARCHABLE, TuneSettings
from .common import (
    FINISHED,
    INTERRUPTED,
    LIBRARY_DIR_HELP,
    NO_RESULT,
    STORE_FAILED,
    TUNES_DIR_HELP,
    CliError,
    add_training_options,
    check_writable,
    config_from,
    folder_options,
    path_arg,
    say,
    signals_ignored,
    tunes_folder,
)
from .export_file import write_export


def add_parser(commands) -> None:
    """Register the command."""
    parser = commands.add_parser("tune", help="search the schedule's peak LR with short real runs (budgeted)",
                                 description="Find the peak LR of a schedule shape for a dataset: a range test sets the interval, "
                                             "then real runs of the schedule are compared and the losers stopped early.")
    add_training_options(parser, data_required=False)  # --resume takes its tune's: run() asks for --data without it
    d = TuneSettings()
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--budget", type=float, metavar="RUNS",
                        help=f"spend about the cost of RUNS full runs ({MIN_RUNS:g} to {MAX_RUNS:g}), the range test included (default {d.budget_runs:g})")
    budget.add_argument("--minutes", type=float, help="spend about this many minutes instead (converted at the measured speed)")
    parser.add_argument("--search", nargs="+", default=list(d.search), choices=SEARCHABLE,
                        help="what varies between trials: the peak LR (always), and optionally weight_decay (default lr)")
    parser.add_argument("--schedule", type=path_arg, help="tune this schedule file's shape (re-stretched to the run) instead of --shape")
    parser.add_argument("--accept-mismatch", action="store_true", help="use a schedule tuned for another dataset without asking")
    parser.add_argument("--export-schedule", type=path_arg, metavar="FILE", help="write the winning schedule, with the search record, to FILE")
    parser.add_argument("--library-dir", type=path_arg, help=LIBRARY_DIR_HELP)
    parser.add_argument("--runs-dir", type=path_arg, help="where the trials are stored as runs (default: $LRSCOPE_RUNS_DIR or the user data folder)")
    parser.add_argument("--tunes-dir", type=path_arg, help=TUNES_DIR_HELP)
    parser.add_argument("--json", action="store_true", help="print the search record as one JSON object on stdout")
    parser.add_argument("--resume", metavar="TUNE", help="go on with a tune that stopped before its budget was spent (Ctrl-C, a closed "
                        "window, a killed process), with its own data and settings; --budget or --minutes give it a larger budget")
    parser.set_defaults(handler=run)


def settings_from(args: argparse.Namespace) -> TuneSettings:
    """Validated tune settings; CliError names the option at fault."""
    search = tuple(dict.fromkeys(["lr", *args.search]))
    runs = TuneSettings().budget_runs if args.budget is None else args.budget
    settings = TuneSettings(budget_runs=runs, budget_minutes=args.minutes, search=search, seed=args.seed)
    try:
        settings.validate()
    except ValueError as error:
        raise CliError(f"tune: {error}") from None
    return settings


class TuneProgress:
    """Lines on stderr: the budget before it starts, the interval, one line per trial; ``message``: the line that
    ended the search (for --json too: "no trial finished, so there is no winner" was said on stderr alone)."""

    def __init__(self, runs_command: str = "lrscope runs", resume_command: str = "lrscope tune --resume"):
        self.message, self.runs_command, self.resume_command, self.folder = "", runs_command, resume_command, ""

    def __call__(self, event: Event) -> None:
        if isinstance(event, TuneStarted):
            self.folder = event.folder
            if event.resumed:
                say(f"going on with tune {Path(event.folder).name}: {counted(event.trials_before, 'trial')} and {event.spent_steps} "
                    f"training steps so far; {event.budget_steps - event.spent_steps} steps of its budget left, "
                    f"{estimate(event.estimated_seconds)} on this machine")
                return
            say(f"tune: up to {event.budget_steps / event.run_steps:.1f} full runs ({event.budget_steps} training steps of "
                f"{event.run_steps} per run), {estimate(event.estimated_seconds)} on this machine; Ctrl-C stops and keeps the best so far")
            say(f"each trial is a run you can open ({self.runs_command}); the search record goes to {event.folder}")
            note = small_budget_note(event.budget_steps / event.run_steps, event.run_steps)
            if note:
                say(f"note: {note}")
        elif isinstance(event, TuneIntervalChosen):
            say(f"searching the peak LR from {event.low:.3g} to {event.high:.3g}: {event.source}")
        elif isinstance(event, TuneTrialFinished):
            params = "  ".join(f"{name} {value:.3g}" for name, value in event.params.items())
            say(f"trial {event.number:>2}  {params}  {state_words(event.state):<13} {percent(event.val_accuracy):>7}  "
                f"{counted(event.steps, 'step')}   [spent {event.spent_steps}/{event.budget_steps}]")
            if event.why:  # its accuracy is mid-run: beside finished trials it read as the LR's (helper-74)
                say(f"          {event.why}")
        elif isinstance(event, TuneFinished):
            self.message = event.message
            say(event.message)
            if event.cancelled:  # what it measured is kept: a search of an hour stopped by mistake was lost (helper-74)
                say(f"to go on with it: {self.resume_command} {Path(self.folder).name}{more_budget(event.record)}")


def run(args: argparse.Namespace) -> int:
    """Tune, report, and export the winner if asked; the exit status says how the search ended (``tune_status``)."""
    from ..store.paths import runs_command, runs_root
    from ..tune.search import Tuner  # torch and optuna load only when a tune runs
    from .setup import adopt_schedule_settings, open_dataset, run_schedule_for, schedule_option, warn_of_a_batch_past_the_data

    if args.resume:
        from .tune_resume import resume

        return resume(args)
    if args.data is None:
        raise CliError("tune: the following arguments are required: --data (or --resume TUNE)")
    config = config_from(args)
    schedule = schedule_option(args)
    adopt_schedule_settings(args, config, schedule)
    settings = settings_from(args)
    if args.export_schedule:
        check_writable(args.export_schedule)
    dataset = open_dataset(config, args)
    warn_of_a_batch_past_the_data(dataset, config, epochs=True)
    timeline = run_schedule_for(args, config, dataset, schedule).timeline
    progress = TuneProgress(runs_command(runs_root(args.runs_dir)), resume_command(args))
    tuner = Tuner(config, dataset, timeline, settings, runs_root=runs_root(args.runs_dir), tunes_root=tunes_folder(args),
                  emit=progress)
    return searched(args, tuner, dataset, progress)


def more_budget(record: dict) -> str:
    """" --budget N" when the stopped tune has no room for another trial (the steps of the one cut short count): the
    command printed as it was was refused (helper-90)."""
    budget = record["budget"]
    runs = larger_budget(budget["spent_steps"], budget["steps"], budget["run_steps"])
    return "" if runs is None else f" --budget {runs}"


def resume_command(args: argparse.Namespace) -> str:
    """The command that goes on with a tune (its folder name follows), with the options that say where it is kept."""
    return " ".join(["lrscope tune", *folder_options(args), "--resume"])


def searched(args: argparse.Namespace, tuner, dataset, progress: TuneProgress) -> int:
    """Run the search (Ctrl-C or SIGTERM stops it with the best so far), then say its result; its exit status."""
    from .run_job import signals_call

    with signals_call(tuner.cancel, "stopping the search; the best trial so far wins"):
        result = tuner.run()
    with signals_ignored():  # the search is over: its result is said as it is, with its exit status
        return _said(args, tuner, dataset, result, progress)


def _said(args: argparse.Namespace, tuner, dataset, result, progress) -> int:
    """Export the winner if asked, say the search's result (and its object with --json); its exit status."""
    record = dict(result.record)
    if args.export_schedule and result.timeline is not None:
        record.update(export(args, dataset, result))
    status = tune_status(tuner, record, result)
    if tuner.store_failure:
        print(f"lrscope: error: the search stopped early: {tuner.store_failure}", file=sys.stderr)
    if "export_error" in record:
        print(f"lrscope: error: {record['export_error']}", file=sys.stderr)
    if args.json:
        print(json.dumps({**record, "exit_status": status, "message": progress.message, "store_failure": tuner.store_failure}))
    tell_the_launcher_reported(status)  # a Ctrl-C from now on leaves the status said
    return status


def tune_status(tuner, record: dict, result) -> int:
    """4 a trial, the record or the exported schedule could not be written, 130 stopped (Ctrl-C) before the budget was spent, 1 no
    winner (no trial finished, or every one diverged), else 0; a stopped search with a winner still installs and exports it."""
    if tuner.store_failure or "export_error" in record:
        return STORE_FAILED
    if record["cancelled"]:
        return INTERRUPTED
    return FINISHED if result.timeline is not None else NO_RESULT


def export(args: argparse.Namespace, dataset, result) -> dict[str, str]:
    """The winning schedule, with the search record in it, to the library and the file (``write_export``)."""
    from ..export import tuned_document, winner_metrics
    from ..schedules.edits import RunSchedule
    from .setup import steps_per_epoch

    document = tuned_document(RunSchedule(result.timeline), result.config, dataset.summary.to_dict(), steps_per_epoch(dataset, result.config),
                              winner_metrics(result.record["winner"]), groups=result.groups, search=result.record)
    return write_export(args.export_schedule, document, args.library_dir, "winning schedule")
