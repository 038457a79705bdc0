"""Optimizers over named parameter groups, and the momentum each one uses."""

from __future__ import annotations

import torch

from .config import OPTIMIZER_NAMES
from .errors import ConfigError


def build_optimizer(name: str, groups: dict[str, list], *, lr: float, momentum: float, nesterov: bool,
                    weight_decay: float, beta2: float = 0.999) -> torch.optim.Optimizer:
    """An optimizer with one param group per named group (each carries its "name")."""
    param_groups = [{"params": params, "name": group} for group, params in groups.items() if params]
    if name == "sgd":
        return torch.optim.SGD(param_groups, lr=lr, momentum=momentum, nesterov=nesterov and momentum > 0, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(param_groups, lr=lr, betas=(momentum, beta2), weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(param_groups, lr=lr, betas=(momentum, beta2), weight_decay=weight_decay)
    raise ConfigError("optimizer", f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZER_NAMES)}")


def set_momentum(optimizer: torch.optim.Optimizer, value: float) -> None:
    """Set SGD's momentum or Adam's beta1 in every group."""
    for group in optimizer.param_groups:
        if "betas" in group:
            group["betas"] = (value, group["betas"][1])
        else:
            group["momentum"] = value
