"""Capture and restore the training state: weights, BatchNorm buffers, optimizer, RNG.

Used by the range test (snapshot → act → restore in ``finally``) and by checkpoints.
A capture is a tree of CPU tensors and plain values, so it can be written with
``torch.save`` and read back with ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import Any

import torch

from .session import Session

SPILL_BYTES = 2 * 1024**3


def _to_cpu(value: Any) -> Any:
    """A deep copy with every tensor cloned to the CPU."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(v) for v in value)
    return value


def _nbytes(value: Any) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, dict):
        return sum(_nbytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_nbytes(v) for v in value)
    return 0


def capture(session: Session) -> dict[str, Any]:
    """The whole training state as CPU tensors and plain values."""
    state = {
        "model": _to_cpu(session.model.state_dict()),
        "optimizer": _to_cpu(session.optimizer.state_dict()),
        "rng_cpu": torch.get_rng_state(),
        "rng_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
    }
    if session.scaler is not None:
        state["scaler"] = _to_cpu(session.scaler.state_dict())
    return state


def restore(session: Session, state: dict[str, Any]) -> None:
    """Put a captured state back exactly (weights are copied into the existing tensors)."""
    session.model.load_state_dict(state["model"])
    # A copy: the optimizer keeps the tensors it is given (when device and dtype already match) and training changes
    # them in place, so a second rollback to the same state restored the blown-up momentum of the first.
    session.optimizer.load_state_dict(_to_cpu(state["optimizer"]))
    torch.set_rng_state(state["rng_cpu"])
    if state["rng_cuda"]:
        torch.cuda.set_rng_state_all(state["rng_cuda"])
    if session.scaler is not None and "scaler" in state:
        session.scaler.load_state_dict(state["scaler"])


@contextlib.contextmanager
def preserved(session: Session, spill_bytes: int = SPILL_BYTES) -> Iterator[None]:
    """Run the body, then restore the state it started from, whatever happens in it.

    The snapshot stays in memory unless it is larger than ``spill_bytes``; then it
    goes to a temporary file that is removed afterwards.
    """
    state = capture(session)
    path = None
    if _nbytes(state) > spill_bytes:
        fd, path = tempfile.mkstemp(prefix="lrscope-snapshot-", suffix=".pt")
        os.close(fd)
        torch.save(state, path)
        state = None
    try:
        yield
    finally:
        if path is not None:
            state = torch.load(path, map_location="cpu", weights_only=True)
            os.unlink(path)
        restore(session, state)
