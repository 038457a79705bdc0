"""The network as every rank trains it: PyTorch's DistributedDataParallel around the plain model.

The session keeps the plain model (checkpoints, rollbacks and validation use it, so a checkpoint
loads on any number of processes); only the training forward goes through DDP, which averages the
gradients over the ranks during backward. DDP registers the parameters that need a gradient when it
is built, so it is rebuilt when a freeze or unfreeze changes that set (on every rank at the same step,
because schedules change there).
"""

from __future__ import annotations

import warnings

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..errors import ConfigError
from .world import World


def with_sync_batchnorm(model: nn.Module, world: World, wanted: bool, device: torch.device) -> nn.Module:
    """``model`` with its BatchNorm layers made SyncBatchNorm when asked and several processes train (same parameters);
    ConfigError on the CPU, where PyTorch has no SyncBatchNorm."""
    if not (wanted and world.distributed):
        return model
    check_sync_batchnorm(device)
    return nn.SyncBatchNorm.convert_sync_batchnorm(model)


def check_sync_batchnorm(device: torch.device) -> None:
    """ConfigError unless SyncBatchNorm can train on ``device`` (a GPU)."""
    if device.type != "cuda":
        raise ConfigError("sync_batchnorm", "SyncBatchNorm works on GPUs only (PyTorch has none for the CPU); "
                                            "leave --sync-batchnorm out: each process then normalizes with its own batch")


class Replicas:
    """Hands out the module to train through: DDP over ``model`` on several processes, ``model`` itself on one."""

    def __init__(self, model: nn.Module, device: torch.device, world: World):
        self.model, self.device, self.world = model, device, world
        self._key: tuple[bool, ...] | None = None
        self._wrapped: nn.Module = model

    def module(self) -> nn.Module:
        """The module for the training forward (built anew when the set of trained parameters changed)."""
        if not self.world.distributed:
            return self.model
        key = tuple(p.requires_grad for p in self.model.parameters())
        if key != self._key:
            self._key, self._wrapped = key, self._wrap(any(key))
        return self._wrapped

    def _wrap(self, trains_something: bool) -> nn.Module:
        if not trains_something:  # DDP refuses a model with nothing to train; nothing to average either
            return self.model
        ids = [self.device.index] if self.device.type == "cuda" else None
        # A first conv over one channel has a dimension of size 1, whose stride autograd chooses freely; DDP's
        # bucket then warns that the strides differ, though nothing is copied or slowed for it.
        warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
        return DistributedDataParallel(self.model, device_ids=ids)
