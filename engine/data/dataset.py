"""Open a dataset folder: scan, fingerprint, decode (or plan to stream), split and summarize."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from ..text import counted, listed, printable
from .cache import Decoded, Progress, cache_file, decode_all, drop_older_caches, load_decoded, save_decoded
from .fingerprint import fingerprint
from .folder import FolderScan, scan_folder
from .header_checks import Headers, ImageSizes, header_warnings
from .images import BadImage, load_image
from .sizes import size_counts, size_stats
from .split import stratified_split
from .summary import (
    DatasetSummary,
    channel_stats,
    choose_channels,
    choose_resolution,
    class_counts,
    read_headers,
    sample_indices,
)

MB = 1024**2
DEFAULT_MEMORY_BUDGET = 2048 * MB
STATS_SAMPLE = 2000


@dataclass
class PreparedDataset:
    """A dataset ready to train on: its summary, split, and decoded images when they fit in memory."""

    summary: DatasetSummary
    scan: FolderScan
    labels: np.ndarray
    train_index: np.ndarray
    val_index: np.ndarray
    decoded: Decoded | None
    warnings: list[str] = field(default_factory=list)

    @cached_property
    def paths(self) -> list[str]:
        """Absolute path of every entry (made once: read per image, a list made at each read cost N² path joins)."""
        return [str(self.scan.root / e.path) for e in self.scan.entries]

    def found_counts(self) -> list[int]:
        """Image files per class, readable or not (the summary counts those that train or validate)."""
        return list(class_counts(self.scan).values())

    @property
    def streams(self) -> bool:
        """True when images are decoded from files during training (too large for memory)."""
        return self.decoded is None


def prepare_dataset(
    root: Path | str,
    *,
    resolution: int | None = None,
    resolution_range: tuple[int, int] = (16, 224),
    val_fraction: float = 0.2,
    split_seed: int = 0,
    cache_dir: Path | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    progress: Progress | None = None,
    log: Callable[[str], None] | None = None,
) -> PreparedDataset:
    """Everything needed to train on a folder; DatasetError names the path and what to do.

    Without ``resolution`` the images' median shorter side is used, within ``resolution_range``.
    """
    scan = scan_folder(root)
    headers = read_headers(scan)
    size, channels = choose_resolution(headers.sizes, resolution, resolution_range), choose_channels(headers.modes)
    paths = [str(scan.root / e.path) for e in scan.entries]
    labels = np.array([e.label for e in scan.entries], dtype=np.int64)
    print_ = log or (lambda _text: None)
    digest = fingerprint(scan)
    decoded = None
    if len(paths) * channels * size * size <= memory_budget:
        decoded = _decoded(paths, size, channels, digest, cache_dir, progress, print_)
        usable = decoded.ok
        problems = decoded.problems
    else:
        print_(f"{counted(len(paths), 'image')} at {size}px exceed the memory budget: they will stream from disk")
        usable, problems = np.ones(len(paths), dtype=bool), ()
    seen = _sizes_seen(scan, decoded, headers)
    warnings = [*scan.warnings, *header_warnings(headers, seen)]
    if problems:
        # Each by its path in the folder, with why: one example of three left the user hunting for the other two.
        named = listed([f"{Path(path).relative_to(scan.root).as_posix()}: {reason}" for path, reason in problems], 3, "; ")
        were = "was" if len(problems) == 1 else "were"
        warnings.append(printable(f"{counted(len(problems), 'image')} could not be read and {were} skipped: {named}; "
                                  f"replace or remove {'it' if len(problems) == 1 else 'them'} to train on every image"))
    train_index, val_index = _split(scan, labels, usable, val_fraction, split_seed, dict(problems))
    if unvalidated := _unvalidated(scan.classes, labels, train_index, val_index):
        warnings.append(unvalidated)
    mean, std = _stats(decoded, paths, train_index, size, channels)
    # The summary is for people and schedule files: names that are not UTF-8 are shown with U+FFFD.
    classes = tuple(printable(c) for c in scan.classes)
    used = _used_counts(labels, train_index, val_index, len(classes))
    sizes = np.asarray(seen.sizes, dtype=np.int64).reshape(-1, 2)
    summary = DatasetSummary(
        name=printable(scan.root.name), root=printable(str(scan.root)), fingerprint=digest, classes=classes,
        class_counts=dict(zip(classes, used)), image_count=sum(used), presplit=scan.presplit, image_sizes=size_stats(sizes),
        size_counts=size_counts(sizes), sizes_read=len(sizes), resolution=size, channels=channels, mean=mean, std=std,
        unreadable=len(scan.entries) - sum(used),
    )
    return PreparedDataset(summary, scan, labels, train_index, val_index, decoded, warnings)


def prepare_configured(config, *, resolution_range: tuple[int, int] = (16, 224), cache_dir: Path | None = None,
                       log: Callable[[str], None] | None = None) -> PreparedDataset:
    """The dataset a TrainConfig trains on: its folder, resolution (automatic within ``resolution_range``: the
    model's, see ``engine.models.resolution_range``), split and memory budget."""
    return prepare_dataset(config.data, resolution=config.image_size or None, resolution_range=resolution_range,
                           val_fraction=config.val_fraction, split_seed=config.split_seed, cache_dir=cache_dir,
                           memory_budget=config.memory_budget_mb * MB, log=log)


def _decoded(paths, size, channels, digest, cache_dir, progress, log) -> Decoded:
    if cache_dir is not None:
        path = cache_file(Path(cache_dir), digest, size, channels)
        cached = load_decoded(path, len(paths), size, channels)
        if cached is not None:
            log(f"decoded images read from the cache {path}")
            return _named_here(cached, paths)
        for old in drop_older_caches(Path(cache_dir), digest, size, channels):
            log(f"decoding again: the cache {old} was written by an earlier lrscope, which kept no image's size (removed)")
    decoded = decode_all(paths, size, channels, progress)
    if cache_dir is not None and not save_decoded(path, decoded):
        log(f"the cache folder {cache_dir} is not writable: images will be decoded again next time")
    return decoded


def _sizes_seen(scan: FolderScan, decoded: Decoded | None, headers: Headers) -> ImageSizes:
    """Path and (width, height) of every usable image when the decode read them all, else of the header sample: the
    warning of elongated images looked at the sample alone, and missed one among 403 that the decode had measured."""
    if decoded is None:
        return headers
    paths = [entry.path for entry, ok in zip(scan.entries, decoded.ok.tolist()) if ok]
    return ImageSizes(paths, decoded.sizes[decoded.ok].tolist(), len(scan.entries), len(scan.entries))


def _named_here(decoded: Decoded, paths: list[str]) -> Decoded:
    """A cached decode's problems named by this folder's paths: a copy of a folder has the same files, so the same
    cache, and its warning named the original's file. Problems are kept in the order of the files that failed."""
    failed = np.flatnonzero(~decoded.ok)
    if len(failed) != len(decoded.problems):
        return decoded
    return replace(decoded, problems=tuple((paths[i], reason) for i, (_, reason) in zip(failed, decoded.problems)))


def _used_counts(labels: np.ndarray, train_index: np.ndarray, val_index: np.ndarray, classes: int) -> list[int]:
    """Images per class that train or validate. A schedule's dataset section counted every file found, so one tuned on
    a clean copy warned of 1799 images (and class '5' at 183) where 1797 train (182 of them '5'), as this copy does."""
    used = np.concatenate([train_index, val_index]).astype(np.int64)
    return np.bincount(labels[used], minlength=classes).tolist()


def _split(scan: FolderScan, labels, usable, val_fraction, seed, problems: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) indices of the usable images; DatasetError for a class none of whose images is usable, with
    the first one's reason (``problems``: the reason of each image skipped, by path): "replace the corrupt files" was
    said of a class of images each too large to decode (helper-92)."""
    usable_index = np.flatnonzero(usable)
    for label, name in enumerate(scan.classes):
        if not np.any(labels[usable_index] == label) and any(e.label == label for e in scan.entries):
            first = next(e.path for e in scan.entries if e.label == label)
            why = problems.get(str(scan.root / first), "")
            raise DatasetError(f"{scan.root / name}: none of the images of class {name!r} can be read"
                               + (f" ({Path(first).as_posix()}: {why})" if why else "") + "; replace or fix them")
    if scan.presplit:
        splits = np.array([e.split for e in scan.entries])
        train, val = usable_index[splits[usable_index] == "train"], usable_index[splits[usable_index] == "val"]
    else:
        train, val = (usable_index[i] for i in stratified_split(labels[usable_index], val_fraction, seed))
    if len(val) == 0:
        # Validation on nothing gives NaN for the whole run, silently: refuse with the reason instead.
        where = "val/ holds no image that can be read" if scan.presplit else "no class has two usable images"
        raise DatasetError(f"{scan.root}: {where}, so nothing is left to validate on; add images")
    return train, val


def _unvalidated(classes, labels, train_index, val_index) -> str:
    """Why some classes train but are never validated ("" when every class is): a class of one image trained, and the
    validation accuracy left it out without a word."""
    trained_only = set(labels[train_index].tolist()) - set(labels[val_index].tolist())
    names = [printable(name) for label, name in enumerate(classes) if label in trained_only]
    if not names:
        return ""
    which = f"class {names[0]} has" if len(names) == 1 else f"{len(names)} classes ({listed(names)}) have"
    return (f"{which} no validation image (too few to hold one out), so the validation accuracy does not measure "
            f"{'it' if len(names) == 1 else 'them'}; add images")


def _stats(decoded, paths, train_index, size, channels):
    """Channel mean/std from a sample of the training images."""
    chosen = train_index[sample_indices(len(train_index), STATS_SAMPLE)]
    if decoded is not None:
        return channel_stats(decoded.images[chosen])
    images = []
    for index in chosen[:256]:
        try:
            images.append(load_image(paths[index], size, channels))
        except BadImage:
            continue
    return channel_stats(np.stack(images) if images else np.zeros((0, channels, size, size), np.uint8))
