"""torchvision MobileNets adapted to the data: ``stem``, stages of ``features``, ``head`` (the classifier)."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from .groups import ModuleGroups, feature_stages, torchvision_model


def adapted(torchvision_name: str) -> Callable[[int, int, int], nn.Module]:
    """A builder for a torchvision MobileNet whose first conv fits the images' channels and size."""
    def build(channels: int, classes: int, resolution: int) -> nn.Module:
        model = torchvision_model(torchvision_name)(weights=None, num_classes=classes)
        stem = model.features[0][0]
        stride = 1 if resolution < 96 else 2
        if channels != 3 or stride != 2:
            model.features[0][0] = nn.Conv2d(channels, stem.out_channels, 3, stride=stride, padding=1, bias=False)
        return model
    return build


def groups(model: nn.Module) -> ModuleGroups:
    """The stem, one group per resolution stage of ``features``, the classifier as ``head``."""
    return [*feature_stages(model.features), ("head", [model.classifier])]
