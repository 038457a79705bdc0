"""How long a training step takes here, measured on the session itself and undone, to announce a budget in time."""

from __future__ import annotations

import time

from ..training.session import Session
from ..training.state import capture, restore
from ..training.step import train_step

TIMED_STEPS = 3


def step_seconds(session: Session) -> float:
    """Seconds per training step (the first, warm-up step not counted); the session is left as it was."""
    state = capture(session)
    batches = session.train.iterate(0)
    try:
        for group in session.optimizer.param_groups:
            group["lr"] = 0.0
        images, labels = next(batches)
        float(train_step(session, images, labels, 0))
        started = time.perf_counter()
        for step in range(1, TIMED_STEPS):
            float(train_step(session, images, labels, step))
        return (time.perf_counter() - started) / (TIMED_STEPS - 1)
    finally:
        batches.close()
        restore(session, state)
