"""The one place that wires a training job to its event bus, command inbox and run store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from ..commands import Inbox
from ..config import TrainConfig
from ..data.dataset import PreparedDataset
from ..events import EventBus, LogLine
from ..schedules.edits import RunSchedule


@dataclass(frozen=True)
class NewRun:
    """A run to start: the config, the prepared dataset, the schedule (None: the config's preset) and where runs live."""

    config: TrainConfig
    dataset: PreparedDataset
    run_schedule: RunSchedule | None
    runs_root: Path
    purpose: str = ""  # what made the run when it is not the user's own, e.g. "tune trial 3, peak LR 0.1 …"
    schedule_source: str = ""  # the schedule file the run starts with, for `lrscope show`


@dataclass(frozen=True)
class ResumedRun:
    """A stopped or interrupted run to continue from its last checkpoint."""

    run_dir: Path
    cache_dir: Path | None
    data: str | None = None  # where the run's dataset folder is now, when it moved
    checkpoint_seconds: float | None = None  # how often it checkpoints now (None: as it was started)


def wire(spec: NewRun | ResumedRun, bus: EventBus, inbox: Inbox, warn: Callable[[str], None]):
    """The job and its store, subscribed to ``bus``; the store is created only once the job could be built.

    In a distributed run (torchrun) every rank builds its job; only rank 0 has a store, and the commands sent
    to ``inbox`` reach every rank's job at the same step (``engine/distributed/command_sync.py``).
    """
    from ..distributed.command_sync import SyncedInbox
    from ..distributed.replicas import distribute
    from ..distributed.world import current
    from ..resume import prepare_resume
    from ..store.writer import RunStore
    from ..training.job import TrainingJob

    world = current()
    job_inbox = SyncedInbox() if world.distributed else inbox
    if isinstance(spec, NewRun):
        config = spec.config.for_world(world.size)  # a config made for another number of processes keeps its global batch
        job = TrainingJob(config, spec.dataset, run_schedule=spec.run_schedule, bus=bus, inbox=job_inbox)
        create = lambda: RunStore.create(spec.runs_root, config.to_dict(), spec.dataset.summary.to_dict(), emit=bus.emit,
                                         purpose=spec.purpose, start=(job.run_schedule, spec.schedule_source),
                                         warnings=spec.dataset.warnings)
    else:
        # What opening the dataset says of its cache: a resume opened it with no log, and "the cache folder … is not
        # writable" went unsaid in the terminal and the window.
        setup = prepare_resume(spec.run_dir, spec.cache_dir, warn=warn, owner=world.leader, data=spec.data,
                               log=lambda text: bus.emit(LogLine(text)))
        # The same global batch on however many processes resume it: the steps and the data position continue.
        config = setup.config.for_world(world.size)
        if spec.checkpoint_seconds is not None:
            config = replace(config, checkpoint_seconds=spec.checkpoint_seconds)
        job = TrainingJob(config, setup.dataset, resume=setup.checkpoint, bus=bus, inbox=job_inbox)
        create = lambda: RunStore(spec.run_dir, emit=bus.emit)
    if world.distributed:
        distribute(job, world, incoming=inbox)
    store = create() if world.leader else None
    job.store = store
    if store is not None:
        store.follow(bus)
    return job, store
