"""Read runs back: the list of runs, one run's summary, its per-step metrics. Never writes."""

from __future__ import annotations

import contextlib
import json
import math
import os
import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from ..errors import RunStoreError, first_line
from ..files import read_limited
from ..processes import process_alive
from ..text import counted, listed, printable
from .database import CHECKPOINTS, DB_NAME, connect

LIVE_STATES = ("starting", "running", "paused", "range_test")
RESUMABLE_STATES = ("stopped", "interrupted", "failed")
# A LogLine of this level is stored as why the run stopped, when something other than the user stopped it.
STOP_NOTE = "stop_note"
# A warning of the dataset the run started on (images skipped as unreadable, odd sizes): said at the start, kept for `show`.
DATASET_WARNING = "warning:dataset"
CHECKPOINTS_MISSING = "its checkpoints folder is missing"
MAX_CONFIG_BYTES = 1024**2


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
    problem: str = ""
    purpose: str = ""  # what made the run when it is not the user's own (a tune's trial)
    # the fault a run not finished was left at ({"kind", "step", "message"}): it read as a plain "stopped"
    fault: dict | None = None
    # why a run ended when the user did not end it: a tune stopped its trial early, or it failed (a rank of a distributed
    # run died). Each read as a bare "stopped" or "failed", the second as if it could not be resumed.
    why_ended: str = ""

    @property
    def notes(self) -> list[str]:
        """What the runs list says beside the run: what made it, why it stopped or cannot resume, the fault it was left at."""
        left = f"fault at step {self.fault['step']}: {self.fault['message']}" if self.fault else ""
        return [note for note in (self.purpose, self.why_ended, self.problem, left) if note]


def read_meta(run_dir: Path) -> dict[str, str]:
    """The run's meta table; RunStoreError when the database cannot be read."""
    try:
        with _open(run_dir) as db:
            return _meta(db)
    except sqlite3.Error as error:
        raise RunStoreError(f"{run_dir}: the run database cannot be read ({first_line(error)})") from None


def _meta(db: sqlite3.Connection) -> dict[str, str]:
    return {str(k): "" if v is None else str(v) for k, v in db.execute("SELECT key, value FROM meta").fetchall()}


@contextlib.contextmanager
def _open(run_dir: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection, closed on exit."""
    path = Path(run_dir) / DB_NAME
    if not path.exists():
        raise RunStoreError(f"{run_dir}: is not an lrscope run (no {DB_NAME})")
    if not path.is_file():  # a pipe would block the reader; a device never ends
        raise RunStoreError(f"{run_dir}: its {DB_NAME} is not a regular file (a folder, a pipe or a device)")
    connection = connect(run_dir, readonly=True)
    try:
        yield connection
    finally:
        connection.close()


def effective_state(meta: dict[str, str]) -> str:
    """The stored state, or "interrupted" when a live-looking run's process is gone."""
    state = printable(str(meta.get("state", "unknown")))[:20]
    if state in LIVE_STATES and not process_alive(meta.get("host"), int(meta_number(meta, "pid"))):
        return "interrupted"
    return state


def meta_object(meta: dict[str, str], key: str) -> dict:
    """A JSON object stored in the meta table ({} when absent); RunStoreError when it is damaged."""
    try:
        value = json.loads(meta.get(key) or "{}")
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, dict):
        raise RunStoreError(f"the run database's {key!r} entry is damaged")
    return value


def meta_number(meta: dict[str, str], key: str) -> float:
    """A finite number stored in the meta table (0 when absent); RunStoreError when it is damaged."""
    try:
        value = float(meta.get(key) or 0)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or abs(value) > 1e15:
        raise RunStoreError(f"the run database's {key!r} entry is damaged")
    return value


def _started(created: float) -> str:
    try:
        return datetime.fromtimestamp(created).strftime("%Y-%m-%d %H:%M:%S") if created else "?"
    except (OverflowError, OSError, ValueError):
        return "?"


