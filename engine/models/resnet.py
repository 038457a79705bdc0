"""torchvision ResNets adapted to the data: ``stem``, ``stage1`` … ``stage4``, ``head``."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from .groups import ModuleGroups, torchvision_model

SMALL = 96  # below this side the ImageNet stem (which divides the image by 4) keeps the image's size


def adapted(torchvision_name: str) -> Callable[..., nn.Module]:
    """A builder for a torchvision ResNet whose stem fits the images' channels and size.

    With ``pretrained`` the 7x7 stem keeps its weights (the caller feeds three channels):
    a small image only loses the stem's stride and max-pooling.
    """
    def build(channels: int, classes: int, resolution: int, pretrained: bool = False) -> nn.Module:
        model = torchvision_model(torchvision_name)(weights=None, num_classes=classes)
        small = resolution < SMALL
        if pretrained:
            if small:
                model.conv1.stride = (1, 1)
                model.maxpool = nn.Identity()
        elif small:
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
