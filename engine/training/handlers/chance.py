"""Say once when a run's validation accuracy is no better than guessing: it trained on at chance without a word."""

from __future__ import annotations

import numpy as np

from ...events import EpochEnded

FIRST_EPOCH = 2  # the first epoch may still be finding its feet
MARGIN = 1.25  # "no better": within a quarter of the guess (10% → 12.5% for ten balanced classes)


class ChanceCheck:
    """EPOCH_COMPLETED: from the second epoch, a validation accuracy within a quarter of always guessing the most
    common validation class logs one warning with what to try. A run that never learned (an LR 50 rolled back to
    5 stayed at 10.03% for 20 epochs) ended "finished" with nothing said."""

    def __init__(self):
        self.warned = False

    def __call__(self, job, epoch: EpochEnded) -> None:
        if self.warned or epoch.epoch + 1 < FIRST_EPOCH or not np.isfinite(epoch.val_accuracy):
            return
        labels = job.dataset.labels[job.dataset.val_index]
        if not len(labels):
            return
        guess = float(np.bincount(labels).max() / len(labels))
        if epoch.val_accuracy <= MARGIN * guess:
            self.warned = True
            job.log(f"after {epoch.epoch + 1} epochs the validation accuracy ({100 * epoch.val_accuracy:.1f}%) is no better "
                    f"than always guessing the most common class ({100 * guess:.1f}%): the model is learning nothing. The LR "
                    "may be far too high (see the stability bound) or far too low; a range test or a tune shows where it "
                    "learns.", "warning")
