"""The range test against theory and known answers: quadratics and synthetic curves."""

import numpy as np
import pytest

from engine.range_test.probe import run_probe
from engine.range_test.settings import RangeTestSettings
from engine.range_test.suggestions import local_fit, probe_suggestion, recommend, sweep_suggestions
from engine.range_test.sweep import Smoother, run_sweep

EIGENVALUES = np.array([1.0, 10.0, 100.0])
LIMIT = 2 / EIGENVALUES.max()


class Quadratic:
    """Plain gradient descent on 0.5 * theta^T A theta with A = diag(EIGENVALUES)."""

    def __init__(self, start):
        self.start = np.asarray(start, float)
        self.theta = self.start.copy()

    def loss(self, theta=None):
        theta = self.theta if theta is None else theta
        return 0.5 * float(np.sum(EIGENVALUES * theta**2))

    def train_at(self, lr, _iteration):
        loss = self.loss()
        self.theta = self.theta - lr * EIGENVALUES * self.theta
        return loss

    def reset(self):
        self.theta = self.start.copy()


def first_rise(curve):
    return curve.lrs[np.flatnonzero(np.diff(curve.losses) > 0)[0]]


def test_sweep_diverges_at_two_over_lambda_max_along_the_top_direction():
    quadratic = Quadratic([0.0, 0.0, 1.0])
    settings = RangeTestSettings(start_lr=1e-4, end_lr=1.0, iterations=400).resolved()
    curve = run_sweep(quadratic.train_at, settings)
    resolution = curve.lrs[1] / curve.lrs[0]
    assert LIMIT / resolution <= first_rise(curve) <= LIMIT * resolution
    assert curve.stop_reason == "diverged"


def test_a_noisy_batch_on_a_trained_model_is_no_divergence_before_a_curve_can_be_read():
    """A sweep of a nearly trained model stopped as "diverged" at LR 1.2e-7: its second batch's loss (0.079) was 7 times
    its first (0.011), and two points are too few for any advice. Divergence counts once a curve can be read."""
    batches = np.random.default_rng(0).uniform(0.005, 0.03, 100)
    batches[:2] = 0.011, 0.079
    settings = RangeTestSettings(start_lr=1e-7, end_lr=1e-5, iterations=100).resolved()
    curve = run_sweep(lambda _lr, i: float(batches[i]), settings)
    assert curve.stop_reason == "completed" and len(curve.lrs) == 100


def test_a_carrying_sweep_diverges_late_never_early():
    """With every direction present, the top mode is wiped out near 1/lambda_max and must regrow after 2/lambda_max:
    the sweep's history delays the divergence it sees. The probe mode exists for this bias."""
    quadratic = Quadratic([1.0, 1.0, 1.0])
    curve = run_sweep(quadratic.train_at, RangeTestSettings(start_lr=1e-4, end_lr=1.0, iterations=400).resolved())
    assert first_rise(curve) > 2 * LIMIT


def test_probe_brackets_two_over_lambda_max_within_its_resolution():
    quadratic = Quadratic([1.0, 1.0, 1.0])
    settings = RangeTestSettings(mode="probe", start_lr=1e-3, end_lr=1.0, probe_count=40, probe_steps=20).resolved()
    curve = run_probe(quadratic.reset, quadratic.train_at, quadratic.loss, settings)
    start = quadratic.loss(quadratic.start)
    stable, diverged = curve.lrs[curve.losses < start], curve.lrs[curve.losses > start]
    assert stable.max() <= LIMIT < diverged.min()
    assert diverged.min() / stable.max() == pytest.approx(curve.lrs[1] / curve.lrs[0])


def descent_curve(points, noise, seed=0, centre=-2.0, blowup=0.0):
    """A loss falling from 2.3 to 0.3 around log10(lr) = centre, optionally rising after 10**blowup."""
    lrs = np.geomspace(1e-6, 10, points)
    x = np.log10(lrs)
    loss = 1.3 - np.tanh((x - centre) * 1.5) + np.where(x > blowup, 5 * (x - blowup) ** 2, 0)
    return lrs, loss + np.random.default_rng(seed).normal(0, noise, points)


@pytest.mark.parametrize("points", [60, 200, 600])
def test_steepest_is_found_whatever_the_number_of_points(points):
    lrs, losses = descent_curve(points, noise=0.03, blowup=-1.0)
    suggestions, _ = sweep_suggestions(lrs, losses)
    by = {s.method: s.lr for s in suggestions}
    assert abs(np.log10(by["steepest"]) + 2.0) < 0.25
    assert -3.5 < np.log10(by["valley"]) < -1.0
    true_minimum = np.log10(lrs[np.argmin(descent_curve(points, 0, blowup=-1.0)[1])])
    assert abs(np.log10(by["min_loss/10"] * 10) - true_minimum) < 0.15


def test_smoothing_does_not_lag_like_an_average():
    lrs, losses = descent_curve(300, noise=0.0)
    smooth, slope = local_fit(lrs, losses)
    descent = np.log10(lrs) < -0.5
    assert np.max(np.abs(smooth - losses)[descent]) < 0.05
    assert abs(np.log10(lrs[np.argmin(slope)]) + 2.0) < 0.05


def ema_steepest(lrs, losses):
    """The usual recipe (torch-lr-finder, fastai): EMA-smooth, then the steepest gradient before the minimum."""
    smoother = Smoother(0.98)
    ema = np.array([smoother.add(v) for v in losses])
    gradient = np.gradient(ema, np.log10(lrs))
    return lrs[np.argmin(gradient[: np.argmin(ema) + 1])]


