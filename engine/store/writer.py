"""The run store's writer: events go into a queue; a background thread batches them into SQLite
(committing at least twice a second) and writes checkpoints, so the training step never waits on disk."""

from __future__ import annotations

import json
import os
import queue
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..atomic import write_text_atomically
from ..errors import RunStoreError
from ..events import (
    CheckpointSaved,
    CommandApplied,
    EpochEnded,
    Event,
    EventBus,
    FaultRaised,
    LogLine,
    RangeTestFinished,
    RolledBack,
    RunStarted,
    ScheduleChanged,
    StateChanged,
    StepsLogged,
)
from ..schedules.history_codec import run_schedule_to_dict
from .checkpoints import write_checkpoint
from .database import connect

COMMIT_EVERY = 0.5
_CLOSE = object()


@dataclass(frozen=True)
class _Numbered:
    seq: int
    event: Event


def _run_id(dataset_name: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", dataset_name)[:40].strip("-") or "dataset"
    return f"{datetime.now():%Y%m%d-%H%M%S}-{name}-{uuid.uuid4().hex[:4]}"


class RunStore:
    """One run's directory: config.json, run.sqlite and checkpoints/."""

    def __init__(self, run_dir: Path, emit: Callable[[Event], None] | None = None):
        self.run_dir = Path(run_dir)
        self.run_id = self.run_dir.name
        self.emit = emit or (lambda event: None)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._warned = False
        self._session, self._last_seq = "", 0
        try:
            self._db = connect(self.run_dir)
        except Exception as error:
            raise RunStoreError(f"{self.run_dir}: the run database cannot be opened ({error})") from None
        self._set_meta({"pid": str(os.getpid()), "host": socket.gethostname(), "updated_at": str(time.time())})
        self._thread = threading.Thread(target=self._write_loop, name=f"lrscope-store-{self.run_id}", daemon=True)
        self._thread.start()

    @classmethod
    def create(cls, root: Path, config: dict, dataset: dict, emit: Callable[[Event], None] | None = None) -> RunStore:
        """A new run directory under ``root``; RunStoreError says what to do when it cannot be written."""
        run_dir = Path(root) / _run_id(dataset.get("name", "dataset"))
        try:
            run_dir.mkdir(parents=True)
            write_text_atomically(run_dir / "config.json", json.dumps({"config": config, "dataset": dataset}, indent=1))
        except OSError as error:
            raise RunStoreError(f"cannot create a run folder in {root} ({error.strerror}); "
                                "choose another place with --runs-dir or LRSCOPE_RUNS_DIR") from None
        store = cls(run_dir, emit)
        store._set_meta({"created": str(time.time()), "state": "starting"})
        return store

    # -- called from the training thread ----------------------------------------------

    def on_event(self, event: Event) -> None:
        """Queue an event for writing (cheap: the thread does the work)."""
        self._queue.put(event)

    def follow(self, bus: EventBus) -> None:
        """Record ``bus``'s events with their numbers: each commit also stores the number of the last event it
        holds, so a client joining late reads what is stored and takes the live stream from the next number on."""
        self._session = bus.session
        bus.subscribe_numbered(self._on_numbered)

    def _on_numbered(self, seq: int, event: Event) -> None:
        self._queue.put(_Numbered(seq, event))

    def save_checkpoint(self, payload: dict, step: int) -> None:
        """Queue a checkpoint (its tensors are already CPU copies)."""
        self._queue.put(("checkpoint", payload, step))

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued, then stop the thread."""
        self._queue.put(_CLOSE)
        self._thread.join(timeout)

    # -- the writer thread ---------------------------------------------------------

    def _write_loop(self) -> None:
        closing = False
        while not closing:
            items = self._collect()
            closing = any(item is _CLOSE for item in items)
            # In queue order: the metrics before a checkpoint are committed before it is written, and the ones
            # after it only once it is on disk, so whatever moment a kill comes, the newest checkpoint and the
            # stored metrics agree (a step in the database never outruns a checkpoint made before it).
            events: list[Event] = []
            for item in items:
                if isinstance(item, _Numbered):
                    events.append(item.event)
                    self._last_seq = item.seq
                elif isinstance(item, Event):
                    events.append(item)
                elif isinstance(item, tuple):
                    self._guarded(self._write_events, events)
                    events = []
                    self._guarded(self._write_checkpoint, item[1], item[2])
            self._guarded(self._write_events, events)
        self._db.close()

    def _collect(self) -> list:
        """Wait for work (or a heartbeat second), then gather what arrives in the next half second."""
        try:
            items = [self._queue.get(timeout=1.0)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + COMMIT_EVERY
        while items[-1] is not _CLOSE and (left := deadline - time.monotonic()) > 0:
            try:
                items.append(self._queue.get(timeout=left))
            except queue.Empty:
                break
        return items

    def _guarded(self, write, *args) -> None:
        """Disk full or a vanished folder must not stop training: warn once and keep going."""
        try:
            write(*args)
        except Exception as error:
            if not self._warned:
                self._warned = True
                self.emit(LogLine(f"the run store at {self.run_dir} cannot write ({error}); training goes on but "
                                  "metrics and checkpoints may not be saved", "warning"))

    def _write_checkpoint(self, payload: dict, step: int) -> None:
        path = write_checkpoint(self.run_dir, payload, step)
        self.emit(CheckpointSaved(step, str(path)))

    def _write_events(self, events: list[Event]) -> None:
        now = time.time()
        last_schedule = None
        with self._db:
            for event in events:
                if isinstance(event, ScheduleChanged):
                    last_schedule = event
                self._write_event(event, now)
            if last_schedule is not None:
                self._meta({"run_schedule": json.dumps(run_schedule_to_dict(last_schedule.run_schedule)),
                            "total_steps": str(last_schedule.run_schedule.timeline.total_steps)})
            self._meta({"updated_at": str(now)})
            if self._session:
                self._meta({"seq_session": self._session, "last_seq": str(self._last_seq)})

    def _write_event(self, event: Event, now: float) -> None:
        db = self._db
        if isinstance(event, StepsLogged):
            rows = [(int(s), float(s) / event.steps_per_epoch, float(loss), json.dumps(lrs.tolist()), float(m), event.samples_per_s, now)
                    for s, loss, lrs, m in zip(event.steps, event.losses, event.lrs, event.momenta)]
            db.executemany("INSERT OR REPLACE INTO steps VALUES (?,?,?,?,?,?,?)", rows)
        elif isinstance(event, EpochEnded):
            db.execute("INSERT OR REPLACE INTO epochs VALUES (?,?,?,?,?,?,?)",
                       (event.epoch, event.step, event.train_loss, event.val_loss, event.val_accuracy, event.seconds, now))
        elif isinstance(event, RunStarted):
            self._meta({"run_id": event.run_id, "config": json.dumps(event.config), "dataset": json.dumps(event.dataset),
                        "steps_per_epoch": str(event.steps_per_epoch), "groups": json.dumps(list(event.groups)),
                        "device": event.device, "total_steps": str(event.total_steps)})
        elif isinstance(event, ScheduleChanged) and event.reason != "start":
            db.execute("INSERT INTO edits (step, reason, summary, time, source) VALUES (?,?,?,?,?)",
                       (event.step, event.reason, event.summary, now, event.source))
        elif isinstance(event, StateChanged):
            self._meta({"state": event.state})
            db.execute("INSERT INTO events VALUES (?,?,?,?)", (now, f"state:{event.state}", event.step, event.message))
        elif isinstance(event, RolledBack):
            db.execute("DELETE FROM steps WHERE step >= ?", (event.step,))
            db.execute("DELETE FROM epochs WHERE step > ?", (event.step,))
            db.execute("INSERT INTO events VALUES (?,?,?,?)", (now, "rollback", event.step, event.message))
        elif isinstance(event, FaultRaised):
            db.execute("INSERT INTO events VALUES (?,?,?,?)", (now, f"fault:{event.kind}", event.step, f"{event.message} {event.advice}"))
        elif isinstance(event, RangeTestFinished) and event.result is not None:
            db.execute("INSERT INTO range_tests (step, mode, result, time) VALUES (?,?,?,?)",
                       (event.step, event.result.mode, json.dumps(event.result.to_dict()), now))
        elif isinstance(event, CommandApplied) and event.source:
            db.execute("INSERT INTO events VALUES (?,?,?,?)", (now, f"command:{event.kind}", event.step,
                                                                f"from {event.source}: {event.message}"))
        elif isinstance(event, LogLine) and event.level == "warning":
            db.execute("INSERT INTO events VALUES (?,?,?,?)", (now, "warning", None, event.text))

    def _meta(self, values: dict[str, str]) -> None:
        self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?,?)", list(values.items()))

    def _set_meta(self, values: dict[str, str]) -> None:
        with self._db:
            self._meta(values)
