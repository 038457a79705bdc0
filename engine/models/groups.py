"""Layer groups: a model's parameters split into named groups, from input to output, the last one ``head``.

Schedules address these groups by name (discriminative LRs, freezing), so every
parameter belongs to exactly one group and the names are stable per model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import nn

from ..schedules.groups import ALL as RESERVED  # a schedule's name for every group at once
from ..schedules.groups import HEAD
from ..text import listed

ModuleGroups = list[tuple[str, Sequence[nn.Module]]]


def layer_groups(model: nn.Module, groups: ModuleGroups) -> dict[str, list[nn.Parameter]]:
    """The parameters of each named group of modules, in order; ValueError if the groups do not fit the model."""
    names = [name for name, _ in groups]
    if not names or names[-1] != HEAD:
        raise ValueError(f"the last layer group must be {HEAD!r}, got {names}")
    if len(set(names)) != len(names) or RESERVED in names:
        raise ValueError(f"layer group names must be unique and not {RESERVED!r}, got {names}")
    result: dict[str, list[nn.Parameter]] = {}
    seen: set[int] = set()
    for name, modules in groups:
        params = [p for module in modules for p in module.parameters()]
        if any(id(p) in seen for p in params):
            raise ValueError(f"layer group {name!r} shares parameters with an earlier group")
        seen.update(id(p) for p in params)
        result[name] = params
    missing = [n for n, p in model.named_parameters() if id(p) not in seen]
    if missing:
        raise ValueError(f"parameters in no layer group: {listed(missing)}")
    return result


def _downsamples(module: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) and max(m.stride) > 1 for m in module.modules())


def feature_stages(features: nn.Sequential) -> ModuleGroups:
    """``stem``, then ``stage1``, ``stage2``…: a stage starts at each block that halves the resolution.

    Fits torchvision's ``features`` stacks (MobileNet, EfficientNet, ConvNeXt): the
    first block is the stem whatever its stride (small images get a stride-1 stem).
    """
    groups: ModuleGroups = [("stem", [features[0]])]
    for block in list(features)[1:]:
        if _downsamples(block):
            groups.append((f"stage{len(groups)}", []))
        groups[-1][1].append(block)
    return groups


def torchvision_model(name: str) -> Callable[..., nn.Module]:
    """torchvision's constructor ``name``, imported only when a model is built (torchvision is slow to import)."""
    from torchvision import models

    return getattr(models, name)
