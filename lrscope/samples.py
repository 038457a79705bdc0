"""Where the bundled sample datasets are, wherever lrscope runs from.

A checkout (and an editable install) keeps them in the top-level resources/datasets. An installed package has no
folder beside it to look in, so the built package carries a copy inside this one (setup.py puts it there).
"""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def samples_folder() -> Path:
    """The folder of the sample datasets (digits, digits-camera2) and their ATTRIBUTION.md."""
    installed = _PACKAGE / "datasets"
    return installed if installed.is_dir() else _PACKAGE.parent / "resources" / "datasets"


def sample(name: str = "digits") -> Path:
    """The sample dataset called `name` (digits or digits-camera2)."""
    return samples_folder() / name
