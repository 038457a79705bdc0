"""The one place that wires a training job to its event bus, command inbox and run store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..commands import Inbox
from ..config import TrainConfig
from ..data.dataset import PreparedDataset
from ..events import EventBus
from ..schedules.edits import RunSchedule


@dataclass(frozen=True)
class NewRun:
    """A run to start: the config, the prepared dataset, the schedule (None: the config's preset) and where runs live."""

    config: TrainConfig
    dataset: PreparedDataset
    run_schedule: RunSchedule | None
    runs_root: Path


@dataclass(frozen=True)
class ResumedRun:
    """A stopped or interrupted run to continue from its last checkpoint."""

    run_dir: Path
    cache_dir: Path | None


def wire(spec: NewRun | ResumedRun, bus: EventBus, inbox: Inbox, warn: Callable[[str], None]):
    """The job and its store, subscribed to ``bus``; the store is created only once the job could be built."""
    from ..resume import prepare_resume
    from ..store.writer import RunStore
    from ..training.job import TrainingJob

    if isinstance(spec, NewRun):
        job = TrainingJob(spec.config, spec.dataset, run_schedule=spec.run_schedule, bus=bus, inbox=inbox)
        store = RunStore.create(spec.runs_root, spec.config.to_dict(), spec.dataset.summary.to_dict(), emit=bus.emit)
    else:
        setup = prepare_resume(spec.run_dir, spec.cache_dir, warn=warn)
        job = TrainingJob(setup.config, setup.dataset, resume=setup.checkpoint, bus=bus, inbox=inbox)
        store = RunStore(spec.run_dir, emit=bus.emit)
    job.store = store
    store.follow(bus)
    return job, store
