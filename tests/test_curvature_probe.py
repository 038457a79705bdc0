"""The curvature probe on a real network: it leaves training exactly as it was, and says what it measured."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import tiny_config

from engine.curvature.probe import CurvatureProbe, sweep_bound
from engine.curvature.settings import CurvatureSettings
from engine.events import CurvatureMeasured
from engine.training.session import build_session
from engine.training.state import capture
from engine.training.step import train_step

FAST = CurvatureSettings(max_iter=4)


def same_state(a, b) -> bool:
    tensors_a = [a["model"][k] for k in sorted(a["model"])] + [a["rng_cpu"]]
    tensors_b = [b["model"][k] for k in sorted(b["model"])] + [b["rng_cpu"]]
    optimizer_same = all(torch.equal(x, y) for x, y in zip(
        [t for s in a["optimizer"]["state"].values() for t in s.values() if torch.is_tensor(t)],
        [t for s in b["optimizer"]["state"].values() for t in s.values() if torch.is_tensor(t)]))
    return optimizer_same and all(torch.equal(x, y) for x, y in zip(tensors_a, tensors_b))


def losses(session, steps, probe=None):
    batches, out = session.train.iterate(0), []
    for step in range(steps):
        if probe is not None:
            probe.measure(session, step)
        images, labels = next(batches)
        out.append(float(train_step(session, images, labels, step)))
    return out


def test_a_measurement_leaves_weights_buffers_optimizer_and_rng_as_they_were(digits16):
    session = build_session(tiny_config(image_size=16), digits16)
    losses(session, 2)
    before = capture(session)
    measurement = CurvatureProbe(FAST).measure(session, 2)
    assert same_state(before, capture(session)) and session.model.training
    assert measurement.lambda_max > 0 and measurement.iterations <= 8 and measurement.bn_mode == "batch"
    assert measurement.groups == session.group_names and np.all(measurement.bounds > 0)
    assert measurement.bounds[0] == pytest.approx(measurement.constant / measurement.lambda_max)


def test_a_stop_ends_a_measurement_between_two_products_and_leaves_the_state_as_it_was(digits16):
    """A Ctrl-C waited for the whole measurement (about 1.6 s on the small CNN; far longer for a large model on a GPU)."""
    from engine.curvature.lanczos import MeasurementStopped

    session = build_session(tiny_config(image_size=16), digits16)
    losses(session, 2)
    before = capture(session)
    asked = []

    def stopped() -> bool:
        asked.append(True)
        return len(asked) > 2  # the stop comes after two products

    with pytest.raises(MeasurementStopped):
        CurvatureProbe(CurvatureSettings(tol=1e-12, max_iter=50)).measure(session, 2, stopped=stopped)
    assert len(asked) == 3 and same_state(before, capture(session)) and session.model.training

def test_training_with_probes_between_steps_has_bit_identical_losses(digits16):
    plain = losses(build_session(tiny_config(image_size=16), digits16), 4)
    probed = losses(build_session(tiny_config(image_size=16), digits16), 4, CurvatureProbe(FAST))
    assert plain == probed


def test_batchnorm_mode_changes_the_surface_measured(digits16):
    session = build_session(tiny_config(image_size=16), digits16)
    losses(session, 3)
    batch = CurvatureProbe(CurvatureSettings(max_iter=6, bn_mode="batch")).measure(session, 3)
    running = CurvatureProbe(CurvatureSettings(max_iter=6, bn_mode="running")).measure(session, 3)
    assert (batch.bn_mode, running.bn_mode) == ("batch", "running")
    assert abs(batch.lambda_max - running.lambda_max) > 0.05 * batch.lambda_max


def test_group_bounds_follow_their_share_of_the_lr(digits16):
    session = build_session(tiny_config(image_size=16), digits16)
    session.optimizer.param_groups[0]["lr"] = 0.01  # the backbone at a tenth of the head
    measurement = CurvatureProbe(FAST).measure(session, 0)
    assert measurement.bounds[0] == pytest.approx(0.1 * measurement.bounds[1])
    assert measurement.edge == pytest.approx(0.1 / measurement.bounds[1])


def test_adam_bound_needs_its_preconditioner(digits16):
    session = build_session(tiny_config(image_size=16, optimizer="adam", lr=1e-3), digits16)
    probe = CurvatureProbe(FAST)
    fresh = probe.measure(session, 0)
    assert not fresh.preconditioned and np.isnan(fresh.bounds).all()
    losses(session, 1)
    stepped = probe.measure(session, 1)
    assert stepped.preconditioned and stepped.constant == pytest.approx(38.0) and np.isfinite(stepped.bounds).all()


def test_dead_relu_units_are_counted_on_the_probe_batch(digits16):
    session = build_session(tiny_config(image_size=16), digits16)
    first_bn = session.model.features[1]
    with torch.no_grad():
        first_bn.bias[:4] = -100.0  # four of the first layer's 16 channels can never fire
    measurement = CurvatureProbe(FAST).measure(session, 0)
    first_group = {id(p) for p in session.optimizer.param_groups[0]["params"]}
    channels = sum(m.num_features for m in session.model.modules()
                   if isinstance(m, torch.nn.BatchNorm2d) and id(m.weight) in first_group)
    assert measurement.dead_relu[0] == pytest.approx(4 / channels)
    assert np.isnan(measurement.dead_relu[-1])  # the head has no ReLU


def test_relu6_units_are_watched_like_relu_units():
    """MobileNetV2's activations are ReLU6: its dead-unit column was missing from `lrscope curvature` (helper-70)."""
    from engine.curvature.dead_units import relu_groups

    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU6(), torch.nn.Flatten(), torch.nn.Linear(4, 2), torch.nn.ReLU())
    optimizer = torch.optim.SGD([{"params": model[0].parameters()}, {"params": model[3].parameters()}], lr=0.1)
    assert relu_groups(model, optimizer) == {model[1]: 0, model[4]: 1}


def test_the_range_tests_bound_pairs_groups_by_name():
    measurement = CurvatureMeasured(
        step=0, lambda_max=10.0, iterations=3, converged=True, seconds=0.0, bn_mode="batch", optimizer="sgd",
        formula="2/λ", constant=2.0, preconditioned=False, groups=("body", "head"), lrs=np.array([0.05, 0.1]),
        bounds=np.array([0.1, 0.2]), dead_relu=np.zeros(2), batch_size=64)
    # body passes its bound at 0.1 / 0.5 = 0.2, head at 0.2 / 2 = 0.1 (paired by position it would be 0.05).
    assert sweep_bound(measurement, {"head": 2.0, "body": 0.5}) == pytest.approx(0.1)
    assert sweep_bound(measurement, {"head": 0.0, "body": 0.0}) is None
