"""timm classifiers (an optional extra): ``--model timm:NAME``, pretrained from timm's cache or a local file,
grouped by timm's own layer grouping (``group_matcher``) where the model has one."""

from __future__ import annotations

import os

from torch import nn

from ..errors import ConfigError, WeightsMissing, first_line
from ..text import whose
from .groups import HEAD
from .pretrained import OFFLINE, InputSpec

PREFIX = "timm:"


def is_timm(model: str) -> bool:
    """Whether ``model`` names a timm model (``timm:NAME``)."""
    return model.startswith(PREFIX)


def _timm():
    try:
        import timm
    except ImportError:
        raise ConfigError("model", "timm models need the timm package: pip install 'lrscope[timm]'") from None
    return timm


def _name(model: str) -> str:
    name = model[len(PREFIX):]
    if not _timm().is_model(name):
        raise ConfigError("model", f"timm has no model {name!r} (timm.list_models() lists them)")
    return name


def input_spec(model: str) -> InputSpec:
    """The mean, std and input size of the model's pretrained configuration."""
    timm = _timm()
    config = timm.data.resolve_data_config({}, pretrained_cfg=timm.models.get_pretrained_cfg(_name(model)).to_dict())
    return InputSpec(tuple(config["mean"]), tuple(config["std"]), int(config["input_size"][-1]))


def named_groups(model: nn.Module) -> dict[str, list[nn.Parameter]]:
    """timm's coarse layer groups as ``stem``, ``stage1``…, ``head`` (the last group holds the classifier);
    a model without a grouping gets ``body`` and ``head``."""
    from timm.models import group_parameters

    params = dict(model.named_parameters())
    try:
        ids = group_parameters(model, model.group_matcher(coarse=True))
    except (NotImplementedError, AttributeError):
        head = {id(p) for p in model.get_classifier().parameters()}
        ids = {0: [n for n, p in params.items() if id(p) not in head], 1: [n for n, p in params.items() if id(p) in head]}
    names = [params_names for _, params_names in sorted(ids.items()) if params_names]
    labels = ["stem", *(f"stage{i}" for i in range(1, len(names) - 1)), HEAD] if len(names) > 2 else ["body", HEAD][-len(names):]
    return {label: [params[n] for n in group] for label, group in zip(labels, names)}


def setup(model: str, *, channels: int, classes: int, pretrained: str, weights_file: str, load: bool):
    """A timm model for the data, pretrained from timm's cache (or ``weights_file``) when asked."""
    from .setup import ModelSetup

    timm, name = _timm(), _name(model)
    in_chans = 3 if pretrained else channels
    overlay = {"file": str(weights_file)} if weights_file else None
    if pretrained and os.environ.get(OFFLINE):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        built = timm.create_model(name, pretrained=bool(pretrained) and load, num_classes=classes, in_chans=in_chans,
                                  pretrained_cfg_overlay=overlay)
    except (OSError, RuntimeError, ValueError) as error:
        raise WeightsMissing(f"timm could not load {whose(name)} pretrained weights ({first_line(error)}): download them "
                             "where there is a network (they are kept in the Hugging Face cache)") from None
    source = (weights_file or f"timm {name}") if pretrained else weights_file
    return ModelSetup(built, named_groups(built), input_spec(model) if pretrained else None, source,
                      f"{model}: pretrained weights {source}" if pretrained else "")
