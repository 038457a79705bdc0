"""One optimization step, shared by training and the range test so both cost the same.

It is split where gradients exist but the weights have not moved yet, so the job can measure
there (gradient norms) between ``forward_backward`` and ``optimizer_step``.
"""

from __future__ import annotations

import math
from contextlib import nullcontext

import torch

from ..optim import set_momentum
from .session import Session


def apply_hyperparameters(optimizer: torch.optim.Optimizer, lrs: list[float], momentum: float) -> None:
    """Write each group's LR (and the momentum, unless NaN) into the optimizer."""
    for group, lr in zip(optimizer.param_groups, lrs):
        group["lr"] = lr
    if not math.isnan(momentum):
        set_momentum(optimizer, momentum)


def autocast(session: Session):
    """The autocast context of the session (a no-op without mixed precision)."""
    if session.amp_dtype is None:
        return nullcontext()
    return torch.autocast(session.device.type, dtype=session.amp_dtype)


def forward_backward(session: Session, images: torch.Tensor, labels: torch.Tensor, step: int) -> torch.Tensor:
    """Forward and backward on one batch (gradients scaled under a GradScaler); returns the loss, detached, on the device."""
    inputs = session.pipeline.for_training(images, step)
    with autocast(session):
        loss = session.loss_fn(session.model(inputs), labels)
    session.optimizer.zero_grad(set_to_none=True)
    (session.scaler.scale(loss) if session.scaler is not None else loss).backward()
    return loss.detach()


def optimizer_step(session: Session) -> None:
    """Update the weights from the gradients ``forward_backward`` left."""
    if session.scaler is None:
        session.optimizer.step()
    else:
        session.scaler.step(session.optimizer)
        session.scaler.update()


def train_step(session: Session, images: torch.Tensor, labels: torch.Tensor, step: int) -> torch.Tensor:
    """Forward, backward and update on one batch; returns the loss, detached and still on the device."""
    loss = forward_backward(session, images, labels, step)
    optimizer_step(session)
    return loss


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is a device running out of memory."""
    return isinstance(error, torch.OutOfMemoryError) or (isinstance(error, RuntimeError) and "out of memory" in str(error))
