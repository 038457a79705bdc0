"""One optimization step, shared by training and the range test so both cost the same.

It is split where gradients exist but the weights have not moved yet, so the job
can run handlers there (gradient norms, probes) between ``forward_backward`` and
``optimizer_step``.
"""

from __future__ import annotations

import math
from contextlib import nullcontext

import torch

from ..optim import set_lrs, set_momentum
from .plan import StepSettings
from .session import Session


def apply_hyperparameters(optimizer: torch.optim.Optimizer, settings: StepSettings) -> None:
    """Write each group's LR, by group name, and the momentum (unless NaN) into the optimizer."""
    set_lrs(optimizer, settings.lrs)
    if not math.isnan(settings.momentum):
        set_momentum(optimizer, settings.momentum)


def autocast(session: Session):
    """The autocast context of the session (a no-op without mixed precision)."""
    if session.amp_dtype is None:
        return nullcontext()
    return torch.autocast(session.device.type, dtype=session.amp_dtype)


def forward_backward(session: Session, images: torch.Tensor, labels: torch.Tensor, step: int) -> torch.Tensor:
    """Forward and backward on one batch (gradients scaled under a GradScaler); returns the loss, detached, on the device."""
    inputs = session.pipeline.for_training(images, step)
    with autocast(session):
        loss = session.loss_fn(session.trainer(inputs), labels)
    session.optimizer.zero_grad(set_to_none=True)
    if loss.requires_grad:  # False only when every group is frozen: nothing learns from this batch
        (session.scaler.scale(loss) if session.scaler is not None else loss).backward()
    return loss.detach()


def optimizer_step(session: Session) -> None:
    """Update the weights from the gradients ``forward_backward`` left."""
    if session.scaler is None:
        session.optimizer.step()
    elif any(p.grad is not None for g in session.optimizer.param_groups for p in g["params"]):
        session.scaler.step(session.optimizer)  # a scaler refuses a step without any gradient
        session.scaler.update()


def train_step(session: Session, images: torch.Tensor, labels: torch.Tensor, step: int) -> torch.Tensor:
    """Forward, backward and update on one batch; returns the loss, detached and still on the device."""
    loss = forward_backward(session, images, labels, step)
    optimizer_step(session)
    return loss


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is a device running out of memory."""
    return isinstance(error, torch.OutOfMemoryError) or (isinstance(error, RuntimeError) and "out of memory" in str(error))