def _left_at_fault(db: sqlite3.Connection) -> dict | None:
    """The run's last fault (kind, step and its first sentence) when no rollback or resume answered it."""
    last = db.execute("SELECT kind, step, message FROM events WHERE kind LIKE 'fault:%' OR kind IN ('rollback', 'state:running') "
                      "ORDER BY time DESC, rowid DESC LIMIT 1").fetchone()
    if last is None or not str(last[0]).startswith("fault:"):
        return None
    return {"kind": printable(str(last[0]).removeprefix("fault:")), "step": last[1] if isinstance(last[1], int) else None,
            "message": printable(str(last[2]).split(". ")[0])[:200]}


def _why_ended(db: sqlite3.Connection, state: str) -> str:
    """A stopped run's note from what stopped it when that was not the user (a STOP_NOTE event); a failed run's message.
    "" for any other run, or when nothing was said."""
    kind = {"stopped": STOP_NOTE, "failed": "state:failed"}.get(state)
    last = kind and db.execute("SELECT step, message FROM events WHERE kind = ? ORDER BY time DESC, rowid DESC LIMIT 1",
                               (kind,)).fetchone()
    if not last or not last[1]:
        return ""
    said = printable(str(last[1]))[:300]
    return f"failed at step {last[0]}: {said}" if state == "failed" else said


def run_info(run_dir: Path) -> RunInfo:
    """The summary line of one run; RunStoreError (naming the run and the damage) when it cannot be read."""
    meta = read_meta(run_dir)
    try:
        dataset = meta_object(meta, "dataset")
        with _open(run_dir) as db:
            steps_done = db.execute("SELECT COALESCE(MAX(step) + 1, 0) FROM steps").fetchone()[0]
            best = db.execute("SELECT MAX(val_accuracy) FROM epochs").fetchone()[0]
            state = effective_state(meta)
            fault = _left_at_fault(db) if state != "finished" else None
            why_ended = _why_ended(db, state)
        best = float(best) if isinstance(best, (int, float)) else float("nan")
        problem = resume_problem(run_dir) if state in RESUMABLE_STATES else ""
        return RunInfo(Path(run_dir).name, Path(run_dir), printable(str(dataset.get("name", "?"))),
                       printable(str(dataset.get("fingerprint", "?"))), _started(meta_number(meta, "created")),
                       "damaged" if problem else state, int(steps_done) if isinstance(steps_done, int) else 0,
                       int(meta_number(meta, "total_steps")), best, printable(problem) + ("; it cannot be resumed" if problem else ""),
                       purpose=printable(meta.get("purpose", ""))[:200], fault=fault, why_ended=why_ended)
    except sqlite3.Error as error:
        raise RunStoreError(f"{run_dir}: the run database is damaged ({first_line(error)})") from None
    except RunStoreError as error:
        raise RunStoreError(f"{run_dir}: {error}") from None


def saved_settings(run_dir: Path) -> dict:
    """config.json's object (the run's settings and its dataset), RunStoreError saying in words why it cannot be used."""
    try:
        saved = json.loads(read_limited(Path(run_dir) / "config.json", MAX_CONFIG_BYTES))
    except PermissionError:
        raise RunStoreError("its config.json cannot be read (permission denied); fix the file's permissions") from None
    except FileNotFoundError:
        raise RunStoreError("its config.json is missing; put it back") from None
    except OSError as error:
        raise RunStoreError(f"its config.json cannot be read ({error.strerror or error})") from None
    except (ValueError, RecursionError):
        raise RunStoreError("its config.json is damaged (not valid JSON): put back a good copy") from None
    if not (isinstance(saved, dict) and isinstance(saved.get("config"), dict) and isinstance(saved.get("dataset"), dict)):
        raise RunStoreError("its config.json is damaged (it lacks the run's settings): put back a good copy")
    return saved


def checkpoint_paths(run_dir: Path) -> list[Path]:
    """The run's checkpoints, oldest first."""
    folder = Path(run_dir) / CHECKPOINTS
    return sorted(folder.glob("step-*.pt")) if folder.is_dir() else []


