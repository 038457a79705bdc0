"""Starts and steers work off the GUI thread: opening datasets, training, range tests, resuming.

Everything slow (importing torch, decoding images, building a model, training)
runs in a TaskRunner thread. Commands reach a running job through its Inbox,
which the controller creates before the job exists, so nothing sent early is lost.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.commands import CancelRangeTest, Command, Inbox, StartRangeTest, Stop
from engine.config import TrainConfig
from engine.data.dataset import PreparedDataset, prepare_dataset
from engine.data.split import training_batches_per_epoch
from engine.data.thumbnails import sample_thumbnails
from engine.schedules.edits import RunSchedule
from engine.schedules.library import ScheduleLibrary
from engine.schedules.timeline import Timeline
from engine.store.paths import cache_root, library_root, runs_root

from .bridge import EngineBridge
from .tasks import TaskRunner


@dataclass(frozen=True)
class DatasetOpened:
    """The result of opening a folder."""

    dataset: PreparedDataset
    thumbnails: list
    library: list


@dataclass(frozen=True)
class RunEnded:
    """The result of a training task."""

    outcome: Any
    run_schedule: RunSchedule
    config: TrainConfig
    dataset: PreparedDataset
    steps_per_epoch: int
    run_dir: str


class RunController:
    """One training job (or standalone range test) at a time, plus background tasks."""

    def __init__(self, bridge: EngineBridge):
        self.bridge = bridge
        self.tasks = TaskRunner(bridge)
        self.inbox: Inbox | None = None
        self._cancel = threading.Event()
        self.tuner = None
        self._cancel_tune = threading.Event()

    @property
    def training(self) -> bool:
        """Whether a training job is running (or starting)."""
        return self.tasks.busy("train")

    @property
    def tuning(self) -> bool:
        """Whether a tune is running."""
        return self.tasks.busy("tune")

    @property
    def testing(self) -> bool:
        """Whether a standalone range test is running."""
        return self.tasks.busy("range_test")

    def open_dataset(self, folder: str, image_size: int) -> None:
        """Scan, decode (or read the cache) and summarize ``folder`` in the background."""
        def work() -> DatasetOpened:
            dataset = prepare_dataset(folder, resolution=image_size or None, cache_dir=cache_root(),
                                      log=lambda text: None)
            entries, problems = ScheduleLibrary(library_root()).entries(dataset.summary.fingerprint)
            dataset.warnings.extend(problems)
            return DatasetOpened(dataset, sample_thumbnails(dataset), entries)
        self.tasks.start("open", work)

    def probe_devices(self) -> None:
        """Import torch in the background and list the devices (the GPU's name when there is one)."""
        def work() -> list[tuple[str, str]]:
            from engine.device import available_devices

            return available_devices()
        self.tasks.start("devices", work)

    def start(self, config: TrainConfig, dataset: PreparedDataset, timeline: Timeline | None) -> None:
        """Train in the background; ``timeline`` is stretched to the run (None: the config's preset)."""
        self.inbox = Inbox()
        inbox = self.inbox

        def work() -> RunEnded:
            from engine.store import RunStore

            per_epoch = training_batches_per_epoch(len(dataset.train_index), config.batch_size)
            run_schedule = RunSchedule(timeline.stretched(config.epochs * per_epoch)) if timeline else None
            return self._train(config, dataset, inbox, lambda emit: RunStore.create(runs_root(), config.to_dict(),
                                                                                     dataset.summary.to_dict(), emit=emit),
                               run_schedule=run_schedule)
        self.tasks.start("train", work, background=True)

    def resume(self, run_dir: str) -> None:
        """Continue a stopped or interrupted run in the background."""
        self.inbox = Inbox()
        inbox = self.inbox

        def work() -> RunEnded:
            from engine.events import LogLine
            from engine.resume import prepare_resume
            from engine.store import RunStore

            setup = prepare_resume(Path(run_dir), cache_root(), warn=lambda text: self.bridge.put(LogLine(text, "warning")))
            return self._train(setup.config, setup.dataset, inbox, lambda emit: RunStore(Path(run_dir), emit=emit),
                               resume=setup.checkpoint)
        self.tasks.start("train", work, background=True)

    def _train(self, config, dataset, inbox, make_store, **job_options) -> RunEnded:
        from engine.events import EventBus
        from engine.training.job import TrainingJob

        bus = EventBus()
        bus.subscribe(self.bridge.put)
        job = TrainingJob(config, dataset, bus=bus, inbox=inbox, **job_options)
        store = make_store(bus.emit)
        job.store = store
        bus.subscribe(store.on_event)
        try:
            outcome = job.run()
        finally:
            store.close()
        return RunEnded(outcome, job.run_schedule, config, dataset, job.session.steps_per_epoch, str(store.run_dir))

    def send(self, command: Command) -> None:
        """Queue a command for the running job (or the one starting)."""
        if self.inbox is not None and self.training:
            self.inbox.send(command)

    def range_test(self, config: TrainConfig, dataset: PreparedDataset, settings, timeline: Timeline | None, run_steps: int = 0) -> None:
        """During a run: ask the job. Before one: test from fresh weights in the background, advising a run of ``run_steps``."""
        if self.training:
            self.send(StartRangeTest(settings))
            return
        self._cancel.clear()

        def work():
            from engine.range_test.runner import run_range_test
            from engine.training.session import build_session

            session = build_session(config, dataset)
            return run_range_test(session, settings, self.bridge.put, timeline, cancelled=self._cancel.is_set, run_steps=run_steps or None)
        self.tasks.start("range_test", work, background=True)

    def tune(self, config: TrainConfig, dataset: PreparedDataset, timeline: Timeline, settings) -> None:
        """Search the peak LR of ``timeline`` in the background; its trials are stored as runs."""
        self._cancel_tune.clear()

        def work():
            from engine.store.paths import tunes_root
            from engine.tune.search import Tuner

            self.tuner = Tuner(config, dataset, timeline, settings, runs_root=runs_root(), tunes_root=tunes_root(), emit=self.bridge.put)
            if self._cancel_tune.is_set():
                self.tuner.cancel()
            return self.tuner.run()
        self.tasks.start("tune", work, background=True)

    def cancel_tune(self) -> None:
        """Stop the tune's trial in progress; the best trial so far wins."""
        self._cancel_tune.set()
        if self.tuner is not None:
            self.tuner.cancel()

    def cancel_range_test(self) -> None:
        """Cancel the range test in progress (the weights are restored either way)."""
        self._cancel.set()
        self.send(CancelRangeTest())

    def shutdown(self, timeout: float = 30.0) -> bool:
        """Stop every job and task and wait for them; True when all have ended."""
        self._cancel.set()
        self.cancel_tune()
        self.send(Stop())
        return self.tasks.join_all(timeout)
