"""Turn command-line options into a dataset, a schedule and a run store, with clear errors."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from ..config import TrainConfig
from ..data.dataset import PreparedDataset, prepare_configured
from ..data.split import batch_past_the_data, left_over, training_batches_per_epoch
from ..errors import ConfigError
from ..models.setup import group_outline, resolution_range, weights_label
from ..schedules.edits import RunSchedule
from ..schedules.groups import ALL
from ..schedules.library import differences
from ..schedules.model_match import model_differences, options_as_tuned
from ..schedules.plateau import cuts_kept
from ..schedules.schedule_file import ScheduleFile, load_schedule
from ..text import counted, printable, whose
from ..training.job import default_run_schedule
from .common import CliError, cache_dir, read_schedule, say


def open_dataset(config: TrainConfig, args: argparse.Namespace) -> PreparedDataset:
    """Scan, decode (or read the cache) and split the dataset; print its warnings."""
    dataset = prepare_configured(config, resolution_range=resolution_range(config.model, config.pretrained),
                                 cache_dir=cache_dir(args), log=say)
    for warning in dataset.warnings:
        say(f"warning: {warning}")
    return dataset


def warn_of_a_batch_past_the_data(dataset: PreparedDataset, config: TrainConfig, epochs: bool = False) -> None:
    """Say when the batch holds more than the training images; with ``epochs`` (training, not a sweep), also when full
    batches leave a good share of them out of each epoch."""
    if why := batch_past_the_data(len(dataset.train_index), config.global_batch):
        say(f"warning: {why}; lower --batch-size for more steps")
    elif epochs and (note := left_over(len(dataset.train_index), config.global_batch)):
        say(f"note: {note}")


def steps_per_epoch(dataset: PreparedDataset, config: TrainConfig) -> int:
    """Training steps per epoch for this dataset and batch size."""
    return training_batches_per_epoch(len(dataset.train_index), config.global_batch)


def confirm_mismatch(lines: list[str], accept: bool, as_tuned: str = "") -> None:
    """Show what differs; go on only if accepted (by option, or by answering y on a terminal); ``as_tuned``: the options
    that train the model the schedule was tuned with. Worded for a file that does not say what it was tuned on too (one
    written by hand was "tuned for another dataset": helper-76)."""
    say("warning: this schedule may not fit this run:")
    for line in lines:
        say(f"  - {line}")
    if accept:
        return
    if sys.stdin.isatty():
        say("use it anyway? [y/N] ")
        if sys.stdin.readline().strip().lower() in ("y", "yes"):
            return
        # Declined: not an error to scold, but still status 2 (nothing ran), as a script without the option gets.
        raise CliError("not started: you declined a schedule that may not fit this run")
    instead = f"give {as_tuned} to train what it was tuned with, or " if as_tuned else ""
    raise CliError(f"the schedule may not fit this run (see above); {instead}pass --accept-mismatch to use it anyway")


def model_groups(config: TrainConfig, dataset: PreparedDataset) -> tuple[str, ...]:
    """The model's layer group names for this data (built on the meta device: nothing allocated, no weights read)."""
    summary = dataset.summary
    outline = group_outline(config.model, channels=summary.channels, classes=len(summary.classes),
                            resolution=summary.resolution, pretrained=config.pretrained)
    return tuple(name for name, _ in outline)


def schedule_option(args: argparse.Namespace) -> ScheduleFile | None:
    """The --schedule file, read once (its warnings are printed once), or None without the option. CliError for an
    option that builds a schedule the file replaces: `--shape cosine --group-lr head=10` trained the file's one-cycle
    at every group's LR alike, and the run's record said cosine (helper-92)."""
    if not getattr(args, "schedule", None):
        return None
    d = TrainConfig()
    given = [option for option, value, default in (
        ("--shape", args.shape, None), ("--group-lr", args.group_lr, []), ("--freeze-epochs", args.freeze_epochs, d.freeze_epochs),
        ("--lr-spread", args.lr_spread, None), ("--layer-decay", args.layer_decay, d.layer_decay),
        ("--gradual-unfreeze", args.gradual_unfreeze, d.gradual_unfreeze)) if value != default]
    if given:
        raise CliError(f"{', '.join(given)}: not used with --schedule, whose file sets the schedule's shape and its groups' "
                       "LRs (change them in the file, or leave --schedule out; --lr scales the file's schedule)")
    return read_schedule(Path(args.schedule))


def adopt_schedule_settings(args: argparse.Namespace, config: TrainConfig, loaded: ScheduleFile | None) -> None:
    """A --schedule file trains with the momentum it was trained with, the weight decay its tune chose, and the image size,
    global batch and length of its run, unless --momentum, --weight-decay, --image-size, --batch-size or --epochs say
    otherwise. (The weight decay was exported, then silently replaced by the default; the momentum was taken from the
    file while the run's record said 0.9; a file tuned at 16 px was refused at the default 32, and one of 3 epochs
    stretched over 5: helper-74; one tuned at batch 16 was squeezed into a quarter of its steps at 64: helper-80.)"""
    if loaded is None:
        return
    if loaded.tuned_batch is not None and args.batch_size is None:
        _adopt_global_batch(args, config, loaded.tuned_batch[0] * loaded.tuned_batch[1])
    if _adopt(args, config, "image_size", (loaded.dataset or {}).get("resolution"), "dataset.resolution"):
        say(f"image size {config.image_size} px, as {args.schedule} was tuned at (--image-size overrides)")
    if _adopt(args, config, "epochs", (loaded.context or {}).get("epochs"), "context.epochs"):
        say(f"{counted(config.epochs, 'epoch')}, as {args.schedule} was tuned over (--epochs overrides)")
    tuned = loaded.tuned_weight_decay
    if tuned is not None and args.weight_decay is None:
        config.weight_decay = tuned
        say(f"weight decay {tuned:.3g}, as the tune recorded in {args.schedule} chose it (--weight-decay overrides)")
    momentum = loaded.timeline.base_momentum
    if momentum is not None and args.momentum is None and momentum != config.momentum:
        config.momentum = momentum
        say(f"momentum {momentum:g}, as {args.schedule} was trained with (--momentum overrides)")