def checkpoint_step(path: Path) -> int:
    """The step a checkpoint file was written at, from its name (step-0000000462.pt)."""
    return int(path.stem.removeprefix("step-"))


def newest_checkpoint_step(run_dir: Path) -> int | None:
    """The step of the run's newest checkpoint on disk (None when it has none): where a resume continues."""
    paths = checkpoint_paths(run_dir)
    return checkpoint_step(paths[-1]) if paths else None


def resume_problem(run_dir: Path) -> str:
    """Why a stopped or interrupted run cannot be resumed as it is on disk ("" when nothing is seen wrong): `runs` listed
    a run with a broken config.json or no checkpoints folder as "interrupted", and its resume then failed."""
    try:
        saved = saved_settings(run_dir)
    except RunStoreError as error:
        return str(error)
    if wrong := settings_problem(saved["config"]):  # valid JSON of values no run takes was listed "stopped"
        return wrong
    return checkpoints_problem(run_dir)


def checkpoints_problem(run_dir: Path) -> str:
    """Why the run's checkpoints folder cannot be read ("" when it can): missing, or a file in its place (the user or a
    sync tool made it one), which "missing" did not tell."""
    folder = Path(run_dir) / CHECKPOINTS
    if folder.is_dir():
        return ""
    return "its checkpoints folder is a file, not a folder" if folder.exists() else CHECKPOINTS_MISSING


def settings_problem(config: dict) -> str:
    """"its config.json holds settings no run takes (lr: must be a number; epochs: …)", every one of them, or ""."""
    from ..config import TrainConfig

    wrong = TrainConfig.errors_of(config)
    return f"its config.json holds settings no run takes ({'; '.join(f'{k}: {v}' for k, v in wrong.items())})" if wrong else ""


def damaged(run_dir: Path, reason: str) -> RunInfo:
    """The line of a run that cannot be read: state "damaged" and the reason."""
    return RunInfo(Path(run_dir).name, Path(run_dir), "?", "?", "?", "damaged", 0, 0, float("nan"), reason)


def list_runs(root: Path) -> tuple[list[RunInfo], list[str]]:
    """Every run under ``root`` (oldest first; a damaged one with state "damaged") and a note for each problem."""
    root = Path(root)
    if not root.is_dir():
        return [], []
    runs, problems = [], []
    for run_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            runs.append(run_info(run_dir))
        except RunStoreError as error:
            problems.append(str(error))
            if (run_dir / DB_NAME).exists() or (run_dir / "config.json").exists():
                runs.append(damaged(run_dir, str(error)))
    return runs, problems


def find_run(root: Path, name: str) -> Path:
    """A run by path, id or unique id prefix (an exact id wins over the longer ids it begins)."""
    if not name:
        raise RunStoreError("the run's name is empty; give its id (or a unique prefix of it) or its folder; `lrscope runs` lists them")
    if Path(name).is_dir() and (Path(name) / DB_NAME).exists():
        return Path(name)
    root = Path(root)
    matches = [p for p in root.iterdir() if p.is_dir() and p.name.startswith(name)] if root.is_dir() else []
    exact = [p for p in matches if p.name == name]
    if exact:  # there is no longer name to give for it
        return exact[0]
    if len(matches) == 1:
        return matches[0]
    if not matches and ("/" in name or os.sep in name):  # a folder was meant: "no run named '/home/…/nope'" (helper-127)
        what = f"is not an lrscope run (no {DB_NAME})" if Path(name).is_dir() else "no such folder"
        raise RunStoreError(f"{name}: {what}; give a run's folder, or its id (`lrscope runs` lists them)")
    if not matches:
        raise RunStoreError(f"no run named {name!r} under {root}; `lrscope runs` lists them")
    names = listed(sorted((p.name for p in matches), reverse=True), most=4)  # the newest first: ids start with the time
    raise RunStoreError(f"{name!r} matches {counted(len(matches), 'run')} under {root} ({names}); give more of the name")


