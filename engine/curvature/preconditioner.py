"""The per-parameter scales S = sqrt(w / P) through which the optimizer sees the curvature."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def relative_lrs(optimizer: torch.optim.Optimizer) -> list[float]:
    """Each group's LR divided by the largest (all ones while every LR is zero, e.g. at a warmup's first step)."""
    lrs = [float(g["lr"]) for g in optimizer.param_groups]
    top = max(lrs, default=0.0)
    return [lr / top for lr in lrs] if top > 0 else [1.0] * len(lrs)


def has_preconditioner(optimizer: torch.optim.Optimizer, params: Sequence[torch.Tensor]) -> bool:
    """Whether Adam has taken a step on every parameter (before that its preconditioner does not exist)."""
    return all("exp_avg_sq" in optimizer.state.get(p, {}) for p in params)


def adam_denominator(optimizer: torch.optim.Optimizer, param: torch.Tensor, group: dict) -> torch.Tensor:
    """Adam's P = sqrt(v̂) + ε for ``param`` (v̂: the bias-corrected second moment)."""
    state = optimizer.state[param]
    step = float(state["step"])
    corrected = state["exp_avg_sq"] / (1.0 - float(group["betas"][1]) ** step)
    return corrected.sqrt() + float(group.get("eps", 1e-8))


def probed_parameters(optimizer: torch.optim.Optimizer) -> tuple[list[torch.Tensor], list[float]]:
    """The parameters the optimizer moves (trainable, in a group with a non-zero LR) and their relative LRs."""
    params, weights = [], []
    for group, weight in zip(optimizer.param_groups, relative_lrs(optimizer)):
        for param in group["params"]:
            if param.requires_grad and weight > 0:
                params.append(param)
                weights.append(weight)
    return params, weights


def scales(optimizer: torch.optim.Optimizer, params: Sequence[torch.Tensor], weights: Sequence[float],
           preconditioned: bool) -> list[torch.Tensor | float] | None:
    """S for each parameter, or None when every S is 1 (SGD with equal group LRs: the plain Hessian)."""
    if not preconditioned and all(w == 1.0 for w in weights):
        return None
    if not preconditioned:
        return [w**0.5 for w in weights]
    group_of = {id(p): g for g in optimizer.param_groups for p in g["params"]}
    return [(w / adam_denominator(optimizer, p, group_of[id(p)])).sqrt() for p, w in zip(params, weights)]
