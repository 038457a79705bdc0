"""The run store's writer: events go into a queue; a background thread batches them into SQLite
(committing at least twice a second) and writes checkpoints, so the training step never waits on disk.

What reaches the disk is always a prefix of the queue: when a write fails (disk full, folder removed),
that item and everything after it wait, are retried every few seconds, and are dropped only when the
store closes. So the newest checkpoint on disk never outruns the metrics before it, and a failed store
leaves a run that resumes from its last checkpoint with no hole in its record. The store says so with
a StoreFailed event, which the CLI answers by stopping and the window by pausing.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..atomic import write_text_atomically
from ..errors import LrscopeError, RunStoreError
from ..events import (
    CheckpointSaved,
    CommandApplied,
    CurvatureMeasured,
    EpochEnded,
    Event,
    EventBus,
    FaultRaised,
    HealthLogged,
    LogLine,
    RangeTestFinished,
    RolledBack,
    RunStarted,
    ScheduleChanged,
    StabilityWarning,
    StateChanged,
    StepsLogged,
    StoreFailed,
    StoreRecovered,
)
from ..schedules.edits import RunSchedule
from ..schedules.history_codec import run_schedule_from_dict, run_schedule_to_dict
from ..text import counted, name_part, printable
from .checkpoints import write_checkpoint
from .database import connect
from .edit_rows import rows_not_held
from .failure import describe_failure, none_left, stop_note
from .folder_guard import FolderGuard, FolderMoved
from .lock import RunLock
from .reader import DATASET_WARNING, STOP_NOTE, checkpoint_paths, checkpoint_step, newest_checkpoint_step, saved_settings

COMMIT_EVERY = 0.5
RETRY_SECONDS = 2.0
CLOSE_RETRIES = 2
_CLOSE = object()


@dataclass(frozen=True)
class _Numbered:
    seq: int
    event: Event


def _run_id(dataset_name: str) -> str:
    return f"{datetime.now():%Y%m%d-%H%M%S}-{name_part(dataset_name)}-{uuid.uuid4().hex[:4]}"


class RunStore:
    """One run's directory: config.json, run.sqlite and checkpoints/."""

    def __init__(self, run_dir: Path, emit: Callable[[Event], None] | None = None):
        self.run_dir = Path(run_dir)
        self.run_id = self.run_dir.name
        self.emit = emit or (lambda event: None)
        self.failure: str | None = None
        self._error: Exception | None = None  # the write that failed last, while the store is failing
        self.unwritten = 0
        self.checkpoint_step = newest_checkpoint_step(self.run_dir)  # a resumed run's is resumable before it writes one
        self._retry_at = 0.0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._session, self._last_seq = "", 0
        self._lock = RunLock(self.run_dir).acquire()
        try:
            self._db = connect(self.run_dir)
            self._set_meta({"pid": str(os.getpid()), "host": socket.gethostname(), "updated_at": str(time.time())})
            self._folder = FolderGuard(self.run_dir)
        except Exception as error:
            self._lock.release()
            raise RunStoreError(describe_failure(self.run_dir, error)) from None
        self._thread = threading.Thread(target=self._write_loop, name=f"lrscope-store-{self.run_id}", daemon=True)
        self._thread.start()

    @classmethod
    def create(cls, root: Path, config: dict, dataset: dict, emit: Callable[[Event], None] | None = None,
               purpose: str = "", start: tuple[RunSchedule, str] | None = None, warnings: Iterable[str] = ()) -> RunStore:
        """A new run directory under ``root``; RunStoreError says what to do when it cannot be written.

        ``purpose`` says what made the run when it is not the user's own (a tune's trial), for the runs list. ``start``
        is the schedule the run starts with and the file it came from ("" for none): edits replace pieces of the stored
        schedule, and a file's schedule is not the config's shape (`lrscope show` described its first piece alone).
        ``warnings`` are the dataset's (images skipped, odd sizes): printed at the start only, `show` said nothing of them."""
        run_dir = Path(root) / _run_id(dataset.get("name", "dataset"))
        try:
            run_dir.mkdir(parents=True)
            write_text_atomically(run_dir / "config.json", json.dumps({"config": config, "dataset": dataset}, indent=1))
        except OSError as error:
            raise _no_run_folder(root, error) from None
        store = cls(run_dir, emit)
        meta = {"created": str(time.time()), "state": "starting", "purpose": printable(purpose)}
        if start is not None:
            meta |= {"start_schedule": json.dumps(run_schedule_to_dict(start[0])), "schedule_source": printable(start[1])}
        store._set_meta(meta)
        store._note_dataset_warnings(warnings)
        return store

    def _note_dataset_warnings(self, warnings: Iterable[str]) -> None:
        now = time.time()
        with self._db:
            self._db.executemany("INSERT INTO events VALUES (?,?,?,?)",
                                 [(now + index * 1e-6, DATASET_WARNING, None, printable(text)) for index, text in enumerate(warnings)])

    @staticmethod
    def check_root(root: Path) -> None:
        """RunStoreError now when no run folder can be made under ``root``: a tune found out after its range test, and
        left a search folder holding only its initial weights."""
        try:
            Path(root).mkdir(parents=True, exist_ok=True)
            os.rmdir(tempfile.mkdtemp(prefix=".lrscope-check-", dir=root))
        except OSError as error:
            raise _no_run_folder(root, error) from None

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

    def save_checkpoint(self, payload: dict, step: int, newest: bool = False) -> None:
        """Queue a checkpoint (its tensors are already CPU copies); ``newest``: those of later steps are deleted (the
        run went back to its step)."""
        self._queue.put(("checkpoint", payload, step, newest))

    def sync(self, timeout: float = 60.0) -> bool:
        """Wait until everything queued so far is on disk; False when the store could not write it."""
        written = threading.Event()
        self._queue.put(written)
        return written.wait(timeout) and self.failure is None

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued (one more try if the store is failing), stop the thread, give the run up."""
        self._queue.put(_CLOSE)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self._lock.release()

    # -- the writer thread ---------------------------------------------------------

    def _write_loop(self) -> None:
        pending: list = []
        closing = False
        while not closing:
            items = self._collect(RETRY_SECONDS if pending else 1.0)
            closing = any(item is _CLOSE for item in items)
            if closing:
                self._retry_at = 0.0
            waiting = [item for item in items if isinstance(item, threading.Event)]
            pending = self._write([*pending, *(item for item in items if item is not _CLOSE and not isinstance(item, threading.Event))])
            for written in waiting:
                written.set()
        for _ in range(CLOSE_RETRIES):  # a run that ends while the disk refuses gets a few more tries before giving up
            if not pending:
                break
            time.sleep(max(0.0, self._retry_at - time.monotonic()))
            pending = self._write(pending)
        self.unwritten = len(pending)
        if pending and self._error is not None:
            self._note_what_stopped_it()
        self._db.close()
        self._folder.close()

    def _collect(self, wait: float) -> list:
        """Wait for work (or ``wait`` seconds), then gather what arrives in the next half second."""
        try:
            items = [self._queue.get(timeout=wait)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + COMMIT_EVERY
        while items[-1] is not _CLOSE and not isinstance(items[-1], threading.Event) and (left := deadline - time.monotonic()) > 0:
            try:
                items.append(self._queue.get(timeout=left))
            except queue.Empty:
                break
        return items

    def _write(self, pending: list) -> list:
        """Write ``pending`` in queue order; returns what is left (the failed item and all after it)."""
        if not pending or (self.failure and time.monotonic() < self._retry_at):
            return pending
        if self.failure:
            pending = _newest_checkpoint_only(pending)
        done, events = 0, []
        try:
            self._follow_folder()
            # In queue order: the metrics before a checkpoint are committed before it is written, and the ones
            # after it only once it is on disk, so whatever moment a kill comes, the newest checkpoint and the
            # stored metrics agree (a step in the database never outruns a checkpoint made before it).
            for index, item in enumerate(pending):
                if isinstance(item, tuple):
                    self._write_events(events)
                    done, events = index, []
                    self._write_checkpoint(*item[1:])
                    done = index + 1
                else:
                    events.append(item)
            self._write_events(events)
        except Exception as error:
            try:
                deleted_now = not isinstance(error, FolderMoved) and self._follow_folder()
            except Exception as writing_back:  # the folder could not be made again: that is what to fix
                error, deleted_now = writing_back, False
            if deleted_now:  # under this write: the rest goes on
                return self._write(pending[done:])
            self._failed(error)
            return pending[done:]
        self._recovered()
        return []

    def _follow_folder(self) -> bool:
        """Write the run's folder back when it was deleted under the live run (True when it was, now); FolderMoved when
        it was moved away, which holds the record (put back, the store writes on)."""
        if not self._folder.deleted():
            self._folder.keep_files()
            return False
        self._folder.write_back(self._db)
        self._db.close()
        self._db = connect(self.run_dir)
        self._lock.release()  # its file went with the folder: another process could have taken the run's new one
        self._lock = RunLock(self.run_dir).acquire()
        self.checkpoint_step = newest_checkpoint_step(self.run_dir)
        self.emit(LogLine(f"the run folder {self.run_dir} was deleted while the run trained: its record was written back "
                          "there and the run goes on (the checkpoints deleted with it are lost: a resume goes on from the "
                          "next one written); to end the run, stop it", "warning"))
        return True

    def _failed(self, error: Exception) -> None:
        self._retry_at = time.monotonic() + RETRY_SECONDS
        self._error = error  # before the resumable step is read: a moved folder took its checkpoints along
        if self.failure is None:
            on_disk = self.resumable_step()
            kept = "what was written stays resumable" if on_disk is not None else none_left(self.checkpoint_step)
            self.failure = describe_failure(self.run_dir, error, kept)
            self.emit(LogLine(self.failure, "warning"))
            self.emit(StoreFailed(str(self.run_dir), self.failure, on_disk))

    def _note_what_stopped_it(self) -> None:
        """Given up on what is left: the run's state and a note that its store stopped it, if the disk takes that much.
        The state it ended in was among what could not be written, and `lrscope runs` took the run of a process gone
        for an interrupted one. (What was not written is not: a later write never outruns an earlier one.)"""
        on_disk = self.resumable_step()
        note = stop_note(self.run_dir, self._error, self.checkpoint_step, on_disk)
        try:
            with self._db:
                self._meta({"state": "stopped"})
                self._db.execute("INSERT INTO events VALUES (?,?,?,?)", (time.time(), STOP_NOTE, on_disk, note))
        except Exception:  # the disk refuses this too: the run reads as interrupted, resumable all the same
            pass

    def resumable_step(self) -> int | None:
        """The step a resume continues from, read from the disk (None when no checkpoint is there): the checkpoints this
        store wrote may be gone since, their folder emptied or a file put in its place. While the run's folder is moved
        away they went with it: the newest this store wrote (read from the empty place, a move said "no checkpoint is
        left on disk: start the run again" of a folder that held two; helper-128)."""
        if isinstance(self._error, FolderMoved):
            return self.checkpoint_step
        return newest_checkpoint_step(self.run_dir)

    def writes_now(self, timeout: float = 10.0) -> bool:
        """Whether everything queued is on disk, a failing store trying again at once rather than at its next retry (the
        user has just freed space, or put the folder back)."""
        if self.failure is None:
            return True
        self._retry_at = 0.0
        return self.sync(timeout)

    def _recovered(self) -> None:
        if self.failure is not None:
            self.failure = None
            self._error = None
            self.emit(LogLine(f"the run store at {self.run_dir} writes again; nothing was lost"))
            self.emit(StoreRecovered(str(self.run_dir)))

    def _write_checkpoint(self, payload: dict, step: int, newest: bool) -> None:
        if newest:  # first: of its step and the later ones, only the last few are kept
            self._drop_checkpoints_after(step)
        path = write_checkpoint(self.run_dir, payload, step)
        self.checkpoint_step = step
        self.emit(CheckpointSaved(step, str(path)))

    def _write_events(self, items: list) -> None:
        """Commit ``items`` (events, numbered or not) in one transaction, with the number of the last one."""
        now = time.time()
        last_schedule = None
        last_seq = next((item.seq for item in reversed(items) if isinstance(item, _Numbered)), self._last_seq)
        with self._db:
            for index, item in enumerate(items):
                event = item.event if isinstance(item, _Numbered) else item
                if isinstance(event, ScheduleChanged):
                    last_schedule = event
                # a microsecond apart, in the order they happened: `show` orders faults, edits and epochs by time, and
                # two rollbacks stored in one write listed both faults before both edits
                self._write_event(event, now + index * 1e-6)
            if last_schedule is not None:
                self._meta({"run_schedule": json.dumps(run_schedule_to_dict(last_schedule.run_schedule)),
                            "total_steps": str(last_schedule.run_schedule.timeline.total_steps)})
            self._meta({"updated_at": str(now)})
            if self._session:
                self._meta({"seq_session": self._session, "last_seq": str(last_seq)})
        self._last_seq = last_seq

    def _forget_from(self, step: int, resumed: bool = False) -> None:
        """Drop the steps, measurements and epoch ends from ``step`` on (a rollback, or a resume after a stop or a kill).

        A resume keeps the λmax measured at its step by a range test or on request: measured on the checkpoint's own
        weights, nothing measures it again (a range test's, taken just before Stop, was lost, and the resume warned with
        an older one; helper-124). The cadence's measurement there is made again, so it goes."""
        for table in ("steps", "health"):
            self._db.execute(f"DELETE FROM {table} WHERE step >= ?", (step,))
        self._db.execute("DELETE FROM curvature WHERE step > ?", (step,))
        at = self._db.execute("SELECT rowid, measurement FROM curvature WHERE step = ?", (step,)).fetchall()
        again = [(row,) for row, text in at if not resumed or _trigger(text) == "cadence"]
        self._db.executemany("DELETE FROM curvature WHERE rowid = ?", again)
        self._db.execute("DELETE FROM epochs WHERE step > ?", (step,))

    def _drop_checkpoints_after(self, step: int) -> None:
        """The checkpoints of the steps a rollback abandoned (a fault's pause writes one): left on disk, the newest of
        them was where a resume continued, on the branch the rollback undid, without its ×0.1."""
        for path in checkpoint_paths(self.run_dir):
            if checkpoint_step(path) > step:
                path.unlink(missing_ok=True)
        self.checkpoint_step = newest_checkpoint_step(self.run_dir)

    def _drop_lost_edits(self, start: ScheduleChanged) -> None:
        """Forget the stored edits from the (re)start's step on that its schedule lacks, and say which: made after the
        checkpoint it resumed from, they do not act in this run (a resume that fell back past a damaged checkpoint
        trained without a set-lr that `show` still listed). Those a rollback had undone already stay, as history: the
        resume after three rollbacks warned it dropped the set-lr that blew the run up, and `show` then listed no edit."""
        rows = self._db.execute("SELECT id, step, summary FROM edits WHERE step >= ? ORDER BY id", (start.step,)).fetchall()
        stored = self._stored_schedule()
        undone = rows_not_held(rows, stored.edits) if stored is not None else set()
        dropped = rows_not_held(rows, [record for record in start.run_schedule.edits if record.step >= start.step]) - undone
        lost = [(row, step, summary) for row, step, summary in rows if row in dropped]
        if lost:
            self._db.executemany("DELETE FROM edits WHERE id = ?", [(row,) for row, _, _ in lost])
            made = "; ".join(f"step {step}: {summary}" for _, step, summary in lost)
            self.emit(LogLine(f"the resume from step {start.step} drops {counted(len(lost), 'edit')} made after its checkpoint "
                              f"({made}); make it again if you still want it", "warning"))

    def _stored_schedule(self) -> RunSchedule | None:
        """The schedule the run held when it was last written (None when it has none, or it is damaged)."""
        stored = self._db.execute("SELECT value FROM meta WHERE key = 'run_schedule'").fetchone()
        try:
            return run_schedule_from_dict(json.loads(stored[0])) if stored else None
        except (TypeError, ValueError, LrscopeError):
            return None

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
            # Resumed: what a killed process stored past its last checkpoint did not happen in this run. From step 0 too
            # (its newer checkpoints refused), where "if start_step" forgot nothing; a new run has nothing stored yet.
            self._forget_from(event.start_step, resumed=True)
            if db.execute("SELECT 1 FROM meta WHERE key = 'run_id'").fetchone():  # started before: `show` says where
                db.execute("INSERT INTO events VALUES (?,?,?,?)", (now, "resume", event.start_step, "resumed from its checkpoint"))
            self._meta({"run_id": event.run_id, "config": json.dumps(event.config), "dataset": json.dumps(event.dataset),
                        "steps_per_epoch": str(event.steps_per_epoch), "groups": json.dumps(list(event.groups)),
                        "device": event.device, "total_steps": str(event.total_steps)})
        elif isinstance(event, ScheduleChanged) and event.reason == "start":
            self._drop_lost_edits(event)
        elif isinstance(event, ScheduleChanged):
            db.execute("INSERT INTO edits (step, reason, summary, time, source) VALUES (?,?,?,?,?)",
                       (event.step, event.reason, printable(event.summary), now, event.source))
        elif isinstance(event, StateChanged):
            self._meta({"state": event.state})
            db.execute("INSERT INTO events VALUES (?,?,?,?)", (now, f"state:{event.state}", event.step, printable(event.message)))
        elif isinstance(event, RolledBack):
            self._forget_from(event.step)
            self._drop_checkpoints_after(event.step)
            db.execute("INSERT INTO events VALUES (?,?,?,?)", (now, "rollback", event.step, printable(event.message)))
        elif isinstance(event, FaultRaised):
            db.execute("INSERT INTO events VALUES (?,?,?,?)", (now, f"fault:{event.kind}", event.step, printable(f"{event.message} {event.advice}")))
        elif isinstance(event, RangeTestFinished) and event.result is not None:
            db.execute("INSERT INTO range_tests (step, mode, result, time) VALUES (?,?,?,?)",
                       (event.step, event.result.mode, json.dumps(event.result.to_dict()), now))
        elif isinstance(event, CommandApplied) and event.source:
            db.execute("INSERT INTO events VALUES (?,?,?,?)", (now, f"command:{event.kind}", event.step,
                                                                f"from {event.source}: {event.message}"))
        elif isinstance(event, CurvatureMeasured):
            db.execute("INSERT INTO curvature VALUES (?,?,?,?)", (event.step, event.lambda_max, json.dumps(event.to_dict()), now))
        elif isinstance(event, HealthLogged):
            groups = json.dumps(list(event.groups))
            db.executemany("INSERT OR REPLACE INTO health VALUES (?,?,?,?)", [
                (int(s), groups, json.dumps(g.tolist()), json.dumps(r.tolist()))
                for s, g, r in zip(event.steps, event.grad_norm, event.update_ratio)])
        elif isinstance(event, StabilityWarning):
            db.execute("INSERT INTO events VALUES (?,?,?,?)",
                       (now, f"stability:{event.kind}", event.step, printable(f"{event.message} {event.advice}")))
        elif isinstance(event, LogLine) and event.level in ("warning", STOP_NOTE):
            db.execute("INSERT INTO events VALUES (?,?,?,?)", (now, event.level, None, printable(event.text)))

    def _meta(self, values: dict[str, str]) -> None:
        self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?,?)", list(values.items()))

    def _set_meta(self, values: dict[str, str]) -> None:
        with self._db:
            self._meta(values)


