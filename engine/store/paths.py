"""Where lrscope keeps runs, tuned schedules and decoded images: overridable by option and environment variable."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from platformdirs import user_cache_dir, user_data_dir


def _folder(override: Path | str | None, variable: str, default: Path) -> Path:
    """The option if given, else the environment variable if set, else ``default``."""
    chosen = override or os.environ.get(variable)
    # Absolute: a relative --runs-dir was printed relative in "run saved in …", beside commands that name it absolute.
    return Path(chosen).expanduser().absolute() if chosen else default


def runs_root(override: Path | str | None = None) -> Path:
    """--runs-dir, else $LRSCOPE_RUNS_DIR, else the user data folder's runs/."""
    return _folder(override, "LRSCOPE_RUNS_DIR", Path(user_data_dir("lrscope")) / "runs")


def run_argument(run_dir: Path | str) -> str:
    """How a suggested command names the run: its id where `lrscope` looks by default, else its folder (a run under
    --runs-dir DIR was named by id alone, and the `lrscope resume ID` it suggested said "no run named …")."""
    run_dir = Path(run_dir)
    return run_dir.name if _default_runs_root(run_dir.parent) else _quoted(run_dir)


def runs_command(root: Path) -> str:
    """The `lrscope runs` that lists the runs under ``root`` (a tune's trials under --runs-dir were not in the bare one)."""
    return "lrscope runs" if _default_runs_root(root) else f"lrscope runs --runs-dir {_quoted(root)}"


def _default_runs_root(folder: Path | str) -> bool:
    """Whether `lrscope` finds runs in ``folder`` without --runs-dir."""
    return Path(folder).resolve() == runs_root().resolve()


def _quoted(path: Path | str) -> str:
    """``path`` as a command line takes it, from any folder."""
    return shlex.quote(str(Path(path).resolve()))


def library_root(override: Path | str | None = None) -> Path:
    """--library-dir, else $LRSCOPE_LIBRARY_DIR, else the user data folder's schedules/."""
    return _folder(override, "LRSCOPE_LIBRARY_DIR", Path(user_data_dir("lrscope")) / "schedules")


def cache_root(override: Path | str | None = None) -> Path:
    """--cache-dir, else $LRSCOPE_CACHE_DIR, else the user cache folder's datasets/."""
    return _folder(override, "LRSCOPE_CACHE_DIR", Path(user_cache_dir("lrscope")) / "datasets")


def tunes_root(override: Path | str | None = None, runs: Path | str | None = None) -> Path:
    """--tunes-dir, else $LRSCOPE_TUNES_DIR, else a tunes/ folder beside the runs folder (``runs``: its --runs-dir, as
    ``runs_root`` takes it; a tune under --runs-dir X kept its record beside the default runs folder, not beside X)."""
    return _folder(override, "LRSCOPE_TUNES_DIR", runs_root(runs).parent / "tunes")
