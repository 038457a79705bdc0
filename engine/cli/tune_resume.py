"""`lrscope tune --resume TUNE`: go on with a tune that stopped before its budget was spent, on its own data and settings."""

from __future__ import annotations

import argparse
from dataclasses import replace

from ..errors import LrscopeError
from ..store.lock import RunInUse
from ..text import counted
from .common import CliError, add_training_options, say, tunes_folder

# The options that define a new tune: a resumed one has its own (its record's), and one given anyway would be ignored.
_NEW_TUNE_OPTIONS = ("schedule", "search", "accept_mismatch")
_KEPT = {"cache_dir", "no_cache"}  # where decoded images are cached changes nothing the tune measures


def _training_defaults() -> dict[str, object]:
    probe = argparse.ArgumentParser()
    add_training_options(probe, data_required=False)
    return {dest: value for dest, value in vars(probe.parse_args([])).items() if dest not in _KEPT}


def resume(args: argparse.Namespace) -> int:
    """Read the tune's record, open its dataset (the same images, or a refusal), and search on from where it stopped."""
    from ..store.paths import runs_root
    from ..tune.folders import find_tune
    from ..tune.resume import check_budget, read_resumable
    from ..tune.search import Tuner
    from .setup import open_dataset
    from .tune import TuneProgress, resume_command, searched

    _refuse_new_tune_options(args)
    try:
        resumed = read_resumable(find_tune(args.resume, tunes_folder(args)))
    except LrscopeError as error:
        raise CliError(f"tune --resume: {error}") from None
    settings = resumed.settings
    if args.budget is not None or args.minutes is not None:
        settings = replace(settings, budget_runs=settings.budget_runs if args.budget is None else args.budget, budget_minutes=args.minutes)
        try:
            settings.validate()
        except ValueError as error:
            raise CliError(f"tune: {error}") from None
    if args.minutes is None:  # before the images are decoded (a budget in minutes is converted at the speed measured then)
        run_steps = resumed.timeline.total_steps
        try:
            check_budget(resumed, resumed.budget_steps if args.budget is None else int(args.budget * run_steps), run_steps)
        except LrscopeError as error:
            raise CliError(f"tune --resume: {error}") from None
    how = "cut off" if resumed.state == "running" else resumed.state  # "running" is what a killed tune's record last said
    say(f"tune {resumed.folder.name}: {how} after {counted(len(resumed.trials), 'trial')}; its data {resumed.config.data}")
    dataset = open_dataset(resumed.config, args)
    if dataset.summary.fingerprint != resumed.dataset.get("fingerprint"):
        raise CliError(f"tune --resume: the images in {resumed.config.data} changed since tune {resumed.folder.name} started "
                       "(another fingerprint); its trials would not compare with new ones: start a new tune")
    progress = TuneProgress(resume_command=resume_command(args))
    tuner = Tuner(resumed.config, dataset, resumed.timeline, settings, runs_root=runs_root(args.runs_dir),
                  tunes_root=resumed.folder.parent, emit=progress, resume=resumed)
    try:
        return searched(args, tuner, dataset, progress)
    except RunInUse:  # another process is running it: exit 5, as for a run in use
        raise
    except LrscopeError as error:  # its budget spent (a budget in minutes is checked only here)
        raise CliError(f"tune --resume: {error}") from None


def _refuse_new_tune_options(args: argparse.Namespace) -> None:
    """CliError naming the options that would change the tune: a resumed tune keeps the data and settings it began with."""
    given = [dest for dest, default in _training_defaults().items() if getattr(args, dest) != default]
    given += [dest for dest in _NEW_TUNE_OPTIONS if getattr(args, dest) not in (None, False, ["lr"])]
    if given:
        names = ", ".join(f"--{dest.replace('_', '-')}" for dest in given)
        raise CliError(f"tune --resume: {names}: a tune goes on with the data and settings it began with; drop "
                       f"{'it' if len(given) == 1 else 'them'} (--budget or --minutes give it a larger budget), or start a new tune")
