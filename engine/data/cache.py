"""Decode a dataset once into a uint8 array at the training resolution, and keep it on disk.

The cache lives outside the dataset folder (the user's cache directory), keyed by
the dataset's fingerprint, resolution and channel count, so a later launch on
the same folder decodes nothing. It is written with numpy's format and read with
``allow_pickle=False``: a cache file is data, never code.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import write_atomically
from ..files import open_regular
from .images import BadImage, load_image

CACHE_VERSION = 1
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Decoded:
    """Decoded images (N, C, H, W) uint8; ``ok`` is False where a file could not be used."""

    images: np.ndarray
    ok: np.ndarray
    problems: tuple[tuple[str, str], ...]


def decode_all(paths: list[str], size: int, channels: int, progress: Progress | None = None) -> Decoded:
    """Decode every path in parallel threads (PIL releases the GIL while decoding)."""
    images = np.zeros((len(paths), channels, size, size), dtype=np.uint8)
    ok = np.ones(len(paths), dtype=bool)
    problems = []

    def decode(index: int) -> tuple[int, str | None]:
        try:
            images[index] = load_image(paths[index], size, channels)
            return index, None
        except BadImage as error:
            return index, str(error)

    workers = min(8, os.cpu_count() or 2)
    with ThreadPoolExecutor(workers) as pool:
        for done, (index, problem) in enumerate(pool.map(decode, range(len(paths)), chunksize=64), start=1):
            if problem is not None:
                ok[index] = False
                problems.append((paths[index], problem))
            if progress and (done % 256 == 0 or done == len(paths)):
                progress(done, len(paths))
    return Decoded(images, ok, tuple(problems))


def cache_file(cache_dir: Path, fingerprint: str, size: int, channels: int) -> Path:
    """Where the decoded form of a dataset at this resolution is kept."""
    return Path(cache_dir) / f"{fingerprint}-{size}px-{channels}ch-v{CACHE_VERSION}.npz"


def load_decoded(path: Path, count: int, size: int, channels: int) -> Decoded | None:
    """The cached decode, or None when it is missing, unreadable or does not match."""
    try:
        with open_regular(path) as handle, np.load(handle, allow_pickle=False) as data:
            images, ok = data["images"], data["ok"]
            problems = tuple(zip(data["problem_paths"].tolist(), data["problem_reasons"].tolist()))
    except (OSError, KeyError, ValueError, EOFError):
        return None
    if images.shape != (count, channels, size, size) or images.dtype != np.uint8 or ok.shape != (count,):
        return None
    return Decoded(images, ok.astype(bool), problems)


def save_decoded(path: Path, decoded: Decoded) -> bool:
    """Write the decode atomically; False (and nothing written) when the cache folder is not writable."""
    paths = np.array([p for p, _ in decoded.problems], dtype=str)
    reasons = np.array([r for _, r in decoded.problems], dtype=str)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, images=decoded.images, ok=decoded.ok, problem_paths=paths, problem_reasons=reasons)

    try:
        write_atomically(path, write)
        return True
    except OSError:
        return False