def read_steps(run_dir: Path) -> dict[str, np.ndarray]:
    """Per-step arrays: step, epoch, loss, lrs (steps x groups), momentum, samples_per_s; and ``groups``, the LR
    columns' names. A damaged cell reads as NaN (and a row of damaged LRs as all NaN)."""
    try:
        with _open(run_dir) as db:
            return _steps(db)
    except sqlite3.Error as error:
        raise RunStoreError(f"{run_dir}: the run's steps cannot be read ({first_line(error)})") from None


def _steps(db: sqlite3.Connection) -> dict[str, np.ndarray]:
    rows = db.execute("SELECT step, epoch, loss, lrs, momentum, samples_per_s FROM steps WHERE typeof(step) = 'integer' "
                      "ORDER BY step").fetchall()
    meta = dict(db.execute("SELECT key, value FROM meta WHERE key = 'groups'").fetchall())
    lrs = [_number_list(r[3]) for r in rows]
    groups = _group_names(meta.get("groups"))
    width = Counter(len(x) for x in lrs if x).most_common(1)[0][0] if any(lrs) else (len(groups) or 1)
    return {
        "groups": groups if len(groups) == width else tuple(f"group{i}" for i in range(width)),
        "step": np.array([r[0] for r in rows], dtype=np.int64),
        "epoch": np.array([_number(r[1]) for r in rows], dtype=float),
        "loss": np.array([_number(r[2]) for r in rows], dtype=float),
        "lrs": np.array([x if len(x) == width else [np.nan] * width for x in lrs], dtype=float).reshape(len(rows), width),
        "momentum": np.array([_number(r[4]) for r in rows], dtype=float),
        "samples_per_s": np.array([_number(r[5]) for r in rows], dtype=float),
    }


def _group_names(cell) -> tuple[str, ...]:
    """The parameter group names a run recorded (none when the entry is missing or damaged)."""
    try:
        names = json.loads(cell) if isinstance(cell, str) else []
    except (ValueError, RecursionError):
        names = []
    return tuple(printable(str(n)) for n in names) if isinstance(names, list) else ()


def _number(value) -> float:
    """A stored number; NaN when it is not one (or is an integer too large for a float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return np.nan
    try:
        return float(value)
    except OverflowError:
        return np.nan


def _number_list(cell) -> list[float]:
    """A stored list of numbers (one step's LRs, or its health per group); [] when the cell is damaged."""
    try:
        values = json.loads(cell) if isinstance(cell, str) else None
    except (ValueError, RecursionError):
        return []
    if not isinstance(values, list) or len(values) > 1024:
        return []
    return [_number(v) for v in values]


def read_epochs(run_dir: Path) -> list[dict]:
    """Per-epoch validation rows (numbers; a damaged cell reads as NaN)."""
    try:
        with _open(run_dir) as db:
            return _epochs(db)
    except sqlite3.Error as error:
        raise RunStoreError(f"{run_dir}: the run database is damaged ({first_line(error)})") from None


def _epochs(db: sqlite3.Connection) -> list[dict]:
    rows = db.execute("SELECT epoch, step, train_loss, val_loss, val_accuracy, seconds, time FROM epochs "
                      "WHERE typeof(epoch) = 'integer' AND typeof(step) = 'integer' ORDER BY epoch").fetchall()
    keys = ("epoch", "step", "train_loss", "val_loss", "val_accuracy", "seconds", "time")
    return [dict(zip(keys, (row[0], row[1], *map(_number, row[2:])))) for row in rows]


@dataclass(frozen=True)
class Snapshot:
    """A run's meta, steps and epochs read in one transaction: a consistent moment of a run being written."""

    meta: dict[str, str]
    steps: dict[str, np.ndarray]
    epochs: list[dict]
    curvature: list[dict]  # as read_curvature
    health: dict  # as read_health
    warnings: list[tuple[int, str, str]]  # (step, kind, words) of each stability warning, oldest first


def read_snapshot(run_dir: Path) -> Snapshot:
    """Meta, steps and epochs as of one commit of the writer (WAL lets this read go on while it writes)."""
    try:
        with _open(run_dir) as db:
            db.execute("BEGIN")
            snapshot = Snapshot(_meta(db), _steps(db), _epochs(db), _curvature(_table_rows(db, CURVATURE_SQL, "curvature")),
                                _health(_table_rows(db, HEALTH_SQL, "health")),
                                [(step, kind.removeprefix("stability:"), str(words)) for step, kind, words in db.execute(WARNINGS_SQL)])
            db.execute("COMMIT")
            return snapshot
    except sqlite3.Error as error:
        raise RunStoreError(f"{run_dir}: the run database cannot be read ({first_line(error)})") from None


def _rows_if_table(run_dir: Path, sql: str, what: str) -> list[tuple]:
    """Rows of ``sql``; none from a run stored before its table existed; RunStoreError when the database is damaged."""
    try:
        with _open(run_dir) as db:
            return _table_rows(db, sql, what)
    except sqlite3.Error as error:
        raise RunStoreError(f"{run_dir}: the run's {what} cannot be read ({first_line(error)})") from None


def _table_rows(db: sqlite3.Connection, sql: str, what: str) -> list[tuple]:
    if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (what,)).fetchone():
        return []
    return db.execute(sql).fetchall()


