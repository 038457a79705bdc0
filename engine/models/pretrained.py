"""Pretrained weights the ecosystem's way: torchvision's weights enums, read from the torch hub cache.

The cache is torch's own (``$TORCH_HOME/hub/checkpoints``, by default ``~/.cache/torch/hub``),
so weights a user already has are found, and a download happens only where there is a
network (never with ``$LRSCOPE_OFFLINE`` set). Files are read with ``weights_only=True``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch

from ..config import PRETRAINED_AUTO as AUTO
from ..errors import ConfigError, WeightsMissing, first_line
from ..files import open_regular

OFFLINE = "LRSCOPE_OFFLINE"


@dataclass(frozen=True)
class InputSpec:
    """How images must look to pretrained weights: their normalization and native resolution."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    resolution: int


def weights_enum(model: str):
    """torchvision's weights enum of ``model`` (e.g. MobileNet_V2_Weights)."""
    from torchvision.models import get_model_weights

    return get_model_weights(model)


def hub_file(weights) -> Path:
    """Where torch hub keeps (or would keep) the file of ``weights``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(weights.url).path)


def choose_weights(model: str, choice: str):
    """The weights ``choice`` names (an enum member such as IMAGENET1K_V1, or DEFAULT).

    ``auto`` takes the default weights, unless only another of the model's weights is in the
    hub cache: then those, so a populated cache is used rather than a download.
    """
    enum = weights_enum(model)
    if choice != AUTO:
        try:
            return enum[choice]
        except KeyError:
            names = ", ".join(["DEFAULT", *(name for name in enum.__members__ if name != "DEFAULT")])  # an alias, listed once
            raise ConfigError("pretrained", f"{model} has no weights {choice!r}; choose one of {names}") from None
    default = enum.DEFAULT
    cached = [w for w in (default, *reversed(list(enum))) if hub_file(w).is_file()]
    return cached[0] if cached else default


def describe(weights) -> str:
    """The weights' name as torchvision spells it, e.g. ``MobileNet_V2_Weights.IMAGENET1K_V1``."""
    return f"{type(weights).__name__}.{weights.name}"


def input_spec(weights) -> InputSpec:
    """The mean, std and crop size of the weights' own transforms."""
    transforms = weights.transforms()
    return InputSpec(tuple(transforms.mean), tuple(transforms.std), int(transforms.crop_size[0]))


def check_hash(path: Path) -> None:
    """ConfigError unless the file's SHA-256 starts with the hash in its name (torch hub's rule for downloads)."""
    match = torch.hub.HASH_REGEX.search(path.name)
    if match is None:
        return
    digest = hashlib.sha256()
    with open_regular(path) as handle:  # never a FIFO: hashing it would wait forever
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if not digest.hexdigest().startswith(match.group(1)):
        raise ConfigError("pretrained", f"{path}: its SHA-256 does not start with {match.group(1)} as its name says: "
                                        "the file is damaged or not the published one; delete it and download it again")


def missing(weights, reason: str) -> WeightsMissing:
    """The error for weights that are neither cached nor downloadable here."""
    path = hub_file(weights)
    return WeightsMissing(f"{describe(weights)} needs the file {path.name}, which is not in the torch hub cache "
                          f"{path.parent} ({reason}): download {weights.url} and put it in that folder "
                          "(or set $TORCH_HOME to the folder above hub/)")


def not_cached(weights) -> str:
    """A line saying that ``weights`` are not in the torch hub cache yet, so that a run must download them first (and
    what to do on a machine without a network); "" when they are there."""
    path = hub_file(weights)
    if path.is_file():
        return ""
    if os.environ.get(OFFLINE):
        return (f"{describe(weights)} is not in the torch hub cache and ${OFFLINE} is set, so Start cannot download it: "
                f"put {weights.url} in {path.parent} first")
    return (f"{describe(weights)} is not in the torch hub cache yet: Start downloads {path.name} into {path.parent}; "
            f"without a network, download {weights.url} there first")


def read_hub_weights(weights) -> dict[str, torch.Tensor]:
    """The state dict of ``weights``, through torchvision's own loader: from the hub cache, or downloaded into it."""
    path = hub_file(weights)
    if path.is_file():
        check_hash(path)
    elif os.environ.get(OFFLINE):
        raise missing(weights, f"${OFFLINE} is set, so nothing is downloaded")
    try:
        with contextlib.redirect_stdout(sys.stderr):  # torch hub announces downloads on stdout, which --json keeps clean
            return weights.get_state_dict(progress=False, check_hash=True, weights_only=True)
    except OSError as error:  # no network (URLError is an OSError), a full disk
        raise missing(weights, f"downloading failed: {first_line(error)}") from None
    except Exception as error:
        raise ConfigError("pretrained", f"{path}: cannot be read as weights ({first_line(error)}); delete it and "
                                        "download it again") from None
