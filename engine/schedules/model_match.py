"""What differs between the model a schedule was tuned with and the one it is about to drive."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from typing import Any


def model_differences(context: dict[str, Any] | None, model: str, groups: Sequence[str], weights: str, optimizer: str) -> list[str]:
    """One line per difference in model, parameter groups, starting weights or optimizer (empty when they match or the file
    does not say).

    Groups matter most: the schedule drives them by name, so a group it names that the
    model lacks cannot be trained (the run refuses it), and one it does not name falls to ``all``.
    """
    if not context:
        return []
    lines = []
    tuned_model, tuned_groups = context.get("model"), context.get("groups")
    if isinstance(tuned_model, str) and tuned_model != model:
        lines.append(f"model: tuned on {tuned_model}, this run trains {model}")
    if isinstance(tuned_groups, list) and [str(g) for g in tuned_groups] != list(groups):
        lines.append(f"parameter groups: tuned with {', '.join(map(str, tuned_groups))}; this model has {', '.join(groups)}")
    tuned_weights = context.get("weights")
    if isinstance(tuned_weights, str) and tuned_weights != weights:
        lines.append(f"starting weights: tuned from {tuned_weights or 'random initialization'}, "
                     f"this run starts from {weights or 'random initialization'}")
    tuned_optimizer = (context.get("optimizer") or {}).get("name") if isinstance(context.get("optimizer"), dict) else None
    if isinstance(tuned_optimizer, str) and tuned_optimizer != optimizer:
        # The LR scale is the optimizer's: Adam's good LRs lie one to two decades below SGD's.
        lines.append(f"optimizer: tuned with {tuned_optimizer}, this run uses {optimizer}; their LRs are not interchangeable")
    return lines


def options_as_tuned(context: dict[str, Any] | None, model: str, weights: str) -> str:
    """The options of `lrscope train` that start from the model and weights a schedule was tuned with ("" when they
    match or the file does not say): a fine-tune's file, refused on the default small CNN, advised --accept-mismatch
    alone, which trains a model the schedule's groups do not fit (helper-123)."""
    if not context:
        return ""
    options = []
    tuned_model, tuned_weights = context.get("model"), context.get("weights")
    if isinstance(tuned_model, str) and tuned_model != model:
        options.append(f"--model {shlex.quote(tuned_model)}")
    if isinstance(tuned_weights, str) and tuned_weights and tuned_weights != weights:
        if enum_member := re.fullmatch(r"\w+_Weights\.(\w+)", tuned_weights):  # torchvision's, as the file names them
            options.append(f"--pretrained {enum_member.group(1)}")
        elif tuned_weights.startswith("timm "):
            options.append("--pretrained")
        else:
            options.append(f"--weights {shlex.quote(tuned_weights)}")
    return " ".join(options)
