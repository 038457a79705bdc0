"""`lrscope train`: train on a dataset folder headless, with a progress bar and final metrics."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..export import tuned_document
from ..schedules.library import ScheduleLibrary
from ..schedules.schedule_file import save_schedule
from ..store.paths import library_root, runs_root
from ..store.writer import RunStore
from ..training.job import TrainingJob
from .common import add_training_options, config_from, say
from .run_job import execute, report
from .setup import open_dataset, run_schedule_for


def add_parser(commands) -> None:
    """Register the command."""
    parser = commands.add_parser("train", help="train a classifier on a dataset folder (headless)",
                                 description="Train an image classifier on a dataset folder, with a progress bar.")
    add_training_options(parser)
    parser.add_argument("--schedule", type=Path, help="train with this schedule file (re-stretched to the run's length)")
    parser.add_argument("--accept-mismatch", action="store_true", help="use a schedule tuned for another dataset without asking")
    parser.add_argument("--export-schedule", type=Path, metavar="FILE", help="write the run's tuned schedule to FILE when it ends")
    parser.add_argument("--library-dir", type=Path, help="the tuned-schedule library (default: $LRSCOPE_LIBRARY_DIR or the user data folder)")
    parser.add_argument("--runs-dir", type=Path, help="where runs are stored (default: $LRSCOPE_RUNS_DIR or the user data folder)")
    parser.add_argument("--checkpoint-every", type=int, default=0, metavar="STEPS", help="also checkpoint every STEPS steps (default: each epoch)")
    parser.add_argument("--json", action="store_true", help="print one JSON object with the result on stdout")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Train, then report (and export the schedule if asked)."""
    config = config_from(args)
    config.checkpoint_every = args.checkpoint_every
    dataset = open_dataset(config, args)
    run_schedule = run_schedule_for(args, config, dataset)
    job = TrainingJob(config, dataset, run_schedule=run_schedule)
    store = RunStore.create(runs_root(args.runs_dir), config.to_dict(), dataset.summary.to_dict(), emit=job.bus.emit)
    job.store = store
    job.bus.subscribe(store.on_event)
    outcome, seconds = execute(job, store)
    extra = {}
    if args.export_schedule:
        document = tuned_document(job.run_schedule, config, dataset.summary, job.session.steps_per_epoch, job.metrics,
                                  groups=job.session.group_names, weights=job.session.weights)
        save_schedule(args.export_schedule, document)
        extra["schedule_file"] = str(args.export_schedule)
        extra["library_file"] = str(ScheduleLibrary(library_root(args.library_dir)).add(document))
        say(f"tuned schedule written to {args.export_schedule} and added to the library")
    return report(outcome, seconds, job, store, args.json, extra)
