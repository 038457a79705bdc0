"""The curvature probe: λmax of the training loss on a fixed batch, and the LR bound it implies.

Each measurement runs inside the training state's snapshot/restore, on a batch that
never changes, with dropout off, starting from the previous eigenvector; the run's
weights, BatchNorm buffers, optimizer state, RNG and data position are left as they were.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from ..events import CurvatureMeasured
from ..training.session import Session
from ..training.state import preserved
from .bounds import rule_for
from .dead_units import counting_dead_units
from .lanczos import MeasurementStopped, Vector, random_like, top_eigenvalue
from .operator import HessianOperator
from .preconditioner import has_preconditioner, probed_parameters, relative_lrs, scales
from .settings import CurvatureSettings

# The probe batch comes from a permutation of the training set that no epoch of a run uses.
PROBE_EPOCH = -(10**9)


def set_bn_mode(model: nn.Module, bn_mode: str) -> None:
    """Dropout off; BatchNorm on batch statistics ("batch") or on its running averages ("running")."""
    model.eval()
    if bn_mode == "batch":
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.train()


# At a range test's start a marker on a log-LR axis is wanted, not three digits: a looser, cheaper measurement.
# Cold-started on the digits' fresh CNN, 16 products put λmax within 1% (10 left it 4-12% low).
RANGE_TEST = CurvatureSettings(tol=1e-2, max_iter=16)


def measure_at_start(session: Session, step: int, stopped: Callable[[], bool] = lambda: False) -> CurvatureMeasured | None:
    """λmax at a range test's start (the groups weighted by the LRs they have now); None when ``stopped()`` cut it
    short (a cancel sent in a test's first seconds waited for the whole measurement: minutes on a large network)."""
    if stopped():
        return None
    try:
        return CurvatureProbe(RANGE_TEST, seed=session.config.seed).measure(session, step, "range_test", stopped)
    except MeasurementStopped:
        return None


def _limits(measurement: CurvatureMeasured, multipliers: dict[str, float]) -> list[tuple[float, str, float]]:
    """(the swept LR at which the group meets its bound, the group, its multiplier) of each group that trains."""
    pairs = ((name, bound, multipliers.get(name, 0.0)) for name, bound in zip(measurement.groups, measurement.bounds))
    return [(float(b / m), name, m) for name, b, m in pairs if m > 0 and np.isfinite(b)]


def sweep_bound(measurement: CurvatureMeasured, multipliers: dict[str, float]) -> float | None:
    """The range test's LR (before the groups' multipliers, by group name) above which some group passes
    its bound; None if unknown."""
    limits = _limits(measurement, multipliers)
    return min(limits)[0] if limits else None


def binding_group(measurement: CurvatureMeasured, multipliers: dict[str, float]) -> tuple[str, float] | None:
    """The group that meets its bound first as the range test's LR rises, and its LR multiplier; None if unknown."""
    limits = _limits(measurement, multipliers)
    return min(limits)[1:] if limits else None


class CurvatureProbe:
    """Measures λmax on one session, remembering its probe batch and last eigenvector between calls."""

    def __init__(self, settings: CurvatureSettings | None = None, seed: int = 0):
        self.settings = settings or CurvatureSettings()
        self.settings.validate()
        self.generator = torch.Generator().manual_seed(seed)
        self.vector: Vector | None = None
        self.batch: tuple[torch.Tensor, torch.Tensor] | None = None

    def probe_batch(self, session: Session) -> tuple[torch.Tensor, torch.Tensor]:
        """The fixed batch (normalized, not augmented), drawn once."""
        if self.batch is None:
            images, labels = next(iter(session.train.iterate(PROBE_EPOCH)))
            self.batch = (session.pipeline.normalize(images).detach(), labels)
        return self.batch

    def measure(self, session: Session, step: int, trigger: str = "cadence", stopped: Callable[[], bool] = lambda: False) -> CurvatureMeasured:
        """One measurement at ``step``; the training state is exactly as before afterwards (also when ``stopped()``
        ends it early with MeasurementStopped)."""
        started = time.perf_counter()
        inputs, labels = self.probe_batch(session)
        model, optimizer = session.model, session.optimizer
        rule = rule_for(optimizer)
        was_training = model.training
        with preserved(session):
            try:
                set_bn_mode(model, self.settings.bn_mode)
                with counting_dead_units(model, optimizer) as dead:
                    loss = session.loss_fn(model(inputs).float(), labels)
                params, weights = probed_parameters(optimizer)
                preconditioned = rule.preconditioned and has_preconditioner(optimizer, params)
                operator = HessianOperator(loss, params, scales(optimizer, params, weights, preconditioned))
                start = self.vector if self._fits(params) else random_like(params, self.generator)
                result = top_eigenvalue(operator, start, tol=self.settings.tol, max_iter=self.settings.max_iter, stopped=stopped)
                dead_fractions = dead.fractions()
            finally:
                model.train(was_training)
        self.vector = result.vector
        lrs = np.array([float(g["lr"]) for g in optimizer.param_groups])
        # For the group with the largest LR (weight 1). Adam's bound needs its preconditioner, which its first step makes.
        top_bound = rule.lr_bound(result.value) if preconditioned == rule.preconditioned else np.nan
        bounds = np.array([w * top_bound if lr > 0 else np.nan for w, lr in zip(relative_lrs(optimizer), lrs)])
        return CurvatureMeasured(
            step=step, lambda_max=result.value, iterations=result.iterations, converged=result.converged,
            seconds=time.perf_counter() - started, bn_mode=self.settings.bn_mode, optimizer=rule.optimizer,
            formula=rule.formula, constant=rule.constant, preconditioned=preconditioned,
            groups=tuple(g.get("name", str(i)) for i, g in enumerate(optimizer.param_groups)), lrs=lrs, bounds=bounds,
            dead_relu=dead_fractions, batch_size=int(len(labels)), trigger=trigger)

    def _fits(self, params: list[torch.Tensor]) -> bool:
        """Whether the last eigenvector can warm-start a measurement of ``params``."""
        return self.vector is not None and len(self.vector) == len(params) and all(
            v.shape == p.shape for v, p in zip(self.vector, params))
