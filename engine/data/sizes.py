"""The images' own sizes, in numbers a schedule file keeps: counted over every image once the decode has read them all,
else over a sample of headers."""

from __future__ import annotations

import numpy as np

SIZES_KEPT = 8  # sizes whose counts a summary keeps: a set of photos can have as many sizes as images


def size_stats(sizes) -> dict[str, list[int]]:
    """Smallest, median and largest (width, height) and the most common size, of (width, height) pairs."""
    pairs = _pairs(sizes)
    if not len(pairs):
        return {}
    widths, heights = pairs[:, 0], pairs[:, 1]
    common = size_counts(pairs)[0]
    return {
        "min": [int(widths.min()), int(heights.min())],
        "median": [int(np.median(widths)), int(np.median(heights))],
        "max": [int(widths.max()), int(heights.max())],
        "most_common": [common[0], common[1]],
    }


def size_counts(sizes) -> tuple[tuple[int, int, int], ...]:
    """(width, height, images) of the SIZES_KEPT most common sizes, most common first (ties: the smaller first)."""
    pairs = _pairs(sizes)
    if not len(pairs):
        return ()
    unique, counts = np.unique(pairs, axis=0, return_counts=True)
    order = np.argsort(-counts, kind="stable")[:SIZES_KEPT]
    return tuple((int(unique[i, 0]), int(unique[i, 1]), int(counts[i])) for i in order)


def _pairs(sizes) -> np.ndarray:
    return np.asarray(sizes, dtype=np.int64).reshape(-1, 2)