def test_suggestions_spread_far_less_across_noise_seeds_than_an_ema():
    curves = [descent_curve(100, 0.05, seed=seed, blowup=0.0) for seed in range(10)]
    ours = [{s.method: s.lr for s in sweep_suggestions(*curve)[0]}["steepest"] for curve in curves]
    usual = [ema_steepest(*curve) for curve in curves]
    assert max(ours) / min(ours) < 2.5
    assert max(usual) / min(usual) > 10 * max(ours) / min(ours)
    assert abs(np.log10(np.median(ours)) + 2.0) < 0.15


def test_constant_lr_methods_that_disagree_are_noted_without_flagging_the_recommendation():
    lrs = np.geomspace(1e-6, 10, 200)
    x = np.log10(lrs)
    losses = 2.3 - 0.4 * (x + 6) / 4 - 1.2 * (x > -2) * np.tanh((x + 2) * 5) + np.where(x > 0, 3 * x, 0)
    suggestions, notes = sweep_suggestions(lrs, losses)
    recommendation = recommend(suggestions, notes)
    assert recommendation.methods_spread > 3 and recommendation.spread == 1 and not recommendation.low_confidence
    assert any(n.startswith("the constant-LR methods disagree by a factor of") for n in recommendation.notes)


@pytest.mark.parametrize("losses, note", [
    (np.linspace(1, 5, 50), "the loss never went down; lower the start LR"),
    (np.linspace(5, 1, 50), "still falling at the end LR ("),
    (np.linspace(5, 1, 4), "too few to read a curve"),
])
def test_curve_shapes_that_cannot_give_a_good_answer_give_none_and_say_why(losses, note):
    suggestions, notes = sweep_suggestions(np.geomspace(1e-5, 1, len(losses)), losses)
    assert recommend(suggestions, notes) is None
    assert notes[0].startswith("no recommendation: ") and note in notes[0]


def test_probe_best_is_refined_between_candidates():
    lrs = np.geomspace(1e-4, 10, 12)
    scores = (np.log10(lrs) - np.log10(0.13)) ** 2
    suggestions, notes = probe_suggestion(lrs, scores)
    assert suggestions[0].lr == pytest.approx(0.13, rel=1e-6) and not notes
    scores[:] = np.inf
    assert probe_suggestion(lrs, scores) == ([], ["no recommendation: every candidate LR diverged; lower the start LR"])


@pytest.mark.parametrize("changes, message", [
    ({"mode": "sideways"}, "the mode must be sweep or probe"),
    ({"start_lr": 1.0, "end_lr": 0.1}, r"^the end LR must be above the start LR \(1\), got 0.1$"),
    ({"start_lr": -1.0}, "^the start LR must be a learning rate from 1e-10 to 10000, got -1.0$"),
    ({"start_lr": 1e-40}, "changes no float32 weight"),
    ({"iterations": 1}, "^the iterations must be a whole number from 2"),
    ({"mode": "probe", "probe_count": 2}, "^the number of candidate LRs must be a whole number from 3"),
    ({"diverge_factor": 1.0}, "^the divergence factor must be above 1"),
])
def test_invalid_settings_are_named(changes, message):
    with pytest.raises(ValueError, match=message):
        RangeTestSettings(**changes).resolved()


def test_a_flat_curve_gives_no_recommendation_only_its_edge():
    lrs = np.geomspace(1e-7, 10, 100)
    x = np.log10(lrs)
    losses = 0.03 + np.where(x > -0.3, 0.5 * (x + 0.3) ** 2, 0) + np.random.default_rng(1).normal(0, 0.004, 100)
    suggestions, notes = sweep_suggestions(lrs, losses)
    assert [s.method for s in suggestions] == ["edge"] and "not a recommendation" in suggestions[0].explanation
    assert -0.6 < np.log10(suggestions[0].lr) < 0.0
    assert recommend(suggestions, notes) is None
    assert notes[0].startswith("no recommendation: the loss did not fall") and "lrscope tune" in notes[0]


def test_a_descending_curve_is_not_called_flat():
    suggestions, _ = sweep_suggestions(*descent_curve(100, 0.05, blowup=0.0))
    assert "edge" not in {s.method for s in suggestions}


def test_the_local_fit_of_a_long_sweep_holds_a_block_of_points_in_memory_not_the_curve_squared():
    """A sweep of 100,000 batches asked for 10^10 weights at once, and the out-of-memory killer ended its run (22 GB)."""
    import tracemalloc

    lrs = np.logspace(-7, 1, 5000)
    losses = 2.3 - 0.5 * np.tanh(np.log10(lrs) + 2) + 0.05 * np.random.default_rng(0).standard_normal(len(lrs))
    tracemalloc.start()
    smooth, slope = local_fit(lrs, losses)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 40e6  # all at once: 200 MB for each of its five 5000 × 5000 arrays
    x = np.log10(lrs)
    for i in (0, 1234, 2500, 4999):  # each point's fit, against every point of the curve
        w = np.exp(-0.5 * ((x - x[i]) / 0.2) ** 2)
        fitted = np.polyfit(x - x[i], losses, 1, w=np.sqrt(w))
        assert abs(smooth[i] - fitted[1]) < 1e-6 and abs(slope[i] - fitted[0]) < 1e-6
