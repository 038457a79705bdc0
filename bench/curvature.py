"""6. Curvature probe and optimizer health: what a measurement costs in training steps, what the default
cadence and the health metrics cost a run, and lrscope's λmax against PyHessian's on the same model and batch."""

from __future__ import annotations

import copy
import statistics
import time

import torch

from engine.curvature.cadence import Cadence
from engine.curvature.health import HealthMeter
from engine.curvature.health_handler import HEALTH_EVERY
from engine.curvature.probe import CurvatureProbe
from engine.curvature.settings import CurvatureSettings
from engine.data import prepare_dataset
from engine.training.session import build_session

from .common import Row, alternate, median_spread, ratio_row
from .workloads import QUICK_RESOLUTION, config, digits_folder, digits_words

WARMUP_STEPS = 30


def trained_session(dataset, steps: int = WARMUP_STEPS, **changes):
    """A session past its first steps (a fresh network's curvature is not what a run sees)."""
    session = build_session(config(**changes), dataset)
    loop(session, steps)
    return session


def loop(session, steps: int, meter: HealthMeter | None = None, probe: CurvatureProbe | None = None,
         cadence: Cadence | None = None, start: int = 0, inside: list | None = None) -> float:
    """Seconds for ``steps`` training steps, with health metrics and/or the probe at its cadence, as the job runs them.

    With ``inside``, the seconds spent in the health metrics and the probe are appended to it (measured
    within the same run, so the machine's drifts do not move the share they give).
    """
    model, optimizer, loss_fn = session.model, session.optimizer, session.loss_fn
    batches = session.train.iterate(0)
    losses, step_seconds = [], 0.0
    started = time.perf_counter()
    for step in range(start, start + steps):
        try:
            images, labels = next(batches)
        except StopIteration:
            batches = session.train.iterate(step)
            images, labels = next(batches)
        extra = 0.0
        if probe is not None and cadence.due(step, step_seconds, start + steps):
            extra += probe.measure(session, step).seconds
            cadence.measured(extra)
        step_started = time.perf_counter()
        loss = loss_fn(model(session.pipeline.normalize(images)), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        sampled = meter is not None and (step + 1) % HEALTH_EVERY == 0  # as the job's handler samples
        if sampled:
            tick = time.perf_counter()
            meter.before_step()
            extra += time.perf_counter() - tick
        optimizer.step()
        if meter is not None and (sampled or step % 8 == 7):
            tick = time.perf_counter()
            if sampled:
                meter.after_step(step)
            if step % 8 == 7:
                meter.take()
            extra += time.perf_counter() - tick
        if inside is not None:
            inside.append(extra)
        losses.append(loss.detach())
        if cadence is not None:
            cadence.stepped()
            step_seconds = 0.9 * step_seconds + 0.1 * (time.perf_counter() - step_started) if step_seconds else time.perf_counter() - step_started
    torch.stack(losses).cpu()
    return time.perf_counter() - started


def step_seconds(session, steps: int = 20) -> float:
    """Median seconds of one training step of ``session`` (the model keeps training)."""
    times = []
    for i in range(steps):
        times.append(loop(session, 1, start=WARMUP_STEPS + i))
    return statistics.median(times)


def pyhessian_top(session, inputs, labels, max_iter: int, tol: float) -> tuple[float, float]:
    """PyHessian's top eigenvalue on a copy of the model (it writes .grad with a graph into the model)."""
    from pyhessian import hessian

    model = copy.deepcopy(session.model)
    started = time.perf_counter()
    top, _ = hessian(model, session.loss_fn, data=(inputs, labels), cuda=False).eigenvalues(maxIter=max_iter, tol=tol)
    return time.perf_counter() - started, float(top[0])


def run(quick: bool) -> list:
    """Rows: probe cost in steps (cold, warm), λmax and cost against PyHessian, health and cadence overheads."""
    dataset = prepare_dataset(digits_folder(quick), resolution=QUICK_RESOLUTION if quick else 16)
    repeats = 1 if quick else 4
    rows = []
    rows += _probe_cost(dataset, repeats)
    rows += _against_pyhessian(dataset, repeats, max_iter=20 if quick else 100)
    rows += _overheads(dataset, 1 if quick else 4, 40 if quick else 1500)
    return rows


def _probe_cost(dataset, repeats: int) -> list:
    session = trained_session(dataset, augment="none")
    step = step_seconds(session)
    probe = CurvatureProbe()
    cold, warm, iterations = [], [], []
    for _ in range(repeats):
        probe.vector = None
        first = probe.measure(session, 0)
        second = probe.measure(session, 0)
        cold.append(first.seconds / step)
        warm.append(second.seconds / step)
        iterations.append((first.iterations, second.iterations))
    value, spread = median_spread(cold)
    warm_value, warm_spread = median_spread(warm)
    note = (f"{digits_words(dataset)}, CPU, BatchNorm on batch statistics; step {1000 * step:.1f} ms; "
            f"Hessian-vector products cold/warm: {', '.join(f'{a}/{b}' for a, b in iterations)}")
    return [Row("curvature probe", "one measurement from a random start, in training steps", value, spread, "steps", "", None, note),
            Row("curvature probe", "one measurement warm-started (as during a run), in training steps", warm_value, warm_spread,
                "steps", "", None, "the same weights measured again, from the last eigenvector")]


def _against_pyhessian(dataset, repeats: int, max_iter: int) -> list:
    try:
        import pyhessian  # noqa: F401
    except ImportError:
        return [Row("curvature probe", "against PyHessian", float("nan"), (float("nan"),) * 2, "", "", None,
                    "pyhessian is not installed: pip install '.[bench]'")]
    session = trained_session(dataset, augment="none")
    probe = CurvatureProbe(CurvatureSettings(bn_mode="running", max_iter=max_iter))  # PyHessian evaluates in eval mode
    inputs, labels = probe.probe_batch(session)
    ours_values, theirs_values = [], []

    def ours() -> float:
        probe.vector = None
        measurement = probe.measure(session, 0)
        ours_values.append(measurement.lambda_max)
        return measurement.seconds

    def theirs() -> float:
        seconds, value = pyhessian_top(session, inputs, labels, max_iter, 1e-3)
        theirs_values.append(value)
        return seconds

    mine, pyh = alternate(ours, theirs, repeats)
    ours_value, theirs_value = statistics.median(ours_values), statistics.median(theirs_values)
    difference = abs(ours_value - theirs_value) / theirs_value
    return [
        Row("curvature probe", "λmax, lrscope ÷ PyHessian, same model and batch", ours_value / theirs_value,
            (min(ours_values) / max(theirs_values), max(ours_values) / min(theirs_values)), "", "within 1% of 1",
            difference <= 0.01, f"lrscope {ours_value:.5g}, PyHessian {theirs_value:.5g} (medians; both from random starts, "
                                f"tolerance 1e-3, cap {max_iter}, BatchNorm on running statistics as PyHessian does)"),
        ratio_row("curvature probe", "seconds per estimate from a random start, lrscope ÷ PyHessian", mine, pyh,
                  target=1.0, at_least=False, note="a warm-started lrscope estimate costs a fraction of this (rows above)"),
    ]


def _overheads(dataset, repeats: int, steps: int) -> list:
    sessions = {}

    def fresh(name):
        sessions[name] = trained_session(dataset, augment="none")
        return sessions[name]

    def plain() -> float:
        return loop(fresh("plain"), steps, start=WARMUP_STEPS)

    shares = {"health": [], "probe": []}

    def health() -> float:
        session, inside = fresh("health"), []
        seconds = loop(session, steps, meter=HealthMeter(session.optimizer), start=WARMUP_STEPS, inside=inside)
        shares["health"].append(100 * sum(inside) / (seconds - sum(inside)))
        return seconds

    def probed() -> float:
        inside = []
        seconds = loop(fresh("probe"), steps, probe=CurvatureProbe(), cadence=Cadence(), start=WARMUP_STEPS, inside=inside)
        shares["probe"].append(100 * sum(inside) / (seconds - sum(inside)))
        return seconds

    base, with_health = alternate(plain, health, repeats)
    base2, with_probe = alternate(plain, probed, repeats)
    note = f"{digits_words(dataset)}, CPU, {steps} steps a run"
    return [
        ratio_row("optimizer health", f"run time with health metrics every {HEALTH_EVERY}th step ÷ without", with_health, base, target=1.01,
                  at_least=False, note=f"{note}; gradient norm and ‖ΔW‖/‖W‖ per group, read back every 8 steps"),
        ratio_row("curvature probe", "run time with the probe at its default (automatic) cadence ÷ without", with_probe, base2,
                  target=1.05, at_least=False, note=f"{note}; the cadence keeps measurements within 5% of training time"),
        Row("optimizer health", "time in the health metrics ÷ training time, inside the same runs", *median_spread(shares["health"]),
            "%", "≤ 1 %", statistics.median(shares["health"]) <= 1, note),
        Row("curvature probe", "time in the probe ÷ training time at the automatic cadence, inside the same runs",
            *median_spread(shares["probe"]), "%", "≤ 5 %", statistics.median(shares["probe"]) <= 5,
            f"{note}; the first measurement comes 10 steps in (5% of the whole run pays for it), the next once the training since the "
            "start has paid for all so far, and no sooner than the steps since, at 10%, pay for the last"),
    ]
