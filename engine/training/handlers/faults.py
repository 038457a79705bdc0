"""Pause the run when its loss turns NaN, explodes or collapses back to where it began, with advice (checked on each block read back)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import replace

import numpy as np

from ...commands import ROLLBACK_LR_FACTOR
from ...events import EpochEnded, FaultRaised, StepsLogged
from ..control import rollback_factor, rollback_lr
from .chance import chance_bar

EMA_BETA = 0.9
RECENT_STEPS = 20  # the smoothed loss lags: a blow-up is said with the highest LR of this many steps before it
# A run that had halved its loss and stays back at the loss it began from has lost what it learned (dead units after
# too high an LR): its loss never reached 10× its best, so it trained on at chance without a word. Only a return that
# lasts counts: a small, noisy set (30 images, batches of 4) came back there for 11 steps early on, and went on to learn.
LEARNED, BACK_AT_START, COLLAPSE_STEPS = 0.5, 0.9, 50


class FaultCheck:
    """BLOCK_FLUSHED: a NaN/inf loss, a smoothed loss ``explode_factor`` times its best, a single step's loss
    ``explode_factor`` times the loss of guessing (the uniform guess over ``classes``, or the trend's first loss if
    higher), or a smoothed loss back at its start after it had halved (a collapse), raises a fault (``explode_factor``
    0: only a NaN/inf does).

    The LR reported is the highest group's. The loss trend is part of the run's state: a checkpoint
    keeps it, so a resumed run judges each loss as the uninterrupted run would have (a trend started
    afresh after a resume had a lower first loss to compare with, and rolled a run back where the
    uninterrupted one went on). Steps that go back without a state to return to start it afresh.
    """

    state_key = "faults"

    def __init__(self, explode_factor: float, classes: int):
        self.explode_factor = explode_factor
        self._guess_loss = guess_loss(classes)
        self._forget()
        self._last_step = -1

    def _forget(self) -> None:
        self._ema: float | None = None
        self._first_ema: float | None = None
        self._min_ema, self._seen = math.inf, 0
        self._back_for = 0  # steps in a row back at the start after the loss had halved
        self._recent_lrs: deque[float] = deque(maxlen=RECENT_STEPS)  # the highest group LR of each recent step

    def state_dict(self) -> dict:
        """The loss trend so far, plain data."""
        number = lambda value: None if value is None or math.isinf(value) else float(value)  # JSON has no inf
        return {"ema": number(self._ema), "first_ema": number(self._first_ema), "min_ema": number(self._min_ema),
                "seen": self._seen, "last_step": self._last_step, "back_for": self._back_for}

    def load_state_dict(self, state: dict) -> None:
        """Continue the trend saved at a checkpoint, or at the state a rollback returns to."""
        number = lambda value: None if value is None else float(value)
        self._ema, self._first_ema = number(state["ema"]), number(state["first_ema"])
        self._min_ema = math.inf if state["min_ema"] is None else float(state["min_ema"])
        self._seen, self._last_step = int(state["seen"]), int(state["last_step"])
        self._back_for = int(state.get("back_for", 0))  # a checkpoint written before the collapse check had none
        # The steps before are those of the state returned to: after two rollbacks to step 0, a blow-up at step 1 (LR 1)
        # said "100 in the 20 steps before", an LR only the abandoned first attempt had trained at.
        self._recent_lrs.clear()

    def __call__(self, job, block: StepsLogged) -> None:
        if block.steps[0] <= self._last_step:
            self._forget()
        self._last_step = int(block.steps[-1])
        found = self._find(block)
        lrs = block.lrs.max(axis=1) if block.lrs.size else np.zeros(len(block.steps))
        if found is not None:
            kind, i = found
            self._recent_lrs.extend(lrs[:i + 1].tolist())
            loss = self._ema if kind == "collapsed_loss" else float(block.losses[i])
            step = int(block.steps[i])
            fault = _fault(kind, step, float(lrs[i]), loss, max(self._recent_lrs), best=self._min_ema)
            job.raise_fault(_with_advice(fault, job))
        else:
            self._recent_lrs.extend(lrs.tolist())

    def _find(self, block: StepsLogged) -> tuple[str, int] | None:
        bad = np.flatnonzero(~np.isfinite(block.losses))
        if len(bad):
            return "nan_loss", int(bad[0])
        for i, loss in enumerate(block.losses):
            self._ema = loss if self._ema is None else EMA_BETA * self._ema + (1 - EMA_BETA) * loss
            self._seen += 1
            if self._first_ema is None:
                self._first_ema = self._ema
            # The best counts from the first step: counted from step 10, a loss that had blown up to 1e10 by then was
            # its own best, and a cosine from LR 100 "finished" at a loss of 1e10.
            self._min_ema = min(self._min_ema, self._ema)
            if not self.explode_factor:
                continue
            if self._ema > self.explode_factor * self._min_ema and self._ema > 1.5 * self._first_ema:
                return "exploding_loss", i
            # The smoothed loss lags about ten steps: a 5-step run at LR 50 reached single losses of 79 (34 times its
            # start) and "finished" at chance. A single loss that far above guessing is a blow-up at any point of a
            # run; compared with the best instead, a trained model's noisy batches (0.01, then 0.1) would be one.
            if loss > self.explode_factor * max(self._guess_loss, self._first_ema):
                return "exploding_loss", i
            back = self._min_ema <= LEARNED * self._first_ema and self._ema >= BACK_AT_START * self._first_ema
            self._back_for = self._back_for + 1 if back else 0
            if self._back_for >= COLLAPSE_STEPS:
                # Counted afresh: "Resume anyway" watches 50 more steps (it paused again at the very next step, so a
                # collapsed run could only be rolled back or stopped).
                self._back_for = 0
                return "collapsed_loss", i
        return None


def _fault(kind: str, step: int, lr: float, loss: float, recent_peak: float, best: float = math.nan) -> FaultRaised:
    """``loss``: the step's, or for a collapse the smoothed loss (a single step's says little there); ``best``: the
    smoothed loss's lowest so far."""
    # The smoothed loss crosses the line steps after the LR that blew it up: at the end of a one-cycle that read
    # "LR 8e-07: the LR is probably too high". The highest LR of the steps before says which LR it was.
    was = f", {recent_peak:.3g} in the {RECENT_STEPS} steps before" if recent_peak > 10 * lr else ""
    if kind == "nan_loss":
        message = f"The loss became {loss} at step {step} (LR {lr:.3g}{was}): the LR is probably too high for this model and data."
    elif kind == "collapsed_loss":
        message = (f"The loss has stayed back where training began for {COLLAPSE_STEPS} steps ({loss:.3g} smoothed at step "
                   f"{step}, LR {lr:.3g}{was}, after falling to {best:.3g}): the model has lost what it learned; the LR is "
                   "probably too high.")
    else:
        message = f"The loss is exploding ({loss:.3g} at step {step}, LR {lr:.3g}{was}): the LR is probably too high."
    return FaultRaised(kind, step, lr, message, "", can_roll_back=True)


