"""Each shape reproduces its torch.optim.lr_scheduler counterpart to a relative 1e-9."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.optim import lr_scheduler as sched

from engine.schedules import (
    Constant,
    Cosine,
    CosineRestarts,
    Cyclic,
    Exponential,
    Linear,
    MultiStep,
    OneCycle,
    Polynomial,
    Schedule,
    StepDecay,
    Timeline,
)

BASE = 0.1


def optimizer(kind="sgd", lr=BASE):
    params = [torch.nn.Parameter(torch.zeros(1))]
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr)
    return torch.optim.SGD(params, lr=lr, momentum=0.9)


def torch_sequence(make, steps, kind="sgd"):
    """(lrs, momenta) applied at each step by a PyTorch scheduler, read from the optimizer."""
    opt = optimizer(kind)
    scheduler = make(opt)
    lrs, momenta = [], []
    for _ in range(steps):
        group = opt.param_groups[0]
        lrs.append(group["lr"])
        momenta.append(group["betas"][0] if kind == "adam" else group["momentum"])
        opt.step()
        scheduler.step()
    return np.array(lrs), np.array(momenta)


def ours(*segments, steps):
    timeline = Timeline.of(Schedule(tuple(segments)))
    grid = np.arange(steps)
    return timeline.lrs(grid), timeline.momenta(grid)


def assert_same(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-300)


CASES = {
    "StepLR": (lambda o: sched.StepLR(o, step_size=7, gamma=0.5), [StepDecay(steps=60, start_lr=BASE, step_size=7, gamma=0.5)]),
    "MultiStepLR": (lambda o: sched.MultiStepLR(o, milestones=[10, 25, 25, 40], gamma=0.3),
                    [MultiStep(steps=60, start_lr=BASE, milestones=(10, 25, 25, 40), gamma=0.3)]),
    "ExponentialLR": (lambda o: sched.ExponentialLR(o, gamma=0.95), [Exponential(steps=60, start_lr=BASE, gamma=0.95)]),
    "LinearLR": (lambda o: sched.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=15),
                 [Linear(steps=15, start_lr=BASE * 0.1, end_lr=BASE), Constant(steps=45, lr=BASE)]),
    "LinearLR-down": (lambda o: sched.LinearLR(o, start_factor=1.0, end_factor=0.05, total_iters=40),
                      [Linear(steps=40, start_lr=BASE, end_lr=BASE * 0.05), Constant(steps=20, lr=BASE * 0.05)]),
    "PolynomialLR": (lambda o: sched.PolynomialLR(o, total_iters=30, power=2.0),
                     [Polynomial(steps=30, start_lr=BASE, end_lr=0.0, power=2.0), Constant(steps=30, lr=0.0)]),
    "CosineAnnealingLR": (lambda o: sched.CosineAnnealingLR(o, T_max=60, eta_min=1e-4),
                          [Cosine(steps=60, start_lr=BASE, end_lr=1e-4)]),
    "CosineAnnealingLR-to-zero": (lambda o: sched.CosineAnnealingLR(o, T_max=60), [Cosine(steps=60, start_lr=BASE, end_lr=0.0)]),
    "CosineAnnealingWarmRestarts": (lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=10, eta_min=1e-3),
                                    [CosineRestarts(steps=60, start_lr=BASE, end_lr=1e-3, period=10)]),
    "CosineAnnealingWarmRestarts-mult": (lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2),
                                         [CosineRestarts(steps=160, start_lr=BASE, end_lr=0.0, period=5, period_mult=2)]),
    "SequentialLR-warmup-cosine": (
        lambda o: sched.SequentialLR(o, [sched.LinearLR(o, start_factor=0.01, total_iters=10), sched.CosineAnnealingLR(o, T_max=50)], milestones=[10]),
        [Linear(steps=10, start_lr=BASE * 0.01, end_lr=BASE), Cosine(steps=50, start_lr=BASE, end_lr=0.0)]),
    "SequentialLR-warmup-step": (
        lambda o: sched.SequentialLR(o, [sched.LinearLR(o, start_factor=0.2, total_iters=5), sched.StepLR(o, step_size=8, gamma=0.5)], milestones=[5]),
        [Linear(steps=5, start_lr=BASE * 0.2, end_lr=BASE), StepDecay(steps=55, start_lr=BASE, step_size=8, gamma=0.5)]),
    "SequentialLR-exp-multistep": (
        lambda o: sched.SequentialLR(o, [sched.ExponentialLR(o, gamma=0.9), sched.MultiStepLR(o, milestones=[10, 20], gamma=0.1)], milestones=[12]),
        [Exponential(steps=12, start_lr=BASE, gamma=0.9), MultiStep(steps=48, start_lr=BASE, milestones=(10, 20), gamma=0.1)]),
}


@pytest.mark.parametrize("name", CASES)
def test_lr_sequence_equals_pytorch(name):
    make, segments = CASES[name]
    steps = sum(s.steps for s in segments)
    expected, _ = torch_sequence(make, steps)
    actual, _ = ours(*segments, steps=steps)
    assert_same(actual, expected)


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_cyclic_lr_and_momentum_equal_pytorch(mode, kind):
    make = lambda o: sched.CyclicLR(o, base_lr=0.01, max_lr=0.2, step_size_up=7, step_size_down=11, mode=mode, gamma=0.97,
                                    base_momentum=0.8, max_momentum=0.9)
    expected_lr, expected_m = torch_sequence(make, 100, kind)
    actual_lr, actual_m = ours(Cyclic(steps=100, base_lr=0.01, max_lr=0.2, step_size_up=7, step_size_down=11, mode=mode, gamma=0.97), steps=100)
    assert_same(actual_lr, expected_lr)
    assert_same(actual_m, expected_m)


@pytest.mark.parametrize("three_phase", [False, True])
@pytest.mark.parametrize("anneal", ["cos", "linear"])
@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_one_cycle_lr_and_momentum_equal_pytorch(three_phase, anneal, kind):
    total = 97
    make = lambda o: sched.OneCycleLR(o, max_lr=0.4, total_steps=total, pct_start=0.25, anneal_strategy=anneal,
                                      three_phase=three_phase, div_factor=20.0, final_div_factor=500.0)
    expected_lr, expected_m = torch_sequence(make, total, kind)
    shape = OneCycle(steps=total, max_lr=0.4, pct_start=0.25, anneal=anneal, three_phase=three_phase, div_factor=20.0, final_div_factor=500.0)
    actual_lr, actual_m = ours(shape, steps=total)
    assert_same(actual_lr, expected_lr)
    assert_same(actual_m, expected_m)


@settings(max_examples=40, deadline=None)
@given(
    total=st.integers(20, 400),
    pct=st.floats(0.05, 0.9),
    max_lr=st.floats(1e-5, 10.0),
    div=st.floats(1.5, 100.0),
    final_div=st.floats(1.5, 1e5),
)
def test_one_cycle_matches_pytorch_for_any_parameters(total, pct, max_lr, div, final_div):
    shape = OneCycle(steps=total, max_lr=max_lr, pct_start=pct, div_factor=div, final_div_factor=final_div)
    try:
        shape.validate()
    except ValueError:
        return  # a phase with no steps: PyTorch divides by zero there
    make = lambda o: sched.OneCycleLR(o, max_lr=max_lr, total_steps=total, pct_start=pct, div_factor=div, final_div_factor=final_div)
    expected_lr, expected_m = torch_sequence(make, total)
    actual_lr, actual_m = ours(shape, steps=total)
    assert_same(actual_lr, expected_lr)
    assert_same(actual_m, expected_m)


@settings(max_examples=40, deadline=None)
@given(t0=st.integers(1, 30), mult=st.integers(1, 3), eta=st.floats(0, 0.05), steps=st.integers(1, 300))
def test_warm_restarts_match_pytorch_for_any_parameters(t0, mult, eta, steps):
    make = lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=t0, T_mult=mult, eta_min=eta)
    expected, _ = torch_sequence(make, steps)
    actual, _ = ours(CosineRestarts(steps=steps, start_lr=BASE, end_lr=eta, period=t0, period_mult=mult), steps=steps)
    assert_same(actual, expected)


@settings(max_examples=40, deadline=None)
@given(size=st.integers(1, 40), gamma=st.floats(0.01, 1.0), steps=st.integers(1, 300))
def test_step_decay_matches_pytorch_for_any_parameters(size, gamma, steps):
    expected, _ = torch_sequence(lambda o: sched.StepLR(o, step_size=size, gamma=gamma), steps)
    actual, _ = ours(StepDecay(steps=steps, start_lr=BASE, step_size=size, gamma=gamma), steps=steps)
    assert_same(actual, expected)
