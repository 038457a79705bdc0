"""Sums and means over every rank: one all-reduce, nothing on one process."""

from __future__ import annotations

import torch
import torch.distributed as dist

from .world import current


def sum_over_ranks(values: torch.Tensor) -> torch.Tensor:
    """``values`` summed over every rank, in place (on the device it lives on); unchanged on one process."""
    if current().distributed:
        dist.all_reduce(values)
    return values


def mean_over_ranks(values: torch.Tensor) -> torch.Tensor:
    """``values`` averaged over every rank (gloo has no average, so a sum divided by the world size)."""
    world = current()
    if not world.distributed:
        return values
    return sum_over_ranks(values.clone()) / world.size
