"""A few images of each class, small and ready to show."""

from __future__ import annotations

import numpy as np

from .dataset import PreparedDataset
from .images import BadImage, load_image

SIDE = 48


def sample_thumbnails(dataset: PreparedDataset, per_class: int = 3, side: int = SIDE) -> list[tuple[str, np.ndarray]]:
    """(class name, uint8 array H x W x C) for up to ``per_class`` images of each class."""
    out = []
    for label, name in enumerate(dataset.summary.classes):
        members = np.flatnonzero(dataset.labels == label)[:per_class]
        for index in members:
            if dataset.decoded is not None and dataset.decoded.ok[index]:
                image = dataset.decoded.images[index]
            else:
                try:
                    image = load_image(dataset.paths[index], side, dataset.summary.channels)
                except BadImage:
                    continue
            out.append((name, np.ascontiguousarray(image.transpose(1, 2, 0))))
    return out
