"""How far above the fine-tuning default a schedule may take a pretrained model's layers before lrscope warns.

The stability bound warns only once λmax is measured, which the automatic cadence does some steps in: a pretrained
MobileNetV2 at LR 10 had blown up by then, and only then said so. Without a measurement at the pretrained weights,
the yardstick is the default a fine-tune starts from (``PRETRAINED_LR``, SGD's scale: lax for Adam, never wrong). At
10× it (0.2) a pretrained MobileNetV2 on the digits blew up to chance (docs/fine-tuning.md); a one-cycle's peak falls
between whole steps, so the line is drawn at half that.

A rule of the schedule alone, free of torch: the run says it before its first step, the window's status line as the
plan is typed (importing it from the training handlers took torch into the window's start, 2 s before its first paint).
"""

from __future__ import annotations

from ..config import PRETRAINED_LR
from .groups import HEAD
from .sampling import plot_steps
from .timeline import Timeline

FAR_ABOVE = 5  # × PRETRAINED_LR


def pretrained_peak_warning(timeline: Timeline, groups: tuple[str, ...]) -> str:
    """One line when ``timeline`` peaks above FAR_ABOVE × PRETRAINED_LR for a pretrained group (any but the new head),
    saying what to do; "" otherwise. ``groups``: the model's, input to output."""
    # Every group asked for, then the head's column left out: a schedule that names the head refuses a list without it.
    peaks = dict(zip(groups, timeline.group_lrs(plot_steps(timeline), groups).max(axis=0).tolist()))
    over = {name: lr for name, lr in peaks.items() if name != HEAD and lr > FAR_ABOVE * PRETRAINED_LR}
    if not over:
        return ""
    peak = max(over.values())
    return (f"the schedule takes the pretrained layers ({', '.join(over)}) to LR {peak:.3g}, ×{peak / PRETRAINED_LR:.3g} the "
            f"fine-tuning default {PRETRAINED_LR:g}: steps that large overwrite what the weights learned, so the loss is "
            f"likely to blow up; lower the peak LR (to about {PRETRAINED_LR:g}) or measure it with a range test first")
