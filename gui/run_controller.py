"""Starts and steers work off the GUI thread: opening datasets, training, range tests, resuming.

Everything slow (importing torch, decoding images, building a model, training)
runs in a TaskRunner thread. A run is followed through its handle (engine.run): the
controller subscribes the bridge to it and sends it commands, and knows nothing else
of where it trains. A handle keeps commands sent before its job exists.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from engine.commands import CancelRangeTest, Command, Pause, StartRangeTest, Stop
from engine.config import TrainConfig
from engine.data.dataset import MB, PreparedDataset, prepare_dataset
from engine.data.split import training_batches_per_epoch
from engine.data.thumbnails import sample_thumbnails
from engine.events import LogLine
from engine.run import InProcessRun, NewRun, ResumedRun
from engine.run.handle import RunHandle, RunResult
from engine.run.remote import RemoteRun
from engine.schedules.edits import RunSchedule
from engine.schedules.library import ScheduleLibrary
from engine.schedules.timeline import Timeline
from engine.serve.access import Access
from engine.store.paths import cache_root, library_root, runs_root

from .bridge import EngineBridge
from .tasks import TaskRunner

WINDOW_CLIENT = "lrscope window"  # how a run it attaches to names it (its edits' source)


@dataclass(frozen=True)
class DatasetOpened:
    """The result of opening a folder."""

    dataset: PreparedDataset
    thumbnails: list
    library: list


@dataclass(frozen=True)
class RunEnded:
    """The result of a training task: how the run ended, and what exporting its schedule needs."""

    outcome: RunResult
    run_schedule: RunSchedule
    config: TrainConfig
    dataset: dict
    steps_per_epoch: int
    run_dir: str

    @classmethod
    def of(cls, result: RunResult) -> RunEnded | None:
        """The window's record of a run that ended (or was let go of) as ``result``; None if it never started."""
        if not result.config or result.run_schedule is None:
            return None
        return cls(result, result.run_schedule, TrainConfig.from_dict(result.config), result.dataset, result.steps_per_epoch, result.run_dir)


class RunController:
    """One training job (or standalone range test) at a time, plus background tasks."""

    def __init__(self, bridge: EngineBridge):
        self.bridge = bridge
        self.tasks = TaskRunner(bridge)
        self.handle: RunHandle | None = None
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

    @property
    def busy(self) -> bool:
        """Whether a run, a tune or a range test before a run is going on (each wants the machine to itself)."""
        return self.training or self.tuning or self.testing

    def open_dataset(self, folder: str, image_size: int, memory_budget_mb: int = TrainConfig.memory_budget_mb) -> None:
        """Scan, decode (or read the cache) and summarize ``folder`` in the background; its end's tag is what was asked,
        ``(folder, image_size, memory_budget_mb)``."""
        def work() -> DatasetOpened:
            dataset = prepare_dataset(folder, resolution=image_size or None, cache_dir=cache_root(),
                                      memory_budget=memory_budget_mb * MB, log=self._log_line)
            entries, problems = ScheduleLibrary(library_root()).entries(dataset.summary.fingerprint)
            dataset.warnings.extend(problems)
            return DatasetOpened(dataset, sample_thumbnails(dataset), entries)
        self.tasks.start("open", work, tag=(folder, image_size, memory_budget_mb))

    def _log_line(self, text: str) -> None:
        """A line of a background task for the window's log, through the bridge (the task's thread must not touch it)."""
        self.bridge.put(LogLine(text))

    def probe_devices(self) -> None:
        """Import torch in the background and list the devices (the GPU's name when there is one)."""
        def work() -> list[tuple[str, str]]:
            from engine.device import available_devices

            return available_devices()
        self.tasks.start("devices", work)

    def start(self, config: TrainConfig, dataset: PreparedDataset, timeline: Timeline | None) -> None:
        """Train in the background; ``timeline`` is stretched to the run (None: the config's preset)."""
        per_epoch = training_batches_per_epoch(len(dataset.train_index), config.batch_size)
        run_schedule = RunSchedule(timeline.stretched(config.epochs * per_epoch)) if timeline else None
        self._follow(self._own(InProcessRun(NewRun(config, dataset, run_schedule, runs_root()))))

    def resume(self, run_dir: str, checkpoint_seconds: float, data: str | None = None) -> None:
        """Continue a stopped or interrupted run in the background, checkpointing every ``checkpoint_seconds`` (``data``:
        where its dataset folder is now)."""
        self._follow(self._own(InProcessRun(ResumedRun(Path(run_dir), cache_root(), data, checkpoint_seconds))))

    def attach(self, access: Access) -> None:
        """Follow a run served elsewhere; detaching, or closing the window, leaves it training."""
        self._follow(RemoteRun(access, client=WINDOW_CLIENT), background=False)

    @property
    def attached(self) -> bool:
        """Whether the run followed trains in another process (so the window must never stop it on its own)."""
        return isinstance(self.handle, RemoteRun) and self.training

    @property
    def remote(self) -> bool:
        """Whether the run followed last trains (or trained) in another process: one attached to."""
        return isinstance(self.handle, RemoteRun)

    @property
    def resumed(self) -> bool:
        """Whether the run followed last is a stored run this window resumed: its model and schedule are that run's,
        not the configuration's and the editor's."""
        return isinstance(self.handle, InProcessRun) and isinstance(self.handle.spec, ResumedRun)

    @property
    def refused(self) -> bool:
        """Whether the last run asked to follow was never reached (refused, or no answer): nothing was followed."""
        return isinstance(self.handle, RemoteRun) and not self.handle.connected.is_set()

    def detach(self) -> None:
        """Stop following an attached run; it goes on training."""
        if isinstance(self.handle, RemoteRun):
            self.handle.detach()

    def as_it_stood(self) -> RunEnded | None:
        """The run followed as its events left it, for a task that failed instead of returning its end; None if it never
        started."""
        return None if self.handle is None else RunEnded.of(self.handle.tracker.result())

    def _follow(self, handle: RunHandle, background: bool = True) -> None:
        """Show ``handle``'s events through the bridge and follow it to its end on a background thread."""
        self.handle = handle
        handle.subscribe(self.bridge.put)
        self.tasks.start("train", lambda: RunEnded.of(handle.run()), background=background)

    @staticmethod
    def _own(run: InProcessRun) -> InProcessRun:
        """The window's own run pauses when its store cannot be written (nothing queued is lost; the log says why)."""
        from engine.events import StoreFailed

        run.subscribe(lambda event: run.send(Pause()) if isinstance(event, StoreFailed) else None)
        return run

    def send(self, command: Command) -> None:
        """Queue a command for the run followed (or the one starting)."""
        if self.handle is not None and self.training:
            self.handle.send(command)

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

    def tune(self, config: TrainConfig, dataset: PreparedDataset, timeline: Timeline, settings, resume=None) -> None:
        """Search the peak LR of ``timeline`` in the background; its trials are stored as runs. ``resume``: a stopped
        tune to go on with (``engine.tune.resume.Resumed``)."""
        self._cancel_tune.clear()

        def work():
            from engine.store.paths import tunes_root
            from engine.tune.search import Tuner

            self.tuner = Tuner(config, dataset, timeline, settings, runs_root=runs_root(), tunes_root=tunes_root(), emit=self.bridge.put,
                               resume=resume)
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
        """Stop this window's own run (an attached one only detaches) and every task; wait for them. True when all ended."""
        self._cancel.set()
        self.cancel_tune()
        if self.attached:
            self.detach()
        else:
            self.send(Stop())
        return self.tasks.join_all(timeout)
