"""Runs that survive: a run directory with a streaming SQLite store and checkpoints.

Names are resolved on first use, so reading runs (the GUI's runs list) does not import torch.
"""

from importlib import import_module

_WHERE = {
    "RunStore": ".writer", "load_latest_checkpoint": ".checkpoints", "library_root": ".paths", "runs_root": ".paths",
    "cache_root": ".paths", "RunInfo": ".reader", "find_run": ".reader", "list_runs": ".reader", "read_epochs": ".reader",
    "read_meta": ".reader", "read_steps": ".reader", "run_info": ".reader",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_WHERE[name], __name__), name)
