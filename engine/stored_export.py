"""The tuned-schedule document of a stored run, read from its store: for `lrscope show RUN --export-schedule` and the
window's Runs tab (the end of a run is not the only chance to export it: a write that failed there lost it)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from .config import TrainConfig
from .errors import RunStoreError
from .export import run_metrics, tuned_document
from .run.history import stored_run_schedule
from .store.reader import LIVE_STATES, meta_object, read_epochs, read_meta, run_info


def stored_run_document(run_dir: Path) -> dict[str, Any]:
    """The document `train --export-schedule` writes at the run's end: its schedule with its edits, dataset, model and
    metrics. RunStoreError says why a run has none."""
    from .models.setup import weights_label  # imports torch

    meta = read_meta(run_dir)
    run_schedule = stored_run_schedule(meta)
    if run_schedule is None:
        raise RunStoreError(f"{run_dir.name} stored no schedule (it ended before it started training); there is nothing to export")
    config = TrainConfig.from_dict(meta_object(meta, "config"))
    epochs = read_epochs(run_dir)
    last = epochs[-1] if epochs else {"val_loss": math.nan, "val_accuracy": math.nan}
    info = run_info(run_dir)
    metrics = run_metrics(run_dir.name, info.best_val_accuracy, last["val_accuracy"], last["val_loss"], info.steps_done,
                          in_progress=info.state in LIVE_STATES)
    groups = json.loads(meta.get("groups") or "[]")
    if not (isinstance(groups, list) and all(isinstance(name, str) for name in groups)):
        raise RunStoreError(f"{run_dir.name}: the run database's 'groups' entry is damaged; its schedule cannot be exported")
    return tuned_document(run_schedule, config, meta_object(meta, "dataset"), int(meta["steps_per_epoch"]), metrics,
                          groups=tuple(groups), weights=weights_label(config.model, config.pretrained, config.weights))
