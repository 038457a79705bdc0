"""Validation: mean loss and accuracy over a set of batches, with one device sync at the end."""

from __future__ import annotations

import threading

import torch

from ..distributed.reduce import sum_over_ranks
from .session import Session
from .step import autocast


class Interrupted(Exception):
    """A stop request arrived during a long operation."""


def _batch_statistics(model: torch.nn.Module) -> None:
    """Eval mode except BatchNorm, which normalizes with the batch's own statistics."""
    model.eval()
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.train()


def evaluate(session: Session, batches, stop: threading.Event | None = None, limit: int | None = None,
             batch_statistics: bool = False) -> tuple[float, float]:
    """(mean loss, accuracy) over ``batches`` (at most ``limit`` of them); Interrupted if ``stop`` is set.

    Under DDP each rank scores its shard of every batch and the sums are added over the ranks, so every
    rank gets the same numbers, those of the whole set.

    With ``batch_statistics``, BatchNorm uses each batch's statistics instead of
    its running averages, which lag far behind after only a few steps (the range
    test scores that way; it restores the running averages afterwards).
    """
    model = session.model
    was_training = model.training
    _batch_statistics(model) if batch_statistics else model.eval()
    total_loss = torch.zeros((), device=session.device)
    correct = torch.zeros((), device=session.device, dtype=torch.long)
    count = torch.zeros((), device=session.device)
    try:
        with torch.no_grad():
            for index, (images, labels) in enumerate(batches.iterate(0)):
                if stop is not None and stop.is_set():
                    raise Interrupted
                if limit is not None and index >= limit:
                    break
                with autocast(session):
                    logits = model(session.pipeline.normalize(images))
                total_loss += torch.nn.functional.cross_entropy(logits.float(), labels, reduction="sum")
                correct += (logits.argmax(1) == labels).sum()
                count += len(labels)
    finally:
        model.train(was_training)
    totals = sum_over_ranks(torch.stack([total_loss.double(), correct.double(), count.double()])).tolist()
    if totals[2] == 0:
        return float("nan"), float("nan")
    return totals[0] / totals[2], totals[1] / totals[2]
