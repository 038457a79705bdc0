"""Hessian-vector products of a loss, optionally seen through the optimizer's step sizes.

The optimizer moves parameter i by lrᵢ·Pᵢ⁻¹·(gradient)ᵢ, so the curvature that decides
stability is that of S·H·S with Sᵢ = sqrt(wᵢ / Pᵢ): wᵢ the group's LR relative to the
largest, Pᵢ Adam's preconditioner (1 for SGD). S·H·S is symmetric and has the same
eigenvalues as D·P⁻¹·H, so a symmetric eigensolver applies. With equal group LRs and SGD, S = 1
and this is the plain Hessian.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .lanczos import Vector


class HessianOperator:
    """v ↦ S·H·(S·v) for the Hessian H of ``loss`` with respect to ``params``.

    The gradient's graph is built once (double backward); each product is one
    backward pass through it.
    """

    def __init__(self, loss: torch.Tensor, params: Sequence[torch.Tensor], scales: Sequence[torch.Tensor | float] | None = None):
        self.params = list(params)
        self.grads = torch.autograd.grad(loss, self.params, create_graph=True)
        self.scales = list(scales) if scales is not None else None

    def _scaled(self, v: Sequence[torch.Tensor]) -> Vector:
        if self.scales is None:
            return list(v)
        return [x * s for x, s in zip(v, self.scales)]

    def __call__(self, v: Vector) -> Vector:
        products = torch.autograd.grad(self.grads, self.params, grad_outputs=self._scaled(v), retain_graph=True)
        return self._scaled([p.detach() for p in products])