def _with_advice(fault: FaultRaised, job) -> FaultRaised:
    """``fault`` with what to do: roll back, or, when the fault is at the last good state's own step, stop.

    The loss of that step is the kept weights' own, whatever the LR: a run at LR 0.5 rolled back to step 8 three
    times, at LR ×0.1, ×0.01 and ×0.001, and met the same loss of 10 at step 8 each time until the rollbacks ran out.
    """
    good = job.last_good["step"]
    if fault.step == good:
        return replace(fault, can_roll_back=False, advice=(
            f"The weights kept at step {good}, the last good state, already give this loss, so a rollback, which returns "
            "to them, cannot help: stop, and start again with a lower LR."))
    # The LR a rollback goes on at, not only its factor: after a Set LR 50 that blew the run up, "with the LR ×0.1"
    # read as LR 5, while the rollback undoes that edit and scales the schedule as it was at the good state.
    factor, lr = rollback_factor(job, ROLLBACK_LR_FACTOR), rollback_lr(job, ROLLBACK_LR_FACTOR)
    return replace(fault, advice=f"Roll back to step {good}, the last good state, and go on at LR {lr:.3g} (its schedule there "
                                 f"×{factor:g}; edits made since are undone), or stop and lower the LR.")


def damaged_at_epoch_end(job, epoch: EpochEnded) -> bool:
    """Whether the epoch's validation says its weights are damaged already, though the training loss raised no fault:
    a loss that is not finite, or ``explode_factor`` times the loss of guessing with an accuracy no better than always
    answering the most common class. A run at LR 0.5 on 8 px images ended its first epoch at a validation loss of 172
    (guessing: 0.69) and 50%, was kept there, and every rollback returned to it. (An overconfident model that is right
    most of the time can have a high loss too: it is not damaged.)"""
    val_labels = job.dataset.labels[job.dataset.val_index]
    if not job.config.explode_factor or not len(val_labels):  # no bar, or nothing to judge by (the loss is NaN)
        return False
    if not math.isfinite(epoch.val_loss):
        return True
    guess_accuracy, _ = chance_bar(val_labels)
    return epoch.val_loss > job.config.explode_factor * guess_loss(len(job.dataset.summary.classes)) and epoch.val_accuracy <= guess_accuracy


def lr_since_last_good(job, step: int) -> float:
    """The highest LR (of the highest group) the run trained at from its last good state up to ``step``: the LR that
    damaged weights found at ``step`` were damaged at. The LR at ``step`` itself blamed the 4e-05 a cosine had decayed
    to at its end for damage done near its peak."""
    timeline, good = job.run_schedule.timeline, min(job.last_good["step"], max(0, step - 1))
    highest = float(timeline.lrs(np.arange(good, max(step, good + 1))).max())
    return highest * max(timeline.multipliers_at(max(0, step - 1), job.session.group_names), default=1.0)


def guess_loss(classes: int) -> float:
    """The cross-entropy of the uniform guess over ``classes``: an untrained model's loss."""
    return math.log(max(classes, 2))
