"""What a dataset holds, in numbers a user and a schedule file can compare."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass

import numpy as np

from .folder import FolderScan
from .header_checks import Headers
from .images import BadImage, header, is_gray

HEADER_SAMPLE = 400


@dataclass(frozen=True)
class DatasetSummary:
    """Counts, image sizes, resolution and channel statistics of a dataset.

    The counts are of the images that train or validate; ``unreadable`` files the folder also holds are left out of
    them, as the window and the command line show them (the fingerprint, which identifies the folder, hashes them).
    """

    name: str
    root: str
    fingerprint: str
    classes: tuple[str, ...]
    class_counts: dict[str, int]
    image_count: int
    presplit: bool
    image_sizes: dict[str, list[int]]
    size_counts: tuple[tuple[int, int, int], ...]  # (width, height, images), the most common sizes first
    sizes_read: int  # the images whose sizes those count: all of them once the decode has run, else a sample's
    resolution: int
    channels: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    unreadable: int = 0

    @property
    def found(self) -> int:
        """The image files the folder holds, readable or not."""
        return self.image_count + self.unreadable

    def to_dict(self) -> dict:
        """Plain data for schedule files, run stores and events."""
        data = asdict(self)
        data["classes"] = list(self.classes)
        data["mean"], data["std"] = list(self.mean), list(self.std)
        data["size_counts"] = [list(size) for size in self.size_counts]
        return data


def sample_indices(count: int, limit: int, seed: int = 0) -> np.ndarray:
    """Up to ``limit`` indices spread over ``count`` items, the same for the same arguments."""
    if count <= limit:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, size=limit, replace=False))


def read_headers(scan: FolderScan) -> Headers:
    """Paths, sizes and modes of a sample of the images (headers only; unreadable ones are left out)."""
    paths, sizes, modes = [], [], []
    sampled = sample_indices(len(scan.entries), HEADER_SAMPLE)
    for index in sampled:
        try:
            size, mode = header(str(scan.root / scan.entries[index].path))
        except BadImage:
            continue
        paths.append(scan.entries[index].path)
        sizes.append(size)
        modes.append(mode)
    return Headers(paths, sizes, len(scan.entries), len(sampled), modes)


def choose_resolution(sizes: list[tuple[int, int]], requested: int | None, bounds: tuple[int, int] = (16, 224)) -> int:
    """The training side length: as requested, else the median shorter side clamped to ``bounds``."""
    if requested:
        return int(requested)
    if not sizes:
        return int(np.clip(32, *bounds))
    return int(np.clip(np.median([min(w, h) for w, h in sizes]), *bounds))


def choose_channels(modes: list[str]) -> int:
    """1 when every sampled image is grayscale, else 3."""
    return 1 if modes and all(is_gray(m) for m in modes) else 3


def channel_stats(images: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std (0-1 scale) of uint8 images (N, C, H, W)."""
    if len(images) == 0:
        return (0.5,) * images.shape[1], (0.25,) * images.shape[1]
    values = images.astype(np.float64) / 255.0
    mean = values.mean(axis=(0, 2, 3))
    std = np.maximum(values.std(axis=(0, 2, 3)), 1e-3)
    return tuple(float(m) for m in mean), tuple(float(s) for s in std)


def class_counts(scan: FolderScan) -> dict[str, int]:
    """Images per class name."""
    counts = Counter(e.label for e in scan.entries)
    return {name: counts.get(i, 0) for i, name in enumerate(scan.classes)}
