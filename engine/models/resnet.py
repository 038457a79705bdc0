"""torchvision ResNets adapted to the data: ``stem``, ``stage1`` … ``stage4``, ``head``."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from .groups import ModuleGroups, torchvision_model


def adapted(torchvision_name: str) -> Callable[[int, int, int], nn.Module]:
    """A builder for a torchvision ResNet whose stem fits the images' channels and size."""
    def build(channels: int, classes: int, resolution: int) -> nn.Module:
        model = torchvision_model(torchvision_name)(weights=None, num_classes=classes)
        if resolution < 96:
            # The ImageNet stem divides the image by 4 before the first block; small images keep their size.
            model.conv1 = nn.Conv2d(channels, 64, 3, stride=1, padding=1, bias=False)
            model.maxpool = nn.Identity()
        elif channels != 3:
            model.conv1 = nn.Conv2d(channels, 64, 7, stride=2, padding=3, bias=False)
        return model
    return build


def groups(model: nn.Module) -> ModuleGroups:
    """The stem (first conv and its BatchNorm), the four residual stages, the classifier."""
    return [("stem", [model.conv1, model.bn1]), ("stage1", [model.layer1]), ("stage2", [model.layer2]),
            ("stage3", [model.layer3]), ("stage4", [model.layer4]), ("head", [model.fc])]
