"""What resuming a run needs: its saved config, the same dataset, and its newest readable checkpoint."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from .config import TrainConfig
from .data.dataset import PreparedDataset, prepare_configured
from .errors import ConfigError, RunStoreError
from .store.checkpoints import load_latest_checkpoint
from .store.lock import ensure_free
from .store.reader import read_meta, run_info, saved_settings, settings_problem
from .store.writer import moved_dataset
from .text import whose


@dataclass(frozen=True)
class ResumeSetup:
    """Everything a TrainingJob needs to continue a run."""

    run_dir: Path
    config: TrainConfig
    dataset: PreparedDataset
    checkpoint: dict


def saved_config(run_dir: Path) -> tuple[TrainConfig, str]:
    """The run's config and its dataset's fingerprint, from config.json; RunStoreError when it cannot be used."""
    try:
        saved = saved_settings(run_dir)
    except RunStoreError as error:
        raise RunStoreError(f"{run_dir.name}: {error}; the run cannot be resumed without it") from None
    if wrong := settings_problem(saved["config"]):  # every one: the first alone was named, then the next
        raise RunStoreError(f"{run_dir.name}: {wrong}; the run cannot be resumed until they are fixed")
    try:
        return TrainConfig.from_dict(saved["config"]), str(saved["dataset"]["fingerprint"])
    except (ValueError, KeyError, TypeError, ConfigError) as error:
        raise RunStoreError(f"{run_dir}/config.json: cannot be used ({error})") from None


def prepare_resume(run_dir: Path, cache_dir: Path | None, warn: Callable[[str], None] = lambda text: None,
                   owner: bool = True, data: str | None = None, log: Callable[[str], None] | None = None) -> ResumeSetup:
    """Load what a stopped or interrupted run needs; RunStoreError says why it cannot be resumed.

    ``owner``: this process will hold the run's lock (False for a distributed run's ranks but 0, which never
    lock it: rank 0 may already hold it when they get here). ``data``: where the run's dataset folder is now, when it
    moved; the same images are checked by their fingerprint, and the owner records the new place in the run. ``log``:
    what opening the dataset says of its cache."""
    run_dir = Path(run_dir)
    run_info(run_dir)  # a damaged database (a table missing, a meta entry unreadable) is refused here, in one line
    if read_meta(run_dir).get("state") == "finished":
        raise RunStoreError(f"{run_dir.name}: the run already finished; nothing to resume")
    if owner:
        ensure_free(run_dir)  # before the slow part: another process resuming it would be refused anyway
    setup = load_run(run_dir, cache_dir, warn, data, log)
    if data is not None and owner:
        moved_dataset(run_dir, setup.config.data)  # the next resume, `show` and the window find it there
    return setup


def load_run(run_dir: Path, cache_dir: Path | None, warn: Callable[[str], None] = lambda text: None,
             data: str | None = None, log: Callable[[str], None] | None = None) -> ResumeSetup:
    """A stored run's config, its (unchanged) dataset and its newest readable checkpoint, whatever its state; its dataset
    read from ``data`` when given (the folder moved)."""
    run_dir = Path(run_dir)
    config, expected = saved_config(run_dir)
    if data is not None:
        if not Path(data).is_dir():  # it blamed the run: "…: the run's dataset folder is gone" (helper-92)
            raise RunStoreError(f"{data}: no such folder; give --data the folder {whose(run_dir.name)} images are in now")
        config = replace(config, data=str(Path(data).resolve()))
    if not Path(config.data).is_dir():  # the folder check's own advice, "choose a folder…", cannot be followed for a resume
        raise RunStoreError(f"{config.data}: the run's dataset folder is gone; put it back there to resume {run_dir.name}, "
                            f"or give its new place: `lrscope resume {run_dir.name} --data DIR` (the window resumes it from "
                            "the folder it has open when that holds the same images) (a run continues on the images it "
                            f"started with){_relative_hint(config.data)}")
    from .models.setup import resolution_range  # imports torch: only when a run is really resumed

    dataset = prepare_configured(config, resolution_range=resolution_range(config.model, config.pretrained), cache_dir=cache_dir,
                                 log=log)
    if dataset.summary.fingerprint != expected and data is not None:  # nothing changed: another folder was given
        raise RunStoreError(f"{config.data}: holds other images than {run_dir.name} trained on (fingerprint "
                            f"{dataset.summary.fingerprint}, the run's {expected}): give the folder its images moved to")
    if dataset.summary.fingerprint != expected:
        raise RunStoreError(f"{config.data}: the dataset changed since the run started (fingerprint {expected} → "
                            f"{dataset.summary.fingerprint}); resuming would not continue the same run: put the "
                            "original images back, or start a new run on these with `lrscope train`")
    return ResumeSetup(run_dir, config, dataset, load_latest_checkpoint(run_dir, warn=warn))


def _relative_hint(data: str) -> str:
    """Runs stored before paths were made absolute kept the folder as typed: say where it is looked for."""
    if Path(data).is_absolute():
        return ""
    return f"; it was given as a relative path, looked for in {Path.cwd()}: resume from the folder the run was started in"
