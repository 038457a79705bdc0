"""Chance level: the accuracy of always answering the most common class. A run no better says so once; a tune's
winner must clear it."""

from __future__ import annotations

import math

import numpy as np

from ...events import EpochEnded
from ...text import counted

FIRST_EPOCH = 2  # the first epoch may still be finding its feet
# "Better than chance" clears the accuracy of always answering the validation set's most common class by this many
# binomial standard errors. On random labels (four classes) tune trials at 18.5% and 24.4% were installed and exported
# as the tuned schedule, and the dataset's library took it.
CHANCE_ERRORS = 2.0
# Under this many steps the run's length is named as a cause too: a 1-step run at batch 5000 was told only that its LR
# "may be far too high or far too low". The bundled digits reach 60-65% in one epoch of 22 steps at a good LR.
SHORT_RUN_STEPS = 100


def chance_bar(val_labels: np.ndarray) -> tuple[float, float]:
    """The accuracy of always answering the most common class of ``val_labels``, and the bar to clear to have learned."""
    count = len(val_labels)
    if not count:  # nothing to judge by
        return 0.0, -math.inf
    rate = float(np.bincount(val_labels).max() / count)
    return rate, rate + CHANCE_ERRORS * math.sqrt(rate * (1 - rate) / count)


def clears(accuracy: float, bar: float) -> bool:
    """Whether ``accuracy`` is clearly above chance. A bar of 100% or more means too few validation images to tell, and
    counts as cleared: over 4 images of two classes the bar is 100%, and a run at 100% was told it learned nothing."""
    return accuracy > bar or bar >= 1


class ChanceCheck:
    """EPOCH_COMPLETED: from the second epoch, and at the last whatever its number, a validation accuracy not clearly
    above chance logs one warning with what to try. A run that never learned (an LR 50 rolled back to 5 stayed at 10.03%
    for 20 epochs) ended "finished" with nothing said; so did a 1-epoch run at LR 20, its validation loss 38,022."""

    def __init__(self):
        self.warned = False

    def __call__(self, job, epoch: EpochEnded) -> None:
        last = epoch.step >= job.total_steps
        if self.warned or (epoch.epoch + 1 < FIRST_EPOCH and not last) or not np.isfinite(epoch.val_accuracy):
            return
        val_labels = job.dataset.labels[job.dataset.val_index]
        guess, bar = chance_bar(val_labels)
        if bar >= 1:  # a 45-image set with 5 of one class ran at exactly "always the majority" (88.9%) without a word
            self.warned = True
            job.log(f"the validation set ({counted(len(val_labels), 'image')}) is too small to tell a model that learned from "
                    f"one that always answers the most common class ({100 * guess:.1f}%): judge the run by its training loss "
                    "as well, or hold out more images.", "warning")
        elif not clears(epoch.val_accuracy, bar):
            self.warned = True
            # The run's length, not the steps so far: at epoch 2 of 4 it said "44 steps may be too few" of an 88-step run.
            short = (f"The run's {counted(job.total_steps, 'step')} may be too few (more epochs or a smaller batch), or "
                     if job.total_steps < SHORT_RUN_STEPS else "")
            # Above guessing but under the bar is "not clearly better": 66.7% over 3 images was called "no better" than 33.3%.
            guessing = f"always guessing the most common class ({100 * guess:.1f}%"
            if epoch.val_accuracy <= guess:
                verdict = f"is no better than {guessing}): the model is learning nothing"
            else:
                verdict = (f"is not clearly better than {guessing}; over {counted(len(val_labels), 'validation image')} it takes "
                           f"{100 * bar:.1f}%): the model may be learning little")
            job.log(f"after {counted(epoch.epoch + 1, 'epoch')} the validation accuracy ({100 * epoch.val_accuracy:.1f}%) {verdict}. "
                    f"{short}{'the' if short else 'The'} LR may be far too high (see the stability bound) or far too low; a range "
                    "test or a tune shows where it learns.", "warning")
