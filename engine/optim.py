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


def is_adaptive(name: str) -> bool:
    """Whether the optimizer scales each step by its gradients' running size (Adam, AdamW), not by the LR alone."""
    return name in ("adam", "adamw")


def set_momentum(optimizer: torch.optim.Optimizer, value: float) -> None:
    """Set SGD's momentum or Adam's beta1 in every group."""
    for group in optimizer.param_groups:
        if "betas" in group:
            group["betas"] = (value, group["betas"][1])
        else:
            group["momentum"] = value


def group_names(optimizer: torch.optim.Optimizer) -> tuple[str, ...]:
    """The "name" of every param group, in the optimizer's order (ValueError for an unnamed group)."""
    names = tuple(group.get("name") for group in optimizer.param_groups)
    unnamed = [str(i) for i, name in enumerate(names) if not isinstance(name, str)]
    if unnamed:
        raise ValueError(f"param group(s) {', '.join(unnamed)} of the optimizer have no \"name\" key")
    return names


def set_lrs(optimizer: torch.optim.Optimizer, lrs: dict[str, float]) -> None:
    """Write each group's LR, looked up by the group's name."""
    for group in optimizer.param_groups:
        group["lr"] = lrs[group["name"]]


def applied_lrs(optimizer: torch.optim.Optimizer) -> list[float]:
    """The LR each group really has now, in the optimizer's order (what plots and the store record)."""
    return [group["lr"] for group in optimizer.param_groups]


def set_frozen(optimizer: torch.optim.Optimizer, group: dict, frozen: bool, keep_state: bool = False) -> None:
    """Freeze or thaw one param group of ``optimizer``.

    A frozen group's parameters stop requiring gradients, so backward skips them,
    the optimizer (which updates only parameters with a gradient) leaves them
    bit-identical, and their optimizer state is dropped (unless ``keep_state``): a thawed group starts afresh.
    """
    for param in group["params"]:
        param.requires_grad_(not frozen)
        if frozen and not keep_state:
            param.grad = None
            optimizer.state.pop(param, None)


def apply_frozen(optimizer: torch.optim.Optimizer, frozen: dict[str, bool], before: dict[str, bool]) -> None:
    """Freeze or thaw, by group name, each group whose state differs from ``before`` (groups absent there were never frozen)."""
    for group in optimizer.param_groups:
        now = frozen[group["name"]]
        if now != before.get(group["name"], False):
            set_frozen(optimizer, group, now)


def applied_momentum(optimizer: torch.optim.Optimizer) -> float:
    """The momentum (SGD) or beta1 (Adam) the optimizer really has now (every group has the same)."""
    group = optimizer.param_groups[0]
    return group["betas"][0] if "betas" in group else group.get("momentum", 0.0)
