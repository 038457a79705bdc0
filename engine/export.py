"""The tuned-schedule document of a run: its schedule with edits, the dataset, the context, the metrics."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .config import TrainConfig
from .schedules.edits import RunSchedule
from .schedules.schedule_file import schedule_document
from .text import counted


def run_metrics(run_id: str, best_val_accuracy: float, val_accuracy: float, val_loss: float, steps: int,
                in_progress: bool = False) -> dict[str, Any]:
    """Which run, and how it went, as every route that exports it writes it (the window's export wrote the steps and the
    Runs tab's did not, so one run exported both ways was two library entries). The run's id tells apart the library
    entries of two runs of one schedule, which read alike. ``in_progress``: the run goes on past ``steps``, so its
    metrics are those so far (a run exported mid-way was listed as "no validation", naming no run)."""
    metrics = {"run": run_id, "best_val_accuracy": best_val_accuracy, "val_accuracy": val_accuracy, "val_loss": val_loss, "steps": steps}
    return {**metrics, "in_progress": True} if in_progress else metrics


def winner_metrics(winner: dict[str, Any]) -> dict[str, Any]:
    """A tune's winning trial's metrics, as a run's (the trial is a stored run): its library entry said "no validation",
    with no run, for a schedule chosen by its validation accuracy (helper-76)."""
    accuracies = [report[1] for report in winner.get("reports") or () if isinstance(report[1], (int, float))]
    best = max(accuracies, default=winner["val_accuracy"])
    return run_metrics(Path(winner["run_dir"]).name, best, winner["val_accuracy"], winner["val_loss"], winner["steps"])


def unmeasured_note(metrics: dict[str, Any] | None) -> str:
    """"its run ended after 2 steps, before its first validation: …" for a run's metrics that hold no validation, else
    "". A run stopped at its second step was exported into the library without a word of it (helper-75)."""
    best = (metrics or {}).get("best_val_accuracy")
    if not metrics or (isinstance(best, (int, float)) and math.isfinite(best)):
        return ""
    steps = metrics.get("steps")
    after = f" after {counted(steps, 'step')}" if isinstance(steps, int) else ""
    when = f"it was exported{after} of its run" if metrics.get("in_progress") is True else f"its run ended{after}"
    return (f"{when}, before its first validation: nothing measured says how this schedule trains "
            "(a full run, or lrscope tune, tells)")


def run_context(config: TrainConfig, steps_per_epoch: int, total_steps: int, groups: tuple[str, ...] = (),
                weights: str = "") -> dict[str, Any]:
    """Model (its parameter groups, input to output, and the weights it started from), optimizer and data settings
    a schedule was tuned with."""
    return {
        "model": config.model,
        "groups": list(groups) or None,
        "weights": weights,
        "frozen_bn": config.frozen_bn,
        "optimizer": {"name": config.optimizer, "lr": config.lr, "momentum": config.momentum,
                      "nesterov": config.nesterov, "weight_decay": config.weight_decay},
        "batch_size": config.batch_size,
        "processes": config.world_size,  # a step saw batch_size × processes images: the batch the LR was tuned for
        "steps_per_epoch": steps_per_epoch,
        "total_steps": total_steps,
        "epochs": config.epochs,
        "augment": config.augment,
        "seed": config.seed,
    }


def tuned_document(run_schedule: RunSchedule, config: TrainConfig, dataset: dict[str, Any], steps_per_epoch: int,
                   metrics: dict[str, Any] | None = None, range_test: dict[str, Any] | None = None,
                   groups: tuple[str, ...] = (), weights: str = "", search: dict[str, Any] | None = None) -> dict[str, Any]:
    """The schedule file document for a run on the dataset ``dataset`` summarizes (``DatasetSummary.to_dict()``);
    ``groups``: the model's parameter groups, ``weights``: what the model started from, "" for a random initialization;
    ``search``: the record of the tune that chose it."""
    context = run_context(config, steps_per_epoch, run_schedule.timeline.total_steps, groups, weights)
    return schedule_document(run_schedule, dataset=dataset, context=context, range_test=range_test,
                             metrics=_finite(metrics), search=search)


def _finite(metrics: dict[str, Any] | None) -> dict[str, Any] | None:
    """JSON has no NaN: unknown metrics become null."""
    if metrics is None:
        return None
    return {k: (v if not isinstance(v, float) or v == v else None) for k, v in metrics.items()}
