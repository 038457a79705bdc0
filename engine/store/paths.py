"""Where lrscope keeps runs, tuned schedules and decoded images: overridable by option and environment variable."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir, user_data_dir


def runs_root(override: Path | str | None = None) -> Path:
    """--runs-dir, else $LRSCOPE_RUNS_DIR, else the user data folder's runs/."""
    if override:
        return Path(override).expanduser()
    if os.environ.get("LRSCOPE_RUNS_DIR"):
        return Path(os.environ["LRSCOPE_RUNS_DIR"]).expanduser()
    return Path(user_data_dir("lrscope")) / "runs"


def library_root(override: Path | str | None = None) -> Path:
    """--library-dir, else $LRSCOPE_LIBRARY_DIR, else the user data folder's schedules/."""
    if override:
        return Path(override).expanduser()
    if os.environ.get("LRSCOPE_LIBRARY_DIR"):
        return Path(os.environ["LRSCOPE_LIBRARY_DIR"]).expanduser()
    return Path(user_data_dir("lrscope")) / "schedules"


def cache_root(override: Path | str | None = None) -> Path:
    """--cache-dir, else $LRSCOPE_CACHE_DIR, else the user cache folder's datasets/."""
    if override:
        return Path(override).expanduser()
    if os.environ.get("LRSCOPE_CACHE_DIR"):
        return Path(os.environ["LRSCOPE_CACHE_DIR"]).expanduser()
    return Path(user_cache_dir("lrscope")) / "datasets"
