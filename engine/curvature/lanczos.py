"""The largest eigenvalue of a symmetric operator by Lanczos iteration, warm-started.

Vectors are lists of tensors (one per parameter), so the same code runs on a
network's parameters and on a quadratic's single parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

Vector = list[torch.Tensor]
MatVec = Callable[[Vector], Vector]


class MeasurementStopped(Exception):
    """The run is stopping: a measurement gives up between two products rather than hold the stop up."""


@dataclass(frozen=True)
class EigenResult:
    """The eigenvalue found, its eigenvector (unit length), the iterations used and whether it met the tolerance."""

    value: float
    vector: Vector
    iterations: int
    converged: bool


def normalized(v: Sequence[torch.Tensor]) -> Vector:
    """``v`` scaled to unit length (a zero vector stays zero)."""
    norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(list(v))))
    return torch._foreach_div(list(v), torch.clamp(norm, min=1e-30))


def random_like(shapes: Sequence[torch.Tensor], generator: torch.Generator | None = None) -> Vector:
    """A random unit vector shaped like ``shapes`` (drawn on the CPU from ``generator``, so the run's RNG is untouched)."""
    return normalized([torch.randn(t.shape, generator=generator, dtype=t.dtype).to(t.device) for t in shapes])


def top_eigenvalue(matvec: MatVec, start: Vector, *, tol: float = 1e-3, max_iter: int = 20,
                   stopped: Callable[[], bool] = lambda: False) -> EigenResult:
    """The largest (most positive) eigenvalue, by Lanczos with full reorthogonalization, in at most ``max_iter`` products.

    Power iteration finds the eigenvalue of largest *magnitude*, and at fresh weights that is a
    negative one (a saddle: -31 against a top of +6 on the digits' CNN). Shifting by it leaves a
    contraction of 31/37 per product, and the shifted quotient then moved by less than the tolerance
    while still sitting in the bulk near 0: a "converged" λmax of -0.007. Lanczos approximates both ends
    of the spectrum at once and converges on the top like a Chebyshev polynomial; it stops when the
    Ritz value's residual bound, an upper bound on its error, is within ``tol`` of it.
    MeasurementStopped when ``stopped()`` says so before a product (a Ctrl-C waited for the whole measurement).
    """
    shapes = [t.shape for t in start]
    basis = [_flat(normalized(start))]
    alphas: list[float] = []
    betas: list[float] = []
    for iteration in range(1, max_iter + 1):
        if stopped():
            raise MeasurementStopped
        w = _flat(matvec(_unflat(basis[-1], shapes)))
        alphas.append(float(torch.dot(w, basis[-1])))
        q = torch.stack(basis)
        w = w - q.T @ (q @ w)
        w = w - q.T @ (q @ w)  # twice is enough (Kahan): the basis stays orthogonal to working precision
        beta = float(torch.linalg.vector_norm(w))
        values, vectors = np.linalg.eigh(_tridiagonal(alphas, betas))
        value, weights = float(values[-1]), vectors[:, -1]
        exhausted = beta <= 1e-10 * max(abs(value), 1e-30)  # the Krylov space holds an invariant subspace
        if exhausted or _error_bound(beta * abs(weights[-1]), values) <= tol * abs(value):
            return EigenResult(value, _ritz_vector(q, weights, shapes), iteration, True)
        if iteration < max_iter:
            betas.append(beta)
            basis.append(w / beta)
    return EigenResult(value, _ritz_vector(torch.stack(basis), weights, shapes), max_iter, False)


def _error_bound(residual: float, values: np.ndarray) -> float:
    """How far the top Ritz value can be from λmax: the residual, or residual²/gap once the gap to the next Ritz value
    exceeds it (a Ritz value's error is quadratic in its residual, which is why Lanczos stops far sooner than the
    plain residual test would let it)."""
    if len(values) < 2 or values[-1] - values[-2] <= residual:
        return residual
    return residual**2 / (values[-1] - values[-2])


def _flat(v: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in v])


def _unflat(flat: torch.Tensor, shapes: Sequence[torch.Size]) -> Vector:
    return [part.view(shape) for part, shape in zip(torch.split(flat, [s.numel() for s in shapes]), shapes)]


def _tridiagonal(alphas: list[float], betas: list[float]) -> np.ndarray:
    return np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1)


def _ritz_vector(basis: torch.Tensor, weights: np.ndarray, shapes: Sequence[torch.Size]) -> Vector:
    """The eigenvector estimate (unit length), for the next measurement's warm start."""
    combined = basis.T @ torch.as_tensor(weights, dtype=basis.dtype, device=basis.device)
    return normalized(_unflat(combined, shapes))
