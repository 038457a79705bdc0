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
from ..torch_files import CHECKPOINT_FORMAT as FORMAT

# 2 keeps the handlers' states under "handlers"; 1 kept the plateau rule's under "plateau" (engine/training/checkpoint.py)
VERSIONS = {1: "plateau", 2: "handlers"}


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


def _json_problem(payload: dict, handlers_key: str) -> str | None:
    try:
        run_schedule_from_dict(json.loads(payload["run_schedule"]))
        metrics, handlers = json.loads(payload["metrics"]), json.loads(payload[handlers_key])
    except (ValueError, ArithmeticError, RecursionError, ScheduleFileError) as error:  # 10**400 overflows a float
        return f"its schedule or metrics cannot be read ({str(error)[:120]})"
    if not isinstance(metrics, dict) or not all(_is(v, float) or (_is(v, int) and abs(v) < 10**18) for v in metrics.values()):
        return "its metrics are not numbers"
    if handlers_key == "handlers" and not isinstance(handlers, dict):
        return "its handlers' states are not an object"
    states = handlers.values() if handlers_key == "handlers" else [handlers]
    if not all(state is None or isinstance(state, dict) for state in states):
        return "a handler's state (the plateau rule's) is not an object"
    return _epoch_loss_problem(payload)


def _epoch_loss_problem(payload: dict) -> str | None:
    """Why the epoch's running loss sum cannot be used (a checkpoint written before it was kept has none: fine)."""
    if "epoch_loss" not in payload:
        return None
    try:
        epoch = json.loads(payload["epoch_loss"])
    except (TypeError, ValueError, RecursionError):
        epoch = None
    if not (isinstance(epoch, dict) and _is(epoch.get("total"), float) and _is(epoch.get("count"), int) and 0 <= epoch["count"] < 10**18):
        return "its epoch's loss so far is not a sum and a count"
    return None


def structure_problem(payload: Any) -> str | None:
    """Why ``payload`` is not a usable checkpoint, or None when every field has its type."""
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        return "it is not an lrscope checkpoint"
    version = payload.get("version")
    if not _is(version, int) or version not in VERSIONS:
        return f"its format version is {str(version)[:20]}, this lrscope reads {', '.join(map(str, VERSIONS))}"
    if not _is(payload.get("step"), int) or payload["step"] < 0 or not isinstance(payload.get("epoch_end_pending"), bool):
        return "its step is missing or not a whole number"
    handlers_key = VERSIONS[version]
    if not all(isinstance(payload.get(key), str) for key in ("run_schedule", handlers_key, "metrics")):
        return f"its schedule, {handlers_key} or metrics field is missing"
    return _state_problem(payload["state"] if "state" in payload else None) or _json_problem(payload, handlers_key)
