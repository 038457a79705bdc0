"""Freezing groups in a live model: gradients off, optimizer state dropped, and BatchNorm held if asked.

``frozen_bn="train"`` (fastai's default, ``train_bn``) lets the BatchNorm layers of a frozen
group keep adapting their running statistics to the new data; ``"freeze"`` holds them in eval
mode, so a frozen group is bit-identical, statistics included. A frozen group's weights and
biases (BatchNorm's too) never change: it has no gradient, no optimizer state and LR 0.
"""

from __future__ import annotations

import torch
from torch import nn

from ..optim import apply_frozen


def norm_layers(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, list[nn.Module]]:
    """The BatchNorm layers of each parameter group, by group name (a layer belongs to its weight's group)."""
    group_of = {id(p): g["name"] for g in optimizer.param_groups for p in g["params"]}
    layers: dict[str, list[nn.Module]] = {}
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.weight is not None:
            layers.setdefault(group_of[id(module.weight)], []).append(module)
    return layers


def frozen_now(optimizer: torch.optim.Optimizer) -> dict[str, bool]:
    """Each group's frozen state as the parameters say (a group is frozen when none of them requires a gradient)."""
    return {g["name"]: not any(p.requires_grad for p in g["params"]) for g in optimizer.param_groups}


class Freezer:
    """Applies each step's frozen states by group name, changing only what changed."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, frozen_bn: str = "train",
                 current: dict[str, bool] | None = None):
        self.optimizer = optimizer
        self.norms = norm_layers(model, optimizer) if frozen_bn == "freeze" else {}
        self.frozen: dict[str, bool] = dict(current or {})
        self.held: list[nn.Module] = []

    def apply(self, frozen: dict[str, bool]) -> None:
        """Freeze and thaw groups to match ``frozen``; keep the held BatchNorm layers in eval mode."""
        if frozen != self.frozen:
            apply_frozen(self.optimizer, frozen, self.frozen)
            self.frozen = dict(frozen)
            for layer in self.held:
                layer.train()
            self.held = [layer for name, layers in self.norms.items() if frozen.get(name) for layer in layers]
        # model.train() (after validation or a range test) puts them back in training mode: hold them again.
        if self.held and self.held[0].training:
            for layer in self.held:
                layer.eval()
