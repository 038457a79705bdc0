"""Where gradient descent stops being stable on a quadratic, for each optimizer lrscope trains with.

On ½θᵀAθ a step size h = LR·λ along an eigenvector of eigenvalue λ is stable while
h stays below a constant that depends only on the optimizer's momentum:

| optimizer (PyTorch's update rule)    | stable while LR·λ <           |
|--------------------------------------|-------------------------------|
| SGD                                  | 2                             |
| SGD, heavy-ball momentum β           | 2(1+β)                        |
| SGD, Nesterov momentum β             | 2(1+β)/(1+2β)                 |
| Adam/AdamW (λ of P⁻¹H, frozen P), β₁ | (2+2β₁)/(1−β₁)  (38 at 0.9)   |

(SGD's dampening d scales the step by 1−d.) These are full-batch figures for a
quadratic (Cohen et al. 2021, 2022: "edge of stability"); mini-batch training
usually sits below them. lrscope shows them as a guide, labelled as theory.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class StabilityRule:
    """The optimizer's stability constant: the run is stable (in theory) while LR·λ < ``constant``."""

    optimizer: str
    beta: float
    constant: float
    preconditioned: bool
    formula: str

    def lr_bound(self, sharpness: float) -> float:
        """The largest stable LR for curvature ``sharpness`` (infinite for flat or negative curvature)."""
        return self.constant / sharpness if sharpness > 0 and math.isfinite(sharpness) else math.inf

    def to_dict(self) -> dict:
        """Plain data."""
        return asdict(self)


def sgd_constant() -> float:
    """Plain gradient descent: LR·λ < 2."""
    return 2.0


def heavy_ball_constant(beta: float) -> float:
    """Heavy-ball momentum (PyTorch's SGD momentum): LR·λ < 2(1+β)."""
    return 2.0 * (1.0 + beta)


def nesterov_constant(beta: float) -> float:
    """PyTorch's Nesterov momentum: LR·λ < 2(1+β)/(1+2β)."""
    return 2.0 * (1.0 + beta) / (1.0 + 2.0 * beta)


def adam_constant(beta1: float) -> float:
    """Adam with a frozen preconditioner P: LR·λ(P⁻¹H) < (2+2β₁)/(1−β₁)."""
    return (2.0 + 2.0 * beta1) / (1.0 - beta1)


def rule_for(optimizer, beta: float | None = None) -> StabilityRule:
    """The stability rule of ``optimizer`` (a torch optimizer) as configured now (its first group's momentum), or at
    momentum ``beta``."""
    import torch  # here: the window weighs warnings with this module's constants before any training imports torch

    group = optimizer.param_groups[0]
    if "betas" in group:
        beta = float(group["betas"][0]) if beta is None else beta
        name = "adamw" if isinstance(optimizer, torch.optim.AdamW) else "adam"
        return StabilityRule(name, beta, adam_constant(beta), True, "(2+2β₁)/((1−β₁)·λ(P⁻¹H))")
    beta = float(group.get("momentum", 0.0)) if beta is None else beta
    keep = 1.0 - float(group.get("dampening", 0.0)) if beta > 0 else 1.0
    if beta <= 0:
        return StabilityRule("sgd", 0.0, sgd_constant(), False, "2/λ")
    if group.get("nesterov"):
        return StabilityRule("sgd_nesterov", beta, nesterov_constant(beta) / keep, False, "2(1+β)/((1+2β)·λ)")
    return StabilityRule("sgd_momentum", beta, heavy_ball_constant(beta) / keep, False, "2(1+β)/λ")


def constant_of(rule: str, beta: np.ndarray) -> np.ndarray:
    """The constant of the rule named ``rule`` (a StabilityRule's optimizer) at each momentum in ``beta`` (dampening left
    out: it scales every one alike)."""
    if rule == "sgd_momentum":
        return heavy_ball_constant(beta)
    if rule == "sgd_nesterov":
        return nesterov_constant(beta)
    if rule in ("adam", "adamw"):
        return adam_constant(beta)
    return np.full(np.shape(beta), sgd_constant())
