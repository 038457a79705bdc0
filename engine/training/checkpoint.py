"""A job's checkpoint: everything needed to resume exactly at a step, as tensors and JSON text (no pickled code)."""

from __future__ import annotations

import json
from typing import Any

from ..errors import RunStoreError, first_line
from ..schedules.history_codec import run_schedule_from_dict, run_schedule_to_dict
from ..torch_files import CHECKPOINT_FORMAT
from .state import restore

# 2: handler states under "handlers"; 1: the plateau rule's state under "plateau" (still read).
CHECKPOINT_VERSION = 2


def checkpoint_payload(job, state: dict | None = None) -> dict[str, Any]:
    """The job at its current step (``state``: a capture made just now, else one is made)."""
    return snapshot_payload(job.snapshot(state))


def snapshot_payload(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A ``job.snapshot()`` as a checkpoint: tensors as they are, the rest as JSON text."""
    return {
        "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "step": snapshot["step"],
        "epoch_end_pending": snapshot["epoch_end_pending"],
        "state": snapshot["state"],
        "run_schedule": json.dumps(run_schedule_to_dict(snapshot["run_schedule"])),
        "handlers": json.dumps(snapshot["handlers"]),
        "metrics": json.dumps(snapshot["metrics"]),
        # the losses of the epoch's steps so far: a run resumed mid-epoch reports the whole epoch's train loss
        "epoch_loss": json.dumps(snapshot["epoch_loss"]),
    }


def restore_checkpoint(job, payload: dict) -> None:
    """Put the job back where ``payload`` was taken (ValueError when it is not an lrscope checkpoint, RunStoreError
    when it does not fit this run)."""
    if payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError("not an lrscope checkpoint")
    try:
        restore(job.session, payload["state"])
        job.step = int(payload["step"])
        job.epoch_end_pending = bool(payload["epoch_end_pending"])
        job.run_schedule = run_schedule_from_dict(json.loads(payload["run_schedule"]))
        handlers = json.loads(payload["handlers"]) if "handlers" in payload else {"plateau": json.loads(payload["plateau"])}
        job.load_handler_states(handlers)
        job.metrics.update(json.loads(payload["metrics"]))
        # a checkpoint written before it kept them resumes its epoch from the checkpoint's step, as it did then
        job.recorder.restore_epoch(json.loads(payload["epoch_loss"]) if "epoch_loss" in payload else None)
    except Exception as error:  # weights of another model, a hand-edited schedule…: say so instead of a traceback
        raise RunStoreError(f"the checkpoint of step {payload.get('step')} does not fit this run ({first_line(error)}); "
                            "was the run's config.json edited?") from None
