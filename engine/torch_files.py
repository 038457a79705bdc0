"""Loading PyTorch files that may be hostile: regular files only, weights only, refusals in one line."""

from __future__ import annotations

import errno
import re
import warnings
from pathlib import Path
from typing import Any

import torch

from .errors import first_line
from .files import NotARegularFile, open_regular

# The tag of lrscope's own checkpoints: the store writes it, and loading weights recognizes a checkpoint by it
# (here, beside the loading both do, so that the models need not import the store).
CHECKPOINT_FORMAT = "lrscope.checkpoint"


# torch's file writer says a short write (a full disk, a quota, a file-size limit) in its own words, with no errno:
# "[enforce fail at inline_container.cc:…] . unexpected pos …", "basic_ios::clear: iostream error", "… file write failed".
SHORT_WRITE = ("unexpected pos", "iostream error", "write failed")


class Refused(Exception):
    """A file torch will not load (or that is not a file); the message says why in one line."""


def _reason(error: Exception) -> str:
    """Torch's several-paragraph refusal turned into what the user needs to know."""
    text = str(error)
    found = re.search(r"GLOBAL ([\w.]+)", text)
    if found:
        return f"it holds Python objects ({found.group(1)}), not only tensors and plain data, so it was not loaded"
    # What torch raises for a file that is not one of its own, or is cut short, varies with the bytes: a seek past
    # the end (EINVAL), a legacy-format magic number it looks up (KeyError '101' for a text file), a broken archive.
    not_torch = (EOFError, KeyError, UnicodeDecodeError)
    if ("Weights only load failed" in text or "zip archive" in text or "central directory" in text or isinstance(error, not_torch)
            or (isinstance(error, OSError) and error.errno == errno.EINVAL)):
        return "it is truncated or not a PyTorch file"
    return first_line(error)


def save_tensors(payload: Any, path: Path | str) -> None:
    """``torch.save(payload, path)``; a write the disk cut short is an OSError naming ``path``, as Python's own are."""
    try:
        torch.save(payload, path)
    except RuntimeError as error:
        if not any(words in str(error) for words in SHORT_WRITE):
            raise
        raise OSError(errno.ENOSPC, "the disk is full or the file is over a size limit", str(path)) from None


def load_tensors(path: Path | str) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU; Refused for anything else than a loadable regular file.

    FileNotFoundError passes through, so callers can say "no such file" their way.
    """
    try:
        # torch warns in several lines about pickle protocols before it refuses; the refusal says enough.
        with warnings.catch_warnings(), open_regular(path) as handle:
            warnings.simplefilter("ignore")
            return torch.load(handle, map_location="cpu", weights_only=True)
    except (FileNotFoundError, NotARegularFile):
        raise
    except Exception as error:  # a truncated, hand-edited or hostile file makes torch raise many kinds
        raise Refused(_reason(error)) from None
