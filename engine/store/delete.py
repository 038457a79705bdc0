"""Deleting a stored run: only a run's folder, and only while no process trains it."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from ..errors import RunStoreError
from .database import DB_NAME
from .lock import RunLock


def delete_runs(run_dirs: list[Path]) -> list[Path]:
    """Delete each run, once every one was found free: a run in use, or a folder that is not a run, deletes none of them
    (the first was gone before the second was refused). Returns the folders deleted."""
    unique = deletable(run_dirs)
    for run_dir in unique:
        delete_run(run_dir)
    return unique


def deletable(run_dirs: list[Path]) -> list[Path]:
    """The runs, each once, after checking that every one is a run's folder and free; RunStoreError (RunInUse) names the
    first that is not. The window asks before deleting: it asked "This cannot be undone?" of a run in use, then refused."""
    unique = list(dict.fromkeys(Path(run_dir) for run_dir in run_dirs))
    for run_dir in unique:
        _check_deletable(run_dir)
        RunLock(run_dir).acquire(then="delete it").release()
    return unique


def _check_deletable(run_dir: Path) -> None:
    # A folder named by mistake (a dataset, the runs folder itself) must never go: a run's folder holds its database.
    if run_dir.is_symlink() or not (run_dir / DB_NAME).is_file():
        raise RunStoreError(f"{run_dir}: is not a run's folder (it holds no {DB_NAME}); nothing was deleted")


def delete_run(run_dir: Path) -> None:
    """Remove ``run_dir`` and all it holds (metrics, checkpoints); RunStoreError says why not, RunInUse who trains it."""
    run_dir = Path(run_dir)
    _check_deletable(run_dir)
    delete_locked(run_dir, RunLock(run_dir))


def delete_locked(folder: Path, lock: RunLock) -> None:
    """Remove ``folder`` (a run's, or a tune's) with its lock held while it goes: no process can start on it meanwhile.
    RunStoreError says why not, RunInUse who holds it."""
    lock.acquire(then="delete it")
    try:
        shutil.rmtree(folder)
    except OSError as error:
        raise RunStoreError(f"{folder}: could not be deleted entirely ({error.strerror or error}); check the folder's "
                            "permissions and delete it again") from None
    finally:
        with contextlib.suppress(OSError):  # its lock file went with the folder
            lock.release()
