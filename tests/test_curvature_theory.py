"""The curvature probe against theory: a quadratic ½θᵀAθ with known eigenvalues, and each optimizer's
stability bound against the dynamics of the optimizer itself on that quadratic."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.curvature.bounds import adam_constant, heavy_ball_constant, nesterov_constant, rule_for, sgd_constant
from engine.curvature.lanczos import random_like, top_eigenvalue
from engine.curvature.operator import HessianOperator
from engine.curvature.preconditioner import scales


def quadratic(eigenvalues, seed=0):
    """A symmetric matrix with the given eigenvalues in a random basis (float64)."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((len(eigenvalues), len(eigenvalues))))
    return torch.tensor(q @ np.diag(eigenvalues) @ q.T)


def loss_of(a: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    return 0.5 * theta @ a @ theta


def measure(a, theta, scale=None, start=None, **options):
    operator = HessianOperator(loss_of(a, theta), [theta], scale)
    return top_eigenvalue(operator, start or random_like([theta], torch.Generator().manual_seed(1)), **options)


def test_lanczos_finds_lambda_max_within_tolerance():
    eigenvalues = np.concatenate([[25.0, 11.0, 7.0], np.linspace(0.01, 5, 47)])
    a = quadratic(eigenvalues)
    theta = torch.randn(50, dtype=torch.float64, requires_grad=True)
    result = measure(a, theta)
    assert result.converged and result.iterations <= 20
    assert abs(result.value - 25.0) / 25.0 < 1e-3


def test_warm_start_converges_in_fewer_products():
    a = quadratic(np.concatenate([[9.0, 6.0], np.linspace(0.1, 5, 30)]))
    theta = torch.randn(32, dtype=torch.float64, requires_grad=True)
    cold = measure(a, theta)
    warm = measure(a, theta, start=cold.vector)
    assert warm.iterations < cold.iterations and warm.iterations <= 3
    assert abs(warm.value - 9.0) / 9.0 < 1e-3


def test_a_dominant_negative_eigenvalue_still_gives_the_largest_positive_one():
    a = quadratic(np.concatenate([[-8.0, 5.0], np.linspace(0.1, 2, 20)]))
    theta = torch.randn(22, dtype=torch.float64, requires_grad=True)
    result = measure(a, theta, tol=1e-6, max_iter=200)
    assert abs(result.value - 5.0) / 5.0 < 1e-3


def test_a_saddle_with_a_bulk_near_zero_gives_the_top_within_the_cap():
    # The spectrum of a fresh CNN on the digits: a dominant negative eigenvalue (-31), a top of 6, a bulk near 0.
    # Power iteration's shifted pass stalled in the bulk and called -0.007 converged; the cap is on all products.
    a = quadratic(np.concatenate([[-31.0, 6.0, 4.0], np.linspace(-0.5, 0.5, 120)]), seed=5)
    theta = torch.randn(123, dtype=torch.float64, requires_grad=True)
    result = measure(a, theta, tol=1e-3, max_iter=20)
    assert result.converged and result.iterations <= 20
    assert abs(result.value - 6.0) / 6.0 < 1e-3


def test_preconditioned_sharpness_is_the_top_eigenvalue_of_p_inverse_h():
    """Adam's view: λmax(P⁻¹A) with P = sqrt(v̂) + ε from the optimizer's own state."""
    a = quadratic(np.concatenate([[30.0, 3.0], np.linspace(0.1, 2, 18)]), seed=3)
    theta = torch.nn.Parameter(torch.randn(20, dtype=torch.float64))
    optimizer = torch.optim.Adam([theta], lr=1e-3)
    for _ in range(5):
        optimizer.zero_grad()
        loss_of(a, theta).backward()
        optimizer.step()
    state = optimizer.state[theta]
    p = (state["exp_avg_sq"] / (1 - 0.999 ** float(state["step"]))).sqrt() + 1e-8
    expected = np.linalg.eigvals(np.diag(1 / p.numpy()) @ a.numpy()).real.max()
    scale = scales(optimizer, [theta], [1.0], preconditioned=True)
    result = measure(a, theta, scale, tol=1e-6, max_iter=500)
    assert abs(result.value - expected) / expected < 1e-3


def test_rules_read_from_the_optimizer_match_the_closed_forms():
    p = [torch.nn.Parameter(torch.zeros(1))]
    assert rule_for(torch.optim.SGD(p, lr=0.1)).constant == 2.0
    assert rule_for(torch.optim.SGD(p, lr=0.1, momentum=0.9)).constant == pytest.approx(3.8)
    assert rule_for(torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)).constant == pytest.approx(3.8 / 2.8)
    adam = rule_for(torch.optim.Adam(p, lr=0.1, betas=(0.9, 0.999)))
    assert adam.constant == pytest.approx(38.0) and adam.preconditioned
    assert rule_for(torch.optim.AdamW(p, lr=0.1)).optimizer == "adamw"
    assert rule_for(torch.optim.SGD(p, lr=0.1)).lr_bound(4.0) == 0.5
    assert rule_for(torch.optim.SGD(p, lr=0.1)).lr_bound(-1.0) == float("inf")


def final_norm(optimizer_factory, a, steps=400):
    theta = torch.nn.Parameter(torch.ones(a.shape[0], dtype=torch.float64))
    optimizer = optimizer_factory([theta])
    for _ in range(steps):
        optimizer.zero_grad()
        loss_of(a, theta).backward()
        optimizer.step()
        if not torch.isfinite(theta).all() or float(theta.detach().norm()) > 1e6:
            return float("inf")
    return float(theta.detach().norm())


@pytest.mark.parametrize(("name", "factory", "constant"), [
    ("sgd", lambda lr: lambda p: torch.optim.SGD(p, lr=lr), sgd_constant()),
    ("heavy ball 0.9", lambda lr: lambda p: torch.optim.SGD(p, lr=lr, momentum=0.9), heavy_ball_constant(0.9)),
    ("heavy ball 0.5", lambda lr: lambda p: torch.optim.SGD(p, lr=lr, momentum=0.5), heavy_ball_constant(0.5)),
    ("nesterov 0.9", lambda lr: lambda p: torch.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True), nesterov_constant(0.9)),
])
def test_pytorch_optimizers_diverge_just_above_their_bound_and_converge_just_below(name, factory, constant):
    a = quadratic([4.0, 2.0])
    bound = constant / 4.0
    assert final_norm(factory(0.97 * bound), a) < 1e-3
    assert final_norm(factory(1.03 * bound), a) == float("inf")


def adam_frozen(h: float, beta1: float, steps: int = 1000) -> float:
    """Adam's first-moment dynamics along one eigenvector of P⁻¹H (P frozen), h = LR·λ(P⁻¹H)."""
    theta, m = 1.0, 0.0
    for _ in range(steps):
        m = beta1 * m + (1 - beta1) * theta
        theta -= h * m
        if abs(theta) > 1e6:
            return float("inf")
    return abs(theta)


@pytest.mark.parametrize("beta1", [0.9, 0.5])
def test_adam_bound_matches_its_dynamics_with_a_frozen_preconditioner(beta1):
    edge = adam_constant(beta1)
    assert adam_frozen(0.97 * edge, beta1) < 1e-3
    assert adam_frozen(1.03 * edge, beta1) == float("inf")
