"""How samples are divided: a seeded, stratified train/val split, and training batches per epoch."""

from __future__ import annotations

import numpy as np

from ..text import counted


def stratified_split(labels: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val): each class contributes ``val_fraction`` of its images to val, chosen by ``seed``."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        members = members[rng.permutation(len(members))]
        count = int(round(len(members) * val_fraction))
        if val_fraction > 0 and len(members) > 1:
            count = min(max(count, 1), len(members) - 1)
        val.append(members[:count])
        train.append(members[count:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def training_batches_per_epoch(samples: int, batch_size: int) -> int:
    """Full batches per training epoch (a last partial batch is dropped; at least one)."""
    return max(1, samples // batch_size)


def left_over(samples: int, batch_size: int) -> str:
    """What full batches leave out of each epoch, when it is a share worth a word ("" otherwise): 150 images at batch 64
    trained on 128 an epoch, and nothing said so."""
    batches = samples // batch_size
    rest = samples - batches * batch_size
    if not batches or rest < LEFT_OVER_SHARE * samples:
        return ""
    return (f"each epoch trains on {batches * batch_size} of the {counted(samples, 'training image')} ({counted(batches, 'batch')} "
            f"of {batch_size}): the {rest} left over are others each epoch, as the order is shuffled")


LEFT_OVER_SHARE = 0.05


def batch_past_the_data(samples: int, batch_size: int) -> str:
    """Why a batch bigger than the training images is worth a word ("" when it is not): each epoch is then one step of
    all of them, which trained without a word."""
    if batch_size <= samples:
        return ""
    return (f"the batch size {batch_size} is more than the {counted(samples, 'training image')}, so each epoch is 1 step of "
            f"all of them (batch size {samples})")
