"""Training loss per step (raw, faint, under a trailing mean) and validation loss per epoch."""

from __future__ import annotations

import numpy as np

from ..buffers import CurveBuffer, TrailingMean
from .base import key_colour, make_curve
from .step_plot import StepPlot, finite_bounds, nearest

BLUE, RED = (31, 119, 180), (214, 39, 40)
RAW_ALPHA = 70  # the raw curve is drawn faint, under its trailing mean
# A smoothed curve needs no more points than this to look exact; long runs are sampled evenly.
SMOOTH_POINTS = 20_000


class LossPlot(StepPlot):
    """Loss against step; the smoothing window is in steps, so it does not change as the run grows."""

    def __init__(self, parent=None):
        super().__init__("Loss", "loss", parent=parent)
        self.raw = make_curve(self.plot, BLUE, alpha=RAW_ALPHA)
        self.smooth = make_curve(self.plot, BLUE, width=2)
        self.val = make_curve(self.plot, RED, width=2, symbol="o")
        self.named = [self.title]
        self.points = CurveBuffer(2)
        self.means = TrailingMean()
        self.validation = CurveBuffer(2)
        self.window = 20

    def add_steps(self, steps: np.ndarray, losses: np.ndarray) -> None:
        """Append training losses."""
        self.points.extend(np.column_stack([steps, losses]))
        self.means.extend(losses)
        self.bump("steps")

    def add_epoch(self, step: int, val_loss: float) -> None:
        """Append a validation loss at the step its epoch ended."""
        self.validation.extend(np.array([[step, val_loss]]))
        self.bump("epochs")

    def set_window(self, steps: int) -> None:
        """Smooth over the last ``steps`` steps."""
        self.window = max(1, steps)
        self.bump("steps")
        self.refresh()

    def truncate(self, step: int) -> None:
        """Forget everything from ``step`` on (after a rollback)."""
        self.points.keep_before(step)
        self.means.truncate(len(self.points))
        self.validation.keep_before(step + 1)
        self.bump("steps", "epochs")
        self.refit()

    def clear(self) -> None:
        """Forget every point."""
        self.truncate(-1)

    def smoothed(self) -> tuple[np.ndarray, np.ndarray]:
        """(steps, smoothed loss), evenly sampled when the run is long."""
        steps = self.points.view(0)
        if len(steps) <= SMOOTH_POINTS:
            return steps, self.means.means(self.window)
        indices = np.unique(np.linspace(0, len(steps) - 1, SMOOTH_POINTS).astype(np.int64))
        return steps[indices], self.means.means_at(indices, self.window)

    def name_run(self, parts: list[str]) -> None:
        """Title the plot ``parts`` (its name, then notes on the run shown), the curves' key after them."""
        self.named = parts
        self.set_key_title([*parts, *self.key()])

    def key(self) -> list[str]:
        """An entry for each curve drawn (none before a run; validation once an epoch has ended)."""
        entries = [f'<span style="color: rgb{key_colour(BLUE, RAW_ALPHA)}">━ train (raw)</span>',
                   f'<span style="color: rgb{BLUE}">━ train (smoothed)</span>'] if len(self.points) else []
        return entries + ([f'<span style="color: rgb{RED}">●━ validation</span>'] if len(self.validation) else [])

    def redraw(self) -> None:
        steps, epochs = self.changed("steps"), self.changed("epochs")
        if steps:
            steps_shown, smooth = self.smoothed()
            self.raw.setData(self.x(self.points.view(0)), self.points.view(1))
            self.smooth.setData(self.x(steps_shown), smooth)
        if epochs:
            self.val.setData(self.x(self.validation.view(0)), self.validation.view(1))
        if steps or epochs:
            self.name_run(self.named)

    def y_bounds(self):
        return finite_bounds(self.points.view(1), self.validation.view(1), positive=self.log_y.isChecked())

    def last_step(self):
        return self.points.view(0)[-1] if len(self.points) else 0.0

    def columns(self):
        return {"step": self.points.view(0), "loss": self.points.view(1), "smoothed": self.means.means(self.window),
                "val_step": self.validation.view(0), "val_loss": self.validation.view(1)}

    def describe_at(self, x):
        index = nearest(self.points.view(0), self.step_at(x))
        if index is None:
            return ""
        step, loss = self.points.view()[index]
        smooth = self.means.means_at(np.array([index]), self.window)[0]
        return f"step {int(step)}: loss {loss:.4g}, smoothed {smooth:.4g}"
