"""Checkpoints on disk: written atomically, the last few kept, read back as weights only."""

from __future__ import annotations

from pathlib import Path

import torch

from ..atomic import write_atomically
from ..errors import RunStoreError, first_line

KEEP = 3
FOLDER = "checkpoints"


def checkpoint_paths(run_dir: Path) -> list[Path]:
    """The run's checkpoints, oldest first."""
    folder = Path(run_dir) / FOLDER
    return sorted(folder.glob("step-*.pt")) if folder.is_dir() else []


def write_checkpoint(run_dir: Path, payload: dict, step: int, keep: int = KEEP) -> Path:
    """Write ``payload`` atomically as step-NNNNNNNNNN.pt and delete all but the last ``keep``."""
    path = Path(run_dir) / FOLDER / f"step-{step:010d}.pt"
    write_atomically(path, lambda tmp: torch.save(payload, tmp))
    for old in checkpoint_paths(run_dir)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def load_latest_checkpoint(run_dir: Path, warn=lambda text: None) -> dict:
    """The newest readable checkpoint (an unreadable one is reported and the one before it tried)."""
    paths = checkpoint_paths(run_dir)
    if not paths:
        raise RunStoreError(f"{run_dir}: has no checkpoint to resume from (it ended before its first checkpoint was written)")
    for path in reversed(paths):
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # a truncated or hand-edited file: try the one before
            warn(f"{path.name} cannot be read ({first_line(error)}); trying the checkpoint before it")
            continue
        if isinstance(payload, dict) and payload.get("format") == "lrscope.checkpoint":
            return payload
        warn(f"{path.name} is not an lrscope checkpoint; trying the one before it")
    raise RunStoreError(f"{run_dir}: none of its {len(paths)} checkpoints can be read; the run cannot be resumed")