def _adopt_global_batch(args: argparse.Namespace, config: TrainConfig, global_batch: int) -> None:
    """Take the file's global batch, split over this run's processes (CliError when they cannot split it evenly)."""
    per_process = split_tuned_batch(args, config, global_batch, config.world_size)
    if per_process is None:
        return
    config.batch_size = per_process
    split = f" ({config.world_size} processes × {config.batch_size})" if config.world_size > 1 else ""
    say(f"global batch {global_batch}{split}, as {args.schedule} was tuned at (--batch-size overrides)")


def split_tuned_batch(args: argparse.Namespace, config: TrainConfig, global_batch: int, processes: int) -> int | None:
    """The per-process batch of the --schedule file's ``global_batch`` on ``processes`` processes; None when the run
    keeps its own (the same already, or a hand-edited file's batch no run takes); CliError when they cannot split it."""
    if global_batch == config.global_batch or dataclasses.replace(config, batch_size=global_batch).errors().get("batch_size"):
        return None
    try:
        return dataclasses.replace(config, batch_size=global_batch, world_size=1).for_world(processes).batch_size
    except ConfigError:
        raise CliError(f"{args.schedule} was tuned at a global batch of {global_batch}, which {processes} processes "
                       "cannot split evenly: use a number of processes that divides it, or give --batch-size") from None


def check_tuned_batch_split(args: argparse.Namespace, config: TrainConfig, processes: int) -> None:
    """Refuse a --schedule file whose global batch ``processes`` processes cannot split (CliError), reading the file
    quietly: its warnings are rank 0's to print, once."""
    loaded = load_schedule(Path(args.schedule))
    if loaded.tuned_batch is not None and args.batch_size is None:
        split_tuned_batch(args, dataclasses.replace(config, world_size=processes), loaded.tuned_batch[0] * loaded.tuned_batch[1],
                          processes)


def _adopt(args: argparse.Namespace, config: TrainConfig, name: str, value, field: str) -> bool:
    """Set ``name`` to the file's ``value`` (its ``field``) when no option gave it and the value is one a run takes;
    whether it did."""
    if getattr(args, name, 0) is not None or not isinstance(value, int) or value == getattr(config, name):
        return False
    if error := dataclasses.replace(config, **{name: value}).errors().get(name):
        # A hand-edited file: the option's default stands, said (a run of 1e9 epochs trained 5 without a word: helper-122).
        say(f"warning: {printable(str(args.schedule))}: {field} {value} is not one a run takes ({error}); "
            f"this run keeps {name.replace('_', ' ')} {getattr(config, name)}")
        return False
    setattr(config, name, value)
    return True


def run_schedule_for(args: argparse.Namespace, config: TrainConfig, dataset: PreparedDataset,
                     loaded: ScheduleFile | None) -> RunSchedule:
    """The schedule a run starts with: the --schedule file re-stretched to the run, or the config's shape
    (a fine-tuning preset over the model's groups when asked)."""
    per_epoch = steps_per_epoch(dataset, config)
    names = model_groups(config, dataset)
    unknown = [name for name in config.group_lr if name not in (*names, ALL)]
    if unknown:  # said here, in the option's words: the schedule built from it would be blamed otherwise
        raise CliError(f"--group-lr {', '.join(unknown)}: {config.model} has no such group; its groups are "
                       f"{', '.join(names)} (or 'all' for every group)")
    if loaded is None:
        try:
            return default_run_schedule(config, per_epoch, names)
        except ValueError as error:
            raise CliError(str(error)) from None
    lines = differences(loaded.dataset, dataset.summary.to_dict())
    weights = weights_label(config.model, config.pretrained, config.weights)
    lines += model_differences(loaded.context, config.model, names, weights, config.optimizer)
    if lines:
        confirm_mismatch(lines, args.accept_mismatch, options_as_tuned(loaded.context, config.model, weights))
    # The run's momentum: the file's unless --momentum said otherwise (adopt_schedule_settings).
    timeline = dataclasses.replace(loaded.for_run(config.epochs * per_epoch), base_momentum=config.momentum)
    if timeline.peak_lr() <= 0:  # it trained a whole run at 0, then warned that the LR may be far too high (helper-92)
        raise CliError(f"{args.schedule}: its LR is 0 at every step, so the run would learn nothing; give its schedule a peak LR")
    if args.lr is not None:  # it was dropped without a word (helper-92)
        say(f"peak LR {args.lr:g} (--lr): {whose(str(args.schedule))} schedule scaled from its peak of {timeline.peak_lr():.3g}")
        timeline = timeline.with_peak_lr(args.lr)
    config.lr = timeline.peak_lr()  # the run's record said the default 0.2, or the --lr it did not train
    kept = cuts_kept(loaded.plateau_cuts)
    say(f"schedule from {args.schedule}: {counted(timeline.total_steps, 'step')}{loaded.stretch_note(timeline.total_steps)}"
        + loaded.batch_note(config.global_batch) + (f"; {kept}" if kept else ""))
    return RunSchedule(timeline)
