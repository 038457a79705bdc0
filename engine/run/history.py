"""A run's past as the events a client replays, read from its store while it is being written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..events import (
    CurvatureMeasured,
    EpochEnded,
    Event,
    HealthLogged,
    RunStarted,
    ScheduleChanged,
    StabilityWarning,
    StateChanged,
    StepsLogged,
)
from ..schedules.edits import RunSchedule
from ..schedules.history_codec import run_schedule_from_dict
from ..store.reader import Snapshot, effective_state, read_snapshot

BLOCK = 50_000


def stored_history(run_dir: Path, session: str = "") -> tuple[list[Event], int]:
    """The stored run as events, and the number of the last event of bus ``session`` the store holds (0: none).

    A client that replays these events, then the live ones numbered after that, misses nothing and sees
    nothing twice: the store writes each batch of events and the number of its last one in one commit.
    """
    snapshot = read_snapshot(Path(run_dir))
    meta = snapshot.meta
    through = int(meta.get("last_seq", "0")) if session and meta.get("seq_session") == session else 0
    if "config" not in meta:  # not even the start is stored yet: the live stream has all of it
        return [], through
    steps_done = int(snapshot.steps["step"][-1]) + 1 if len(snapshot.steps["step"]) else 0
    per_epoch = int(meta.get("steps_per_epoch", "1"))
    events: list[Event] = [RunStarted(
        run_id=meta.get("run_id", Path(run_dir).name), config=json.loads(meta["config"]), dataset=json.loads(meta.get("dataset", "{}")),
        total_steps=int(meta.get("total_steps", "0")), steps_per_epoch=per_epoch, groups=tuple(json.loads(meta.get("groups", "[]"))),
        device=meta.get("device", "?"), run_dir=str(run_dir))]
    if (run_schedule := stored_run_schedule(meta)) is not None:
        events.append(ScheduleChanged(steps_done, run_schedule, "schedule so far", "start"))
    # A late `watch` or window learns of the warnings too (their advice and scale are not stored: the window logs them
    # as past, and offers no "Scale the rest").
    warnings = [StabilityWarning(step, kind, words, "", 1.0) for step, kind, words in snapshot.warnings]
    past = sorted([CurvatureMeasured.from_dict(m) for m in snapshot.curvature] + warnings, key=lambda event: event.step)
    events += _with_measurements(_in_order(snapshot, per_epoch), past)
    health = snapshot.health
    if len(health["step"]):  # the Health tab's past (an attached window drew only what came after it joined)
        events.append(HealthLogged(health["step"], tuple(health["groups"]), health["grad_norm"], health["update_ratio"]))
    events.append(StateChanged(effective_state(meta), steps_done))
    return events, through


def stored_run_schedule(meta: dict[str, str]) -> RunSchedule | None:
    """The run's schedule with its edits as its store holds it (None before the run stored one)."""
    return run_schedule_from_dict(json.loads(meta["run_schedule"])) if "run_schedule" in meta else None


def _in_order(snapshot: Snapshot, per_epoch: int) -> list[Event]:
    """The steps and the epoch ends as they happened: each epoch's end after its steps. (All the steps first made
    `lrscope watch` print, for every past epoch, the LR of the moment it joined.)"""
    steps, events, start = snapshot.steps["step"], [], 0
    for row in snapshot.epochs:
        end = start + int(np.count_nonzero(steps[start:] < row["step"]))  # an epoch ending at step 22 ran steps 0 … 21
        events += _step_blocks(snapshot, per_epoch, start, end)
        events.append(EpochEnded(row["epoch"], row["step"], _number(row["train_loss"]), _number(row["val_loss"]),
                                 _number(row["val_accuracy"]), _number(row["seconds"])))
        start = end
    return events + _step_blocks(snapshot, per_epoch, start, len(steps))


def _with_measurements(events: list[Event], measurements: list[CurvatureMeasured | StabilityWarning]) -> list[Event]:
    """``events`` with each curvature measurement (and stability warning) where it happened: before the first steps or
    epoch end after it (`lrscope watch` prints them in order; the window's bound curve and λmax plot get the run's whole past)."""
    ordered, pending = [], list(measurements)
    for event in events:
        start = int(event.steps[0]) if isinstance(event, StepsLogged) else event.step
        while pending and pending[0].step < start:
            ordered.append(pending.pop(0))
        ordered.append(event)
    return ordered + pending


def _step_blocks(snapshot: Snapshot, per_epoch: int, start: int, end: int) -> list[StepsLogged]:
    """The stored steps from row ``start`` to ``end`` in events of at most BLOCK steps."""
    steps = snapshot.steps
    speeds = steps["samples_per_s"]
    return [StepsLogged(steps["step"][i:min(i + BLOCK, end)], steps["loss"][i:min(i + BLOCK, end)], steps["lrs"][i:min(i + BLOCK, end)],
                        steps["momentum"][i:min(i + BLOCK, end)], float(np.nan_to_num(speeds[min(i + BLOCK, end) - 1])), per_epoch,
                        steps["groups"])
            for i in range(start, end, BLOCK)]


def _number(value) -> float:
    return float("nan") if value is None else float(value)
