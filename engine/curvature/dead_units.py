"""The fraction of ReLU units that output zero for every input of a batch, per named parameter group.

A unit is a channel of a ReLU's output (a feature for a linear layer): dead when it
is zero at every sample and position of the batch, so no gradient reaches the
weights that feed it. A ReLU belongs to the group of the last module with
parameters before it in the model's definition order (a ReLU has none of its own).
Functional ``F.relu`` calls are not seen: only ``nn.ReLU`` and ``nn.ReLU6`` modules (MobileNetV2's, zero for every
input just as a ReLU's; without them its column was missing).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn


def relu_groups(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[nn.Module, int]:
    """Each ReLU module's group index (in the optimizer's order)."""
    group_of = {id(p): index for index, g in enumerate(optimizer.param_groups) for p in g["params"]}
    owners, current = {}, None
    for module in model.modules():
        own = [group_of[id(p)] for p in module.parameters(recurse=False) if id(p) in group_of]
        if own:
            current = own[0]
        elif isinstance(module, (nn.ReLU, nn.ReLU6)) and current is not None:
            owners[module] = current
    return owners


class DeadUnits:
    """Counts dead and total units per group during the forward passes it watches (no host sync)."""

    def __init__(self, groups: int):
        self.dead: list[torch.Tensor | int] = [0] * groups
        self.total = [0] * groups

    def observe(self, group: int, output: torch.Tensor) -> None:
        """Count the units of one ReLU output (N, C, ...)."""
        alive = output.detach().amax(dim=[d for d in range(output.dim()) if d != 1]) if output.dim() > 1 else output.detach()
        self.dead[group] = self.dead[group] + (alive <= 0).sum()
        self.total[group] += alive.numel()

    def fractions(self) -> np.ndarray:
        """Dead fraction per group (NaN for a group without ReLUs)."""
        return np.array([float(d) / t if t else np.nan for d, t in zip(self.dead, self.total)])


@contextlib.contextmanager
def counting_dead_units(model: nn.Module, optimizer: torch.optim.Optimizer) -> Iterator[DeadUnits]:
    """Watch every ReLU of ``model`` for the duration of the block."""
    counter = DeadUnits(len(optimizer.param_groups))
    handles = [relu.register_forward_hook(lambda _m, _i, out, g=group: counter.observe(g, out))
               for relu, group in relu_groups(model, optimizer).items()]
    try:
        yield counter
    finally:
        for handle in handles:
            handle.remove()
