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
from .images import BadImage, load_sized

# 2: each image's own size is kept with its pixels (version 1 had none, and the Dataset tab only a sample of 400 sizes).
CACHE_VERSION = 2
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Decoded:
    """Decoded images (N, C, H, W) uint8; ``ok`` is False where a file could not be used; ``sizes`` (N, 2): each file's
    own width and height (0, 0 where it could not be used)."""

    images: np.ndarray
    ok: np.ndarray
    problems: tuple[tuple[str, str], ...]
    sizes: np.ndarray


def decode_all(paths: list[str], size: int, channels: int, progress: Progress | None = None) -> Decoded:
    """Decode every path in parallel threads (PIL releases the GIL while decoding)."""
    images = np.zeros((len(paths), channels, size, size), dtype=np.uint8)
    ok = np.ones(len(paths), dtype=bool)
    sizes = np.zeros((len(paths), 2), dtype=np.int64)
    problems = []

    def decode(index: int) -> tuple[int, str | None]:
        try:
            images[index], sizes[index] = load_sized(paths[index], size, channels)
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
    return Decoded(images, ok, tuple(problems), sizes)


def cache_file(cache_dir: Path, fingerprint: str, size: int, channels: int, version: int = CACHE_VERSION) -> Path:
    """Where the decoded form of a dataset at this resolution is kept (by a version of lrscope that writes ``version``)."""
    return Path(cache_dir) / f"{fingerprint}-{size}px-{channels}ch-v{version}.npz"


def drop_older_caches(cache_dir: Path, fingerprint: str, size: int, channels: int) -> list[Path]:
    """Remove this decode's caches of an earlier CACHE_VERSION, which this version cannot read; returns those removed.
    Left in place, each would keep the dataset's whole decode on disk for nothing."""
    removed = []
    for version in range(1, CACHE_VERSION):
        path = cache_file(cache_dir, fingerprint, size, channels, version)
        try:
            path.unlink()
        except OSError:  # none there, or not ours to remove: it only takes room
            continue
        removed.append(path)
    return removed


def load_decoded(path: Path, count: int, size: int, channels: int) -> Decoded | None:
    """The cached decode, or None when it is missing, unreadable or does not match."""
    try:
        with open_regular(path) as handle, np.load(handle, allow_pickle=False) as data:
            images, ok, sizes = data["images"], data["ok"], data["sizes"]
            problems = tuple(zip(data["problem_paths"].tolist(), data["problem_reasons"].tolist()))
    except (OSError, KeyError, ValueError, EOFError):
        return None
    if images.shape != (count, channels, size, size) or images.dtype != np.uint8:
        return None
    if ok.shape != (count,) or sizes.shape != (count, 2):
        return None
    return Decoded(images, ok.astype(bool), problems, sizes.astype(np.int64))


def save_decoded(path: Path, decoded: Decoded) -> bool:
    """Write the decode atomically; False (and nothing written) when the cache folder is not writable."""
    paths = np.array([p for p, _ in decoded.problems], dtype=str)
    reasons = np.array([r for _, r in decoded.problems], dtype=str)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, images=decoded.images, ok=decoded.ok, problem_paths=paths, problem_reasons=reasons,
                     sizes=decoded.sizes)

    try:
        write_atomically(path, write)
        return True
    except OSError:
        return False
