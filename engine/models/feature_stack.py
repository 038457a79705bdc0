"""torchvision classifiers built as ``features`` + ``classifier`` (MobileNets, EfficientNet, ConvNeXt):
``stem``, the resolution stages of ``features``, ``head`` (the classifier)."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from .groups import ModuleGroups, feature_stages, torchvision_model

SMALL = 96  # below this side the stem's stride is halved (MobileNet's 3x3 keeps the image's size, ConvNeXt's 4x4 halves it)


def adapted(torchvision_name: str) -> Callable[..., nn.Module]:
    """A builder for a torchvision ``features`` network whose stem fits the images' channels and size.

    With ``pretrained`` the stem's weights are kept (the caller feeds three channels):
    a small image only changes the 3x3 stem's stride.
    """
    def build(channels: int, classes: int, resolution: int, pretrained: bool = False) -> nn.Module:
        model = torchvision_model(torchvision_name)(weights=None, num_classes=classes)
        stem = model.features[0][0]
        stride, padding = stem.stride, stem.padding
        if resolution < SMALL:
            stride = (max(1, stride[0] // 2),) * 2
            padding = ((stem.kernel_size[0] - stride[0] + 1) // 2,) * 2
        if channels != 3 and not pretrained:
            model.features[0][0] = nn.Conv2d(channels, stem.out_channels, stem.kernel_size, stride=stride,
                                             padding=padding, bias=stem.bias is not None)
        else:
            stem.stride, stem.padding = stride, padding
        return model
    return build


def groups(model: nn.Module) -> ModuleGroups:
    """The stem, one group per resolution stage of ``features``, the classifier as ``head``."""
    return [*feature_stages(model.features), ("head", [model.classifier])]


def convnext_groups(model: nn.Module) -> ModuleGroups:
    """ConvNeXt: the patchify stem, four stages (each with the downsampling layer before it), the classifier."""
    f = model.features
    return [("stem", [f[0]]), ("stage1", [f[1]]), ("stage2", [f[2], f[3]]), ("stage3", [f[4], f[5]]),
            ("stage4", [f[6], f[7]]), ("head", [model.classifier])]