def _json(cell):
    """A stored JSON cell's value; None when it is damaged."""
    try:
        return json.loads(cell) if isinstance(cell, str) else None
    except (ValueError, RecursionError):
        return None


CURVATURE_SQL = "SELECT measurement FROM curvature ORDER BY step"
WARNINGS_SQL = ("SELECT step, kind, message FROM events WHERE kind LIKE 'stability:%' AND typeof(step) = 'integer' "
                "AND typeof(kind) = 'text' ORDER BY rowid")
HEALTH_SQL = "SELECT step, groups, grad_norm, update_ratio FROM health WHERE typeof(step) = 'integer' ORDER BY step"


def read_curvature(run_dir: Path) -> list[dict]:
    """Every curvature measurement of the run, oldest first, as plain data (see CurvatureMeasured.to_dict);
    a damaged row is left out."""
    return _curvature(_rows_if_table(run_dir, CURVATURE_SQL, "curvature"))


def _curvature(rows: list[tuple]) -> list[dict]:
    from ..events import CurvatureMeasured  # the events module is not needed by the other readers

    measurements = []
    for (cell,) in rows:
        data = _json(cell)
        try:
            measurement = CurvatureMeasured.from_dict(data)
        except (TypeError, ValueError, KeyError, AttributeError):
            continue
        if isinstance(measurement.step, int) and not isinstance(measurement.step, bool) and math.isfinite(_number(measurement.lambda_max)):
            measurements.append(data)
    return measurements


def read_health(run_dir: Path) -> dict:
    """Per-step optimizer health: step, groups, grad_norm and update_ratio (steps x groups), for the groups of
    the last row that names them; rows of other (or damaged) groups are left out, a damaged cell reads as NaN."""
    return _health(_rows_if_table(run_dir, HEALTH_SQL, "health"))


def _health(rows: list[tuple]) -> dict:
    named = [(r, list(_group_names(r[1]))) for r in rows]
    groups = next((names for _, names in reversed(named) if names), [])
    same = [r for r, names in named if names == groups and groups]
    width = len(groups)

    def matrix(column: int) -> np.ndarray:
        cells = [_number_list(r[column]) for r in same]
        return np.array([x if len(x) == width else [np.nan] * width for x in cells], dtype=float).reshape(len(same), width)

    return {"step": np.array([r[0] for r in same], dtype=np.int64), "groups": groups, "grad_norm": matrix(2), "update_ratio": matrix(3)}


def read_table(run_dir: Path, sql: str) -> list[tuple]:
    """Rows of a read-only query on the run database; RunStoreError when it is damaged."""
    try:
        with _open(run_dir) as db:
            return db.execute(sql).fetchall()
    except sqlite3.Error as error:
        raise RunStoreError(f"{run_dir}: the run database is damaged ({first_line(error)})") from None
