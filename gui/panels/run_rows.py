"""The Runs tab's rows: one a run of the user's own, one a tune with its trial runs under it."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTreeWidgetItem

from engine.store.reader import LIVE_STATES
from engine.text import counted
from engine.tune.summary import TuneSummary

COLUMNS = ("run", "dataset", "started", "state", "steps", "best val acc", "note")
DATASET_COLUMN = COLUMNS.index("dataset")
RUN_DIR = Qt.ItemDataRole.UserRole  # a run's row: its folder
TUNE = Qt.ItemDataRole.UserRole + 1  # a tune's row: the tune's name


def accuracy_text(value: float) -> str:
    return "-" if math.isnan(value) else f"{100 * value:.2f}%"


def run_row(run, served: bool, run_again_as: str | None = None) -> QTreeWidgetItem:
    """A run's row, its folder in RUN_DIR; ``run_again_as``: the run its tune ran this trial again as."""
    # A tune's trials would look like ten runs of the user's own without the note saying what made them.
    again = [f"its tune ran this trial again, as {run_again_as}: it is not one of the tune's trials"] if run_again_as else []
    note = "; ".join([*run.notes, *again])
    state = f"{run.state} · served" if served else run.state
    item = QTreeWidgetItem([run.run_id, run.dataset, run.started, state, f"{run.steps_done}/{run.total_steps}",
                            accuracy_text(run.best_val_accuracy), note])
    item.setData(0, RUN_DIR, str(run.run_dir))
    for column in range(len(COLUMNS)):
        item.setToolTip(column, note)  # on every cell: at 1366 px the note column lies past the table's right edge
    # The same images under two folder names, or two folders named "train".
    item.setToolTip(DATASET_COLUMN, f"fingerprint {run.fingerprint} (the same fingerprint: the same images)" + (f"; {note}" if note else ""))
    return item


def tune_row(tune: str) -> QTreeWidgetItem:
    """A tune's row, its name in TUNE; its trials' rows are added under it, then ``sum_up`` fills it in."""
    item = QTreeWidgetItem([f"tune {tune}"])
    item.setData(0, TUNE, tune)
    return item


def sum_up(item: QTreeWidgetItem, trials: list, summary: TuneSummary) -> None:
    """Say on a tune's row what its trial runs (``RunInfo``, newest first) come to, in the words of `lrscope runs`
    (``summary``): a tune leaves tens of them."""
    live = sum(t.state in LIVE_STATES for t in trials)
    note = (f"{summary.runs_words()}, {summary.winner}. A tune's trial runs are listed under it; Delete deletes them all "
            "and the tune's search record")
    # The count in the state column, the best in its own: in the first one they widened it past the state at 1366 px.
    state = counted(summary.trials, "trial") + (f", {live} running" if live else "")
    values = (f"tune {item.data(0, TUNE)}", trials[0].dataset, trials[-1].started, state, "", accuracy_text(summary.score), note)
    for column, text in enumerate(values):
        item.setText(column, text)
        item.setToolTip(column, note)
