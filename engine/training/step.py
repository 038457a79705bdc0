"""One optimization step, shared by training and the range test so both cost the same."""

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


def train_step(session: Session, images: torch.Tensor, labels: torch.Tensor, step: int) -> torch.Tensor:
    """Forward, backward and update on one batch; returns the loss, detached and still on the device."""
    inputs = session.pipeline.for_training(images, step)
    with autocast(session):
        loss = session.loss_fn(session.model(inputs), labels)
    session.optimizer.zero_grad(set_to_none=True)
    if session.scaler is not None:
        session.scaler.scale(loss).backward()
        session.scaler.step(session.optimizer)
        session.scaler.update()
    else:
        loss.backward()
        session.optimizer.step()
    return loss.detach()


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is a device running out of memory."""
    return isinstance(error, torch.OutOfMemoryError) or (isinstance(error, RuntimeError) and "out of memory" in str(error))
