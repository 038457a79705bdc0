"""Runs that survive: a run directory with a streaming SQLite store and checkpoints."""

from .checkpoints import load_latest_checkpoint
from .paths import library_root, runs_root
from .reader import RunInfo, find_run, list_runs, read_epochs, read_meta, read_steps, run_info
from .writer import RunStore

__all__ = ["RunInfo", "RunStore", "find_run", "library_root", "list_runs", "load_latest_checkpoint", "read_epochs",
           "read_meta", "read_steps", "run_info", "runs_root"]
