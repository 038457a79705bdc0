"""`lrscope train`: train on a dataset folder headless, with a progress bar and final metrics."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from ..store.paths import run_argument
from .common import (
    LIBRARY_DIR_HELP,
    RUNS_DIR_HELP,
    add_checkpoint_seconds_option,
    add_every_option,
    add_serve_option,
    add_training_options,
    check_writable,
    config_from,
    path_arg,
    say,
)
from .curvature import CurvatureRecord
from .distributed import add_distributed_options, add_sync_batchnorm_option
from .export_file import write_export
from .fault_policy import add_fault_options


def add_parser(commands) -> None:
    """Register the command."""
    parser = commands.add_parser("train", help="train a classifier on a dataset folder (headless)",
                                 description="Train an image classifier on a dataset folder, with its progress on stderr "
                                             "(on a terminal one line redrawn in place; into a file or pipe a line every "
                                             "--every steps besides each epoch's).")
    add_training_options(parser)
    parser.add_argument("--schedule", type=path_arg, help="train with this schedule file (re-stretched to the run's length)")
    parser.add_argument("--accept-mismatch", action="store_true", help="use a schedule tuned for another dataset without asking")
    parser.add_argument("--export-schedule", type=path_arg, metavar="FILE",
                        help="write the run's tuned schedule to FILE when it ends, and add it to the library (not when it "
                             "ends on damaged weights)")
    parser.add_argument("--library-dir", type=path_arg, help=LIBRARY_DIR_HELP)
    parser.add_argument("--runs-dir", type=path_arg, help=RUNS_DIR_HELP)
    parser.add_argument("--checkpoint-every", type=int, default=0, metavar="STEPS", help="also checkpoint every STEPS steps (default 0: off)")
    add_checkpoint_seconds_option(parser)
    add_fault_options(parser)
    add_every_option(parser, "stderr")
    parser.add_argument("--json", action="store_true", help="print one JSON object with the result on stdout")
    add_serve_option(parser)
    add_distributed_options(parser)
    add_sync_batchnorm_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Train (on --nproc processes, or as one of torchrun's), then report (and export the schedule if asked)."""
    from .distributed import check_before_launch, joined, relaunched

    config = config_from(args)  # before --nproc starts its processes, so that a bad option is said once, not by each
    check_before_launch(args, config)
    launched = relaunched(args)
    if launched is not None:
        return launched
    with joined(config.device) as world:
        return train(args, config, world)


def train(args: argparse.Namespace, config, world) -> int:
    """Train as this process's part of the run; rank 0 reports."""
    # Imported here: they load torch, which commands that do not train must not wait for.
    from ..run import InProcessRun, NewRun
    from ..store.paths import runs_root
    from .distributed import describe_world, follower_status, leader_first
    from .run_job import ended_damaged, execute, report
    from .setup import adopt_schedule_settings, open_dataset, run_schedule_for, schedule_option, warn_of_a_batch_past_the_data

    config.world_size, config.sync_batchnorm = world.size, args.sync_batchnorm
    schedule = schedule_option(args)
    adopt_schedule_settings(args, config, schedule)
    if args.export_schedule and world.leader:
        check_writable(args.export_schedule)
    dataset = leader_first(world, lambda: open_dataset(config, args))
    if world.leader:
        warn_of_a_batch_past_the_data(dataset, config, epochs=True)
    run_schedule = run_schedule_for(args, config, dataset, schedule)
    if world.distributed:
        say(describe_world(config))
    source = str(Path(args.schedule).resolve()) if schedule else ""
    handle = InProcessRun(NewRun(config, dataset, run_schedule, runs_root(args.runs_dir), schedule_source=source))
    curvature = CurvatureRecord()
    handle.subscribe(curvature)
    result, seconds, policy = execute(handle, args, args.serve if world.leader else None, leader=world.leader)
    if not world.leader:
        return follower_status(world, result)
    extra = curvature.to_dict()
    if args.export_schedule and result.state != "failed":
        extra.update(not_exported(args, result) if ended_damaged(result, handle) else export(args, config, result))
    return report(result, seconds, handle, policy, args.json, extra)


def not_exported(args: argparse.Namespace, result) -> dict[str, str]:
    """A run that ended on damaged weights exports nothing: its schedule, added to the library, would be offered as the
    dataset's tuned one (it was, with the run's best accuracy beside it). Says so and how to write it all the same."""
    library = f" --library-dir {shlex.quote(str(args.library_dir))}" if args.library_dir else ""
    anyway = f"lrscope show {run_argument(result.run_dir)} --export-schedule {shlex.quote(str(args.export_schedule))}{library}"
    skipped = (f"--export-schedule: nothing written to {args.export_schedule} nor added to the library, since the run ended "
               f"on damaged weights; `{anyway}` writes its schedule all the same")
    say(skipped)
    return {"export_skipped": skipped}


def export(args: argparse.Namespace, config, result) -> dict[str, str]:
    """Add the run's tuned schedule to the library and write it to the file; where they went (``write_export``)."""
    from ..export import run_metrics, tuned_document

    metrics = run_metrics(result.run_id, result.best_val_accuracy, result.val_accuracy, result.val_loss, result.step)
    document = tuned_document(result.run_schedule, config, result.dataset, result.steps_per_epoch, metrics, groups=result.groups,
                              weights=result.weights)
    written = write_export(args.export_schedule, document, args.library_dir, "tuned schedule")
    if "export_error" in written and "library_file" not in written and result.run_dir:
        # Neither write landed: the run's store still holds the schedule, and this writes it once they can be written.
        library = f" --library-dir {shlex.quote(str(args.library_dir.resolve()))}" if args.library_dir else ""
        again = (f"lrscope show {run_argument(result.run_dir)} --export-schedule "
                 f"{shlex.quote(str(args.export_schedule.resolve()))}{library}")
        written["export_error"] += f"; once they can be written, `{again}` writes it from the stored run"
    return written
