"""How long a training step takes here, measured on the session itself and undone, to announce a budget in time."""

from __future__ import annotations

import statistics
import time

from ..training.session import Session
from ..training.state import capture, restore
from ..training.step import train_step

# The median of these: on a busy machine one step in a few can stall for half a second while another process holds a
# core (2 threads in step with each other wait for both), and the mean of two such steps announced "about 1:33" for a
# tune that took 9 seconds.
TIMED_STEPS = 5


def step_seconds(session: Session) -> float:
    """Seconds per training step (the first, warm-up step not counted); the session is left as it was."""
    state = capture(session)
    batches = session.train.iterate(0)
    try:
        for group in session.optimizer.param_groups:
            group["lr"] = 0.0
        images, labels = next(batches)
        float(train_step(session, images, labels, 0))
        return statistics.median(_timed(session, images, labels, step) for step in range(1, TIMED_STEPS + 1))
    finally:
        batches.close()
        restore(session, state)


def _timed(session: Session, images, labels, step: int) -> float:
    started = time.perf_counter()
    float(train_step(session, images, labels, step))
    return time.perf_counter() - started
