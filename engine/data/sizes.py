"""The images' own sizes, in numbers a schedule file keeps and in the line the Dataset tab and `lrscope schedule show`
print: counted over every image once the decode has read them all, else over a sample of headers, and said so."""

from __future__ import annotations

import numpy as np

SIZES_KEPT = 8  # sizes whose counts a summary keeps: a set of photos can have as many sizes as images
SIZES_SAID = 3


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


def sizes_text(stats: dict, counts, read: int | None, images: int) -> str:
    """The sizes in a line ("" when unknown): "all 32×32" or "1796 at 32×32, 1 at 4000×4000" when ``read`` (the images
    whose sizes ``stats`` and ``counts`` hold) is every one of ``images``, else ranges marked "(of 400 sampled)": "all
    32×32" from a sample of headers hid a 4000×4000 image among 1797. ``read`` None: a file from before it was kept."""
    if not {"min", "max", "most_common"} <= stats.keys():
        return ""
    if read is None or read < images or not counts:
        return _sampled(stats, read)
    if len(counts) == 1:
        return f"all {counts[0][0]}×{counts[0][1]}"
    if len(counts) <= SIZES_SAID:
        return _each(counts)
    said = counts[:SIZES_SAID - 1]
    # The ranges name the smallest and the largest, which the most common sizes leave out (the odd image looked for).
    return f"{_ranges(stats)}: {_each(said)}, {read - sum(n for _, _, n in said)} of other sizes"


def _sampled(stats: dict, read: int | None) -> str:
    """"widths 20–300, heights 8–40, mostly 32×32 (of 400 sampled)": the smallest width beside the smallest height,
    "20×8 to 300×40", named a size no image had."""
    common = "×".join(map(str, stats["most_common"]))
    text = f"all {common}" if stats["min"] == stats["max"] else f"{_ranges(stats)}, mostly {common}"
    return f"{text} ({f'of {read} ' if read is not None else ''}sampled)"


def _ranges(stats: dict) -> str:
    (w0, h0), (w1, h1) = stats["min"], stats["max"]
    return f"widths {w0}–{w1}, heights {h0}–{h1}"


def _each(counts) -> str:
    return ", ".join(f"{n} at {w}×{h}" for w, h, n in counts)


def _pairs(sizes) -> np.ndarray:
    return np.asarray(sizes, dtype=np.int64).reshape(-1, 2)
