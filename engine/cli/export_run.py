"""`lrscope show RUN --export-schedule FILE`: a stored run's tuned schedule, written from its store.

The end of `train --export-schedule` is not the only chance: when that write failed (a full disk, and the library
full too) the schedule was lost, since nothing else could write it, and a run trained without the option had no way
to export it from the command line (the window's Runs tab had).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..config import TrainConfig
from ..run.history import stored_run_schedule
from ..store.reader import meta_object, read_epochs, read_meta, run_info
from .common import CliError
from .export_file import write_export


def export_stored_run(run_dir: Path, path: Path, library_dir: Path | None) -> dict[str, str]:
    """Add the run's schedule, with its edits, dataset and metrics, to the library and write it to ``path``: the
    document `train --export-schedule` writes at the run's end (``write_export``'s answer)."""
    from ..export import tuned_document
    from ..models.setup import weights_label  # imports torch

    meta = read_meta(run_dir)
    run_schedule = stored_run_schedule(meta)
    if run_schedule is None:
        raise CliError(f"{run_dir.name} stored no schedule (it ended before it started training); there is nothing to export")
    config = TrainConfig.from_dict(meta_object(meta, "config"))
    epochs = read_epochs(run_dir)
    last = epochs[-1] if epochs else {"val_loss": math.nan, "val_accuracy": math.nan}
    metrics = {"best_val_accuracy": run_info(run_dir).best_val_accuracy, "val_loss": last["val_loss"],
               "val_accuracy": last["val_accuracy"]}
    groups = json.loads(meta.get("groups") or "[]")
    if not (isinstance(groups, list) and all(isinstance(name, str) for name in groups)):
        raise CliError(f"{run_dir.name}: the run database's 'groups' entry is damaged; its schedule cannot be exported")
    document = tuned_document(run_schedule, config, meta_object(meta, "dataset"), int(meta["steps_per_epoch"]), metrics,
                              groups=tuple(groups), weights=weights_label(config.model, config.pretrained, config.weights))
    return write_export(path, document, library_dir, "tuned schedule")
