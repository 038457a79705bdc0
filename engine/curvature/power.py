"""The largest eigenvalue of a symmetric operator by power iteration, warm-started.

Vectors are lists of tensors (one per parameter), so the same code runs on a
network's parameters and on a quadratic's single parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

Vector = list[torch.Tensor]
MatVec = Callable[[Vector], Vector]


@dataclass(frozen=True)
class PowerResult:
    """The eigenvalue found, its eigenvector (unit length), the iterations used and whether it met the tolerance."""

    value: float
    vector: Vector
    iterations: int
    converged: bool


def dot(a: Sequence[torch.Tensor], b: Sequence[torch.Tensor]) -> torch.Tensor:
    """Inner product of two vectors, as a 0-d tensor (no host sync)."""
    return torch.stack([torch.vdot(x.flatten(), y.flatten()) for x, y in zip(a, b)]).sum()


def normalized(v: Sequence[torch.Tensor]) -> Vector:
    """``v`` scaled to unit length (a zero vector stays zero)."""
    norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(list(v))))
    return torch._foreach_div(list(v), torch.clamp(norm, min=1e-30))


def random_like(shapes: Sequence[torch.Tensor], generator: torch.Generator | None = None) -> Vector:
    """A random unit vector shaped like ``shapes`` (drawn on the CPU from ``generator``, so the run's RNG is untouched)."""
    return normalized([torch.randn(t.shape, generator=generator, dtype=t.dtype).to(t.device) for t in shapes])


def power_iteration(matvec: MatVec, start: Vector, *, tol: float = 1e-3, max_iter: int = 20) -> PowerResult:
    """Iterate v ← Av/|Av| from ``start`` until two successive Rayleigh quotients differ by less than
    ``tol`` (relative) or ``max_iter`` products were spent; returns the last quotient.

    The quotient vᵀAv is the eigenvalue of largest magnitude; it may be negative.
    """
    v = normalized(start)
    value = None
    for iteration in range(1, max_iter + 1):
        product = matvec(v)
        estimate = float(dot(product, v))
        v = normalized(product)
        if value is not None and abs(estimate - value) <= tol * abs(estimate):
            return PowerResult(estimate, v, iteration, True)
        value = estimate
    return PowerResult(value if value is not None else float("nan"), v, max_iter, False)


def top_eigenvalue(matvec: MatVec, start: Vector, *, tol: float = 1e-3, max_iter: int = 20) -> PowerResult:
    """The largest (most positive) eigenvalue.

    Power iteration finds the eigenvalue of largest magnitude; when that one is
    negative (a saddle early in training), a second pass on A - μI, whose top is
    λmax - μ > 0, finds the largest positive one.
    """
    first = power_iteration(matvec, start, tol=tol, max_iter=max_iter)
    if not first.value < 0:
        return first
    shift = first.value

    def shifted(v: Vector) -> Vector:
        return torch._foreach_sub(matvec(v), torch._foreach_mul(v, shift))

    second = power_iteration(shifted, start, tol=tol, max_iter=max_iter)
    return PowerResult(second.value + shift, second.vector, first.iterations + second.iterations, second.converged)
