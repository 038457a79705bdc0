"""Batches by (epoch, index): the data position of a run is a pure function of its step.

Two sources give the same interface. ``TensorBatches`` slices a uint8 tensor that
already sits in memory (on the GPU when there is one), so an epoch costs one
index per batch. ``StreamingBatches`` decodes files through a DataLoader with
worker processes, for datasets larger than the memory budget.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .images import BadImage, load_image
from .orphans import die_with
from .split import training_batches_per_epoch

Batch = tuple[torch.Tensor, torch.Tensor]
# (rank, world size): every rank takes the samples rank, rank + size, ... of each global batch.
Shard = tuple[int, int]


def epoch_order(count: int, seed: int, epoch: int, shuffle: bool) -> torch.Tensor:
    """The order of the samples in ``epoch``; the same for the same seed and epoch."""
    if not shuffle:
        return torch.arange(count)
    generator = torch.Generator().manual_seed((seed * 1_000_003 + epoch) % (2**63))
    return torch.randperm(count, generator=generator)


class TensorBatches:
    """Batches sliced from in-memory uint8 images; ``batch_size`` is the global batch, of which this rank takes its ``shard``."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int, *, shuffle: bool, seed: int = 0,
                 shard: Shard = (0, 1)):
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle, self.seed, self.shard = batch_size, shuffle, seed, shard
        self._order: tuple[int, torch.Tensor] | None = None

    @property
    def sample_count(self) -> int:
        """How many samples an epoch covers."""
        return len(self.labels)

    def __len__(self) -> int:
        """Batches per epoch: full batches only when shuffling (training), else every sample."""
        if self.shuffle:
            return training_batches_per_epoch(self.sample_count, self.batch_size)
        return -(-self.sample_count // self.batch_size)

    def _indices(self, epoch: int, index: int) -> torch.Tensor:
        if self._order is None or self._order[0] != epoch:
            self._order = (epoch, epoch_order(self.sample_count, self.seed, epoch, self.shuffle).to(self.images.device))
        rank, size = self.shard
        return self._order[1][index * self.batch_size:(index + 1) * self.batch_size][rank::size]

    def iterate(self, epoch: int, start: int = 0) -> Iterator[Batch]:
        """The batches of ``epoch`` from batch ``start`` on."""
        for index in range(start, len(self)):
            chosen = self._indices(epoch, index)
            yield self.images[chosen], self.labels[chosen]


class FileDataset(Dataset):
    """Decodes one file per item; an unreadable file gives label -1 - index instead of failing."""

    def __init__(self, paths: list[str], labels: np.ndarray, size: int, channels: int):
        self.paths, self.labels, self.size, self.channels = paths, labels, size, channels

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        try:
            return torch.from_numpy(load_image(self.paths[index], self.size, self.channels)), int(self.labels[index])
        except (BadImage, OSError):
            return torch.zeros((self.channels, self.size, self.size), dtype=torch.uint8), -1 - index


class StreamingBatches:
    """Batches decoded from files by DataLoader workers; unreadable files are skipped and reported."""

    def __init__(self, dataset: FileDataset, batch_size: int, *, shuffle: bool, seed: int = 0, workers: int = 2,
                 device: torch.device = torch.device("cpu"), on_skip: Callable[[list[str]], None] | None = None,
                 shard: Shard = (0, 1)):
        self.dataset, self.batch_size, self.shuffle, self.seed, self.shard = dataset, batch_size, shuffle, seed, shard
        self.workers, self.device, self.on_skip = workers, device, on_skip

    @property
    def sample_count(self) -> int:
        """How many samples an epoch covers."""
        return len(self.dataset)

    __len__ = TensorBatches.__len__

    def iterate(self, epoch: int, start: int = 0) -> Iterator[Batch]:
        """The batches of ``epoch`` from batch ``start`` on; skipped batches are never decoded."""
        order = epoch_order(self.sample_count, self.seed, epoch, self.shuffle).tolist()
        rank, size = self.shard
        chunks = [order[i * self.batch_size:(i + 1) * self.batch_size][rank::size] for i in range(start, len(self))]
        context = "forkserver" if self.workers and sys.platform.startswith("linux") else None
        loader = DataLoader(self.dataset, batch_sampler=chunks, num_workers=self.workers, multiprocessing_context=context,
                            pin_memory=self.device.type == "cuda",
                            worker_init_fn=functools.partial(die_with, os.getpid()) if context == "forkserver" else None)
        for images, labels in loader:
            good = labels >= 0
            if not bool(good.all()):
                self._report((-1 - labels[~good]).tolist())
                images, labels = images[good], labels[good]
            yield images.to(self.device, non_blocking=True), labels.to(self.device, non_blocking=True)

    def _report(self, indices: list[int]) -> None:
        if self.on_skip:
            self.on_skip([self.dataset.paths[i] for i in indices])
