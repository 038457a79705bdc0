"""Read runs back: the list of runs, one run's summary, its per-step metrics. Never writes."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from ..errors import RunStoreError
from .database import DB_NAME, connect

LIVE_STATES = ("starting", "running", "paused", "range_test")


@dataclass(frozen=True)
class RunInfo:
    """One line of ``lrscope runs``."""

    run_id: str
    run_dir: Path
    dataset: str
    fingerprint: str
    started: str
    state: str
    steps_done: int
    total_steps: int
    best_val_accuracy: float


def process_alive(host: str | None, pid: int) -> bool:
    """Whether process ``pid`` of ``host`` still runs (assumed when it is another host's)."""
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError, ValueError):
        return False
    except PermissionError:
        return True
    return True


def read_meta(run_dir: Path) -> dict[str, str]:
    """The run's meta table; RunStoreError when the database cannot be read."""
    try:
        with _open(run_dir) as db:
            return _meta(db)
    except sqlite3.Error as error:
        raise RunStoreError(f"{run_dir}: the run database cannot be read ({error})") from None


def _meta(db: sqlite3.Connection) -> dict[str, str]:
    return dict(db.execute("SELECT key, value FROM meta").fetchall())


@contextlib.contextmanager
def _open(run_dir: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection, closed on exit."""
    if not (Path(run_dir) / DB_NAME).is_file():
        raise RunStoreError(f"{run_dir}: is not an lrscope run (no {DB_NAME})")
    connection = connect(run_dir, readonly=True)
    try:
        yield connection
    finally:
        connection.close()


def effective_state(meta: dict[str, str]) -> str:
    """The stored state, or "interrupted" when a live-looking run's process is gone."""
    state = meta.get("state", "unknown")
    if state in LIVE_STATES and not process_alive(meta.get("host"), int(meta.get("pid", "0") or 0)):
        return "interrupted"
    return state


def run_info(run_dir: Path) -> RunInfo:
    """The summary line of one run."""
    meta = read_meta(run_dir)
    dataset = json.loads(meta.get("dataset", "{}"))
    with _open(run_dir) as db:
        steps_done = db.execute("SELECT COALESCE(MAX(step) + 1, 0) FROM steps").fetchone()[0]
        best = db.execute("SELECT MAX(val_accuracy) FROM epochs").fetchone()[0]
    created = float(meta.get("created", "0") or 0)
    return RunInfo(Path(run_dir).name, Path(run_dir), dataset.get("name", "?"), dataset.get("fingerprint", "?"),
                   datetime.fromtimestamp(created).strftime("%Y-%m-%d %H:%M:%S") if created else "?",
                   effective_state(meta), int(steps_done), int(meta.get("total_steps", "0") or 0),
                   float("nan") if best is None else float(best))


def list_runs(root: Path) -> tuple[list[RunInfo], list[str]]:
    """Every readable run under ``root`` (oldest first) and a note for each unreadable one."""
    root = Path(root)
    if not root.is_dir():
        return [], []
    runs, problems = [], []
    for run_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            runs.append(run_info(run_dir))
        except (RunStoreError, ValueError) as error:
            problems.append(str(error))
    return runs, problems


def find_run(root: Path, name: str) -> Path:
    """A run by path, id or unique id prefix."""
    if Path(name).is_dir() and (Path(name) / DB_NAME).exists():
        return Path(name)
    root = Path(root)
    matches = [p for p in root.iterdir() if p.is_dir() and p.name.startswith(name)] if root.is_dir() else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunStoreError(f"no run named {name!r} under {root}; `lrscope runs` lists them")
    raise RunStoreError(f"{name!r} matches {len(matches)} runs under {root}; give more of the name")


def read_steps(run_dir: Path) -> dict[str, np.ndarray]:
    """Per-step arrays: step, epoch, loss, lrs (steps x groups), momentum; and ``groups``, the LR columns' names."""
    with _open(run_dir) as db:
        return _steps(db)


def _steps(db: sqlite3.Connection) -> dict[str, np.ndarray]:
    rows = db.execute("SELECT step, epoch, loss, lrs, momentum, samples_per_s FROM steps ORDER BY step").fetchall()
    meta = dict(db.execute("SELECT key, value FROM meta WHERE key = 'groups'").fetchall())
    lrs = [json.loads(r[3]) for r in rows]
    groups = tuple(json.loads(meta.get("groups", "[]")))
    width = max((len(x) for x in lrs), default=len(groups) or 1)
    return {
        "groups": groups if len(groups) == width else tuple(f"group{i}" for i in range(width)),
        "step": np.array([r[0] for r in rows], dtype=np.int64),
        "epoch": np.array([r[1] for r in rows], dtype=float),
        "loss": np.array([np.nan if r[2] is None else r[2] for r in rows], dtype=float),
        "lrs": np.array(lrs, dtype=float).reshape(len(rows), width),
        "momentum": np.array([np.nan if r[4] is None else r[4] for r in rows], dtype=float),
        "samples_per_s": np.array([np.nan if r[5] is None else r[5] for r in rows], dtype=float),
    }


def read_epochs(run_dir: Path) -> list[dict]:
    """Per-epoch validation rows."""
    with _open(run_dir) as db:
        return _epochs(db)


def _epochs(db: sqlite3.Connection) -> list[dict]:
    rows = db.execute("SELECT epoch, step, train_loss, val_loss, val_accuracy, seconds FROM epochs ORDER BY epoch").fetchall()
    keys = ("epoch", "step", "train_loss", "val_loss", "val_accuracy", "seconds")
    return [dict(zip(keys, row)) for row in rows]


@dataclass(frozen=True)
class Snapshot:
    """A run's meta, steps and epochs read in one transaction: a consistent moment of a run being written."""

    meta: dict[str, str]
    steps: dict[str, np.ndarray]
    epochs: list[dict]


def read_snapshot(run_dir: Path) -> Snapshot:
    """Meta, steps and epochs as of one commit of the writer (WAL lets this read go on while it writes)."""
    try:
        with _open(run_dir) as db:
            db.execute("BEGIN")
            snapshot = Snapshot(_meta(db), _steps(db), _epochs(db))
            db.execute("COMMIT")
            return snapshot
    except sqlite3.Error as error:
        raise RunStoreError(f"{run_dir}: the run database cannot be read ({error})") from None


def read_table(run_dir: Path, sql: str) -> list[tuple]:
    """Rows of a read-only query on the run database."""
    with _open(run_dir) as db:
        return db.execute(sql).fetchall()
