"""Optimizer health per named parameter group: gradient norm and update-to-weight ratio ‖ΔW‖/‖W‖.

Measured on the device between backward and the optimizer step (gradient norm, a copy
of the weights) and right after the step (the update), kept as device tensors and read
back in blocks, so training never waits for the device because of them.
"""

from __future__ import annotations

import numpy as np
import torch

from ..events import HealthLogged


def _group_norm(tensors: list[torch.Tensor], device: torch.device) -> torch.Tensor:
    if not tensors:
        return torch.full((), float("nan"), device=device)
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(tensors)))


class HealthMeter:
    """Per-group gradient norm and update ratio of the steps it is shown, read back in blocks."""

    def __init__(self, optimizer: torch.optim.Optimizer):
        self.optimizer = optimizer
        self.groups = tuple(g.get("name", str(i)) for i, g in enumerate(optimizer.param_groups))
        self.device = next(p.device for g in optimizer.param_groups for p in g["params"])
        self._before: list[torch.Tensor] | None = None
        self._grad_norms: torch.Tensor | None = None
        self._steps: list[int] = []
        self._rows: list[torch.Tensor] = []

    def _params(self) -> list[list[torch.Tensor]]:
        return [[p for p in g["params"] if p.requires_grad] for g in self.optimizer.param_groups]

    def before_step(self) -> None:
        """After backward (gradients unscaled under mixed precision): the gradient norms and a copy of the weights."""
        groups = self._params()
        self._grad_norms = torch.stack([_group_norm([p.grad for p in ps if p.grad is not None], self.device) for ps in groups])
        flat = [p.detach() for ps in groups for p in ps]
        if self._before is None or len(self._before) != len(flat):
            self._before = [p.clone() for p in flat]
        else:
            torch._foreach_copy_(self._before, flat)

    def after_step(self, step: int) -> None:
        """After the optimizer step: the update of each group relative to its weights."""
        if self._grad_norms is None or self._before is None:
            return
        groups = self._params()
        flat = [p.detach() for ps in groups for p in ps]
        torch._foreach_sub_(self._before, flat)  # now holds -ΔW
        ratios, start = [], 0
        for ps in groups:
            deltas, weights = self._before[start:start + len(ps)], flat[start:start + len(ps)]
            ratios.append(_group_norm(deltas, self.device) / _group_norm(weights, self.device))
            start += len(ps)
        self._rows.append(torch.stack([self._grad_norms, torch.stack(ratios)]))
        self._steps.append(step)
        self._grad_norms = None

    def take(self) -> HealthLogged | None:
        """The block measured since the last call (one device read), or None when empty."""
        if not self._rows:
            return None
        block = torch.stack(self._rows).float().cpu().numpy().astype(np.float64)
        steps = np.asarray(self._steps, dtype=np.int64)
        self._rows, self._steps = [], []
        return HealthLogged(steps, self.groups, block[:, 0, :], block[:, 1, :])
