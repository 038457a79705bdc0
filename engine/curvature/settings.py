"""How the curvature probe measures: tolerance, iteration cap, BatchNorm mode."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from ..errors import SettingError

BN_MODES = ("batch", "running")
# Lanczos keeps one vector the size of the model per product: 100 of MobileNetV2 are 1.4 GB.
MAX_ITER = 100
# The usual guide for ‖ΔW‖/‖W‖ per step ("around 1e-3"): far below, a group hardly learns;
# far above, its weights are rewritten every step.
RATIO_BAND = (1e-4, 1e-2)


@dataclass(frozen=True)
class CurvatureSettings:
    """``bn_mode`` "batch": BatchNorm normalizes with the probe batch's statistics, as in training (the
    surface the optimizer steps on); "running": with its running averages, as at evaluation."""

    tol: float = 1e-3
    max_iter: int = 20
    bn_mode: str = "batch"

    def validate(self) -> None:
        """Raise SettingError naming the first invalid field."""
        if not isinstance(self.tol, (int, float)) or not math.isfinite(self.tol) or not 0 < self.tol < 1:
            raise SettingError("tol", "tolerance", f"must be above 0 and below 1, got {self.tol!r}")
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, int) or not 2 <= self.max_iter <= MAX_ITER:
            raise SettingError("max_iter", "iteration cap", f"must be a whole number from 2 to {MAX_ITER}, got {self.max_iter!r}")
        if self.bn_mode not in BN_MODES:
            raise SettingError("bn_mode", "BatchNorm mode", f"must be batch or running, got {self.bn_mode!r}")

    def to_dict(self) -> dict:
        """Plain data."""
        return asdict(self)
