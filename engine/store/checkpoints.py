"""Checkpoints on disk: written atomically, the last few kept, read back as weights only and checked.

A checkpoint is data from disk, so it is treated like any other untrusted file: opened only if it is a
regular file, loaded with ``weights_only=True`` (no code runs), and its structure checked before use;
one that fails any of these is refused in one line and the one before it is tried.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from ..atomic import write_atomically
from ..errors import RunStoreError, first_line
from ..torch_files import Refused, load_tensors, save_tensors
from .checkpoint_shape import structure_problem
from .database import CHECKPOINTS
from .reader import CHECKPOINTS_MISSING, checkpoint_paths, checkpoints_problem

KEEP = 3


def write_checkpoint(run_dir: Path, payload: dict, step: int, keep: int = KEEP) -> Path:
    """Write ``payload`` atomically as step-NNNNNNNNNN.pt and delete all but the last ``keep``."""
    path = Path(run_dir) / CHECKPOINTS / f"step-{step:010d}.pt"
    # Its folder is made again when it went, the run's folder never: made again here, a run whose folder was deleted
    # wrote checkpoints beside no record and said nothing (FileNotFoundError, which the store answers).
    path.parent.mkdir(exist_ok=True)
    write_atomically(path, lambda tmp: save_tensors(payload, tmp))
    for old in checkpoint_paths(run_dir)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def read_checkpoint(path: Path) -> dict:
    """A checkpoint loaded as weights only and checked; Refused says why it cannot be used."""
    try:
        payload = load_tensors(path)
    except OSError as error:  # missing, or not a regular file (a FIFO would block torch.load forever)
        raise Refused(error.strerror or first_line(error)) from None
    problem = structure_problem(payload)
    if problem:
        raise Refused(problem)
    return payload


def load_latest_checkpoint(run_dir: Path, warn=lambda text: None) -> dict:
    """The newest usable checkpoint (an unusable one is reported in one line and the one before it tried)."""
    paths = checkpoint_paths(run_dir)
    if problem := checkpoints_problem(run_dir):  # "it ended before its first checkpoint" was said of a run of 185 steps
        todo = "put it back" if problem == CHECKPOINTS_MISSING else "move that file away and put the folder back"
        raise RunStoreError(f"{run_dir}: {problem}; {todo} to resume the run")
    if not paths:
        raise RunStoreError(f"{run_dir}: has no checkpoint to resume from (it ended before its first checkpoint was written)")
    denied = 0
    for path in reversed(paths):
        try:
            return read_checkpoint(path)
        except Refused as error:
            denied += str(error) == os.strerror(errno.EACCES)
            warn(f"{path.name} was refused: {error}; trying the checkpoint before it")
    if denied == len(paths):  # not damaged: readable again once the permissions are fixed
        raise RunStoreError(f"{run_dir}: none of its {len(paths)} checkpoints can be read (permission denied); fix their "
                            "permissions, then resume again")
    raise RunStoreError(f"{run_dir}: none of its {len(paths)} checkpoints can be read; the run cannot be resumed")
