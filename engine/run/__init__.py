"""A run is a handle: start one here, in another process, or attach to one served elsewhere; watch and steer it the same way.

Names are resolved on first use, so a client (``lrscope watch``/``ctl``) never imports torch.
"""

from importlib import import_module

_WHERE = {
    "RunHandle": ".handle", "RunResult": ".handle", "RunTracker": ".handle", "TERMINAL": ".handle",
    "NewRun": ".launch", "ResumedRun": ".launch", "InProcessRun": ".in_process", "stored_history": ".history",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_WHERE[name], __name__), name)