def moved_dataset(run_dir: Path, folder: str) -> None:
    """Record in config.json that the run's dataset folder is now ``folder`` (its images checked the same): a resume from
    a moved folder otherwise needed --data again each time, and the window looked for the run's data where it was."""
    saved = saved_settings(run_dir)
    saved["config"]["data"] = folder
    saved["dataset"]["root"] = folder
    try:
        write_text_atomically(Path(run_dir) / "config.json", json.dumps(saved, indent=1))
    except OSError as error:
        raise RunStoreError(f"{run_dir}/config.json: cannot record the dataset's new folder ({error.strerror or error}); "
                            "free space or fix the folder's permissions") from None


def _trigger(text) -> str:
    """What made a stored measurement ("cadence", "request", "range_test"); a damaged row counts as the cadence's."""
    try:
        data = json.loads(text)
        return data.get("trigger", "cadence") if isinstance(data, dict) else "cadence"
    except (TypeError, ValueError):
        return "cadence"


def _newest_checkpoint_only(pending: list) -> list:
    """While the disk refuses, older waiting checkpoints are superseded: keep only the newest (they are large)."""
    last = max((i for i, item in enumerate(pending) if isinstance(item, tuple)), default=None)
    return [item for i, item in enumerate(pending) if not isinstance(item, tuple) or i == last]


def _no_run_folder(root: Path, error: OSError) -> RunStoreError:
    return RunStoreError(f"cannot create a run folder in {root} ({error.strerror or error}); "
                         "choose another place with --runs-dir DIR, or set LRSCOPE_RUNS_DIR before starting lrscope "
                         "(the window's only setting for it)")
