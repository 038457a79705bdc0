"""A run's past as the events a client replays, read from its store while it is being written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..events import EpochEnded, Event, RunStarted, ScheduleChanged, StateChanged, StepsLogged
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
    if "run_schedule" in meta:
        events.append(ScheduleChanged(steps_done, run_schedule_from_dict(json.loads(meta["run_schedule"])), "schedule so far", "start"))
    events += _step_blocks(snapshot, per_epoch)
    events += [EpochEnded(r["epoch"], r["step"], _number(r["train_loss"]), _number(r["val_loss"]), _number(r["val_accuracy"]),
                          _number(r["seconds"])) for r in snapshot.epochs]
    events.append(StateChanged(effective_state(meta), steps_done))
    return events, through


def _step_blocks(snapshot: Snapshot, per_epoch: int) -> list[StepsLogged]:
    steps = snapshot.steps
    speeds = steps["samples_per_s"]
    return [StepsLogged(steps["step"][i:i + BLOCK], steps["loss"][i:i + BLOCK], steps["lrs"][i:i + BLOCK],
                        steps["momentum"][i:i + BLOCK], float(np.nan_to_num(speeds[min(i + BLOCK, len(speeds)) - 1])), per_epoch,
                        steps["groups"])
            for i in range(0, len(steps["step"]), BLOCK)]


def _number(value) -> float:
    return float("nan") if value is None else float(value)
