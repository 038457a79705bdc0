"""A small CNN for small images: three conv blocks, global average pooling and a linear head."""

from __future__ import annotations

import torch
from torch import nn

from .groups import ModuleGroups


class SmallCNN(nn.Module):
    """Five 3x3 conv layers with BatchNorm in three blocks, global average pooling and a linear head."""

    def __init__(self, in_channels: int, num_classes: int, width: int = 16):
        super().__init__()
        widths = (width, width * 2, width * 4)

        def conv(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        # One flat Sequential (not one per block) keeps the state-dict keys of weights saved before groups existed.
        self.features = nn.Sequential(
            *conv(in_channels, widths[0]), *conv(widths[0], widths[0]), nn.MaxPool2d(2),
            *conv(widths[0], widths[1]), *conv(widths[1], widths[1]), nn.MaxPool2d(2),
            *conv(widths[1], widths[2]), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Dropout(0.1), nn.Linear(widths[2], num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def build(channels: int, classes: int, resolution: int) -> SmallCNN:
    """The small CNN for ``channels``-channel images and ``classes`` classes."""
    return SmallCNN(channels, classes)


def groups(model: SmallCNN) -> ModuleGroups:
    """``block1`` (two convs), ``block2`` (two convs), ``block3`` (one conv), ``head``."""
    features = list(model.features)
    return [("block1", features[:7]), ("block2", features[7:14]), ("block3", features[14:]), ("head", [model.head])]
