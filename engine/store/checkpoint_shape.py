"""What a checkpoint must hold before the job may restore from it: each field with its type.

``torch.load(weights_only=True)`` guarantees that no code ran, not that the content is what the job
wrote: a checkpoint with the right tag and the wrong content must be refused here, in words, instead
of failing later with a KeyError deep inside the restore.
"""

from __future__ import annotations

import json
from typing import Any

import torch

from ..errors import ScheduleFileError
from ..schedules.history_codec import run_schedule_from_dict

FORMAT = "lrscope.checkpoint"
VERSION = 1


def _is(value: Any, kind: type) -> bool:
    return isinstance(value, kind) and not (kind is int and isinstance(value, bool))


def _state_problem(state: Any) -> str | None:
    if not isinstance(state, dict):
        return "its training state is missing"
    model = state.get("model")
    if not isinstance(model, dict) or not model or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in model.items()):
        return "its model weights are missing or not tensors"
    optimizer = state.get("optimizer")
    if not isinstance(optimizer, dict) or not isinstance(optimizer.get("state"), dict) or not isinstance(optimizer.get("param_groups"), list):
        return "its optimizer state is missing"
    rng = state.get("rng_cpu")
    if not isinstance(rng, torch.Tensor) or rng.dtype != torch.uint8 or rng.dim() != 1:
        return "its random-number state is missing"
    if not isinstance(state.get("rng_cuda"), list) or not all(isinstance(t, torch.Tensor) for t in state["rng_cuda"]):
        return "its CUDA random-number state is not a list of tensors"
    return None


def _json_problem(payload: dict) -> str | None:
    try:
        run_schedule_from_dict(json.loads(payload["run_schedule"]))
        metrics, plateau = json.loads(payload["metrics"]), json.loads(payload["plateau"])
    except (ValueError, RecursionError, ScheduleFileError) as error:
        return f"its schedule or metrics cannot be read ({str(error)[:120]})"
    if not isinstance(metrics, dict) or not all(_is(v, float) or _is(v, int) for v in metrics.values()):
        return "its metrics are not numbers"
    if plateau is not None and not isinstance(plateau, dict):
        return "its plateau state is not an object"
    return None


def structure_problem(payload: Any) -> str | None:
    """Why ``payload`` is not a usable checkpoint, or None when every field has its type."""
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        return "it is not an lrscope checkpoint"
    if payload.get("version") != VERSION or not _is(payload.get("version"), int):
        return f"its format version is {str(payload.get('version'))[:20]}, this lrscope reads {VERSION}"
    if not _is(payload.get("step"), int) or payload["step"] < 0 or not isinstance(payload.get("epoch_end_pending"), bool):
        return "its step is missing or not a whole number"
    if not all(isinstance(payload.get(key), str) for key in ("run_schedule", "plateau", "metrics")):
        return "its schedule, plateau or metrics field is missing"
    return _state_problem(payload["state"] if "state" in payload else None) or _json_problem(payload)
