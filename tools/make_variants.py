"""Build held-out variants of the bundled digits sample, for the tuning-quality study (never bundled).

    python tools/make_variants.py OUT_DIR [--seed 0] [--only NAME ...]

Each variant is an ImageFolder tree under ``OUT_DIR/NAME``. Those that need a validation set
unlike their training set are written pre-split (``train/`` and ``val/``):

- ``small``: 15 training images per class (150 in all); 40 per class to validate on.
- ``noisy-labels``: 35% of the training labels moved to another class at random; validation clean.
- ``distorted``: every image rotated (±35°), rescaled, shifted, blurred, dimmed and noised.
- ``long-tail``: training classes from 140 images down to 7 (each 0.72x the one before); validation
  balanced (35 per class), as a test set usually is.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lrscope.samples import sample

SAMPLE = sample("digits")
VARIANTS = ("small", "noisy-labels", "distorted", "long-tail")
FLIP_FRACTION = 0.35
TAIL_HEAD, TAIL_RATIO = 140, 0.72


def read_sample() -> tuple[list[str], list[list[Path]]]:
    """Class names and each class's image paths, sorted."""
    classes = sorted(p.name for p in SAMPLE.iterdir() if p.is_dir())
    return classes, [sorted((SAMPLE / name).glob("*.png")) for name in classes]


def split_class(paths: list[Path], val: int, rng: np.random.Generator) -> tuple[list[Path], list[Path]]:
    """(train, val) with ``val`` images held out, chosen by ``rng``."""
    order = rng.permutation(len(paths))
    return [paths[i] for i in order[val:]], [paths[i] for i in order[:val]]


def copy_to(paths: list[Path], folder: Path, transform=None) -> None:
    """Copy (or transform and write) images into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in paths:
        if transform is None:
            shutil.copyfile(path, folder / path.name)
        else:
            transform(Image.open(path)).save(folder / path.name)


def small(out: Path, rng: np.random.Generator) -> None:
    """15 training and 40 validation images per class."""
    classes, members = read_sample()
    for name, paths in zip(classes, members):
        train, val = split_class(paths, 40, rng)
        copy_to(train[:15], out / "train" / name)
        copy_to(val, out / "val" / name)


def noisy_labels(out: Path, rng: np.random.Generator) -> None:
    """A fifth held out clean; of the rest, 35% filed under a wrong class."""
    classes, members = read_sample()
    for label, (name, paths) in enumerate(zip(classes, members)):
        train, val = split_class(paths, len(paths) // 5, rng)
        copy_to(val, out / "val" / name)
        for path in train:
            target = label
            if rng.random() < FLIP_FRACTION:
                target = (label + rng.integers(1, len(classes))) % len(classes)
            copy_to([path], out / "train" / classes[target])


def distort(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A strong, random distortion of one digit."""
    side = image.size[0]
    scale = rng.uniform(0.75, 1.25)
    resized = image.resize((max(8, int(side * scale)),) * 2, Image.Resampling.BILINEAR)
    canvas = Image.new("L", (side * 2, side * 2), 0)
    canvas.paste(resized, ((side * 2 - resized.size[0]) // 2, (side * 2 - resized.size[1]) // 2))
    canvas = canvas.rotate(rng.uniform(-35, 35), resample=Image.Resampling.BILINEAR)
    dx, dy = rng.integers(-5, 6, 2)
    crop = canvas.crop((side // 2 + dx, side // 2 + dy, side // 2 + dx + side, side // 2 + dy + side))
    crop = crop.filter(ImageFilter.GaussianBlur(radius=rng.uniform(0.0, 1.5)))
    values = np.asarray(crop, dtype=np.float64) * rng.uniform(0.35, 1.0) + rng.uniform(0, 60)
    values += rng.normal(0, 30, values.shape)
    return Image.fromarray(np.clip(values, 0, 255).astype(np.uint8), "L")


def distorted(out: Path, rng: np.random.Generator) -> None:
    """Every image distorted (not pre-split: lrscope's own split applies)."""
    classes, members = read_sample()
    for name, paths in zip(classes, members):
        copy_to(paths, out / name, lambda image: distort(image, rng))


def long_tail(out: Path, rng: np.random.Generator) -> None:
    """Training classes shrinking geometrically from 140 images; 35 per class to validate on."""
    classes, members = read_sample()
    order = rng.permutation(len(classes))
    for rank, index in enumerate(order):
        train, val = split_class(members[index], 35, rng)
        count = max(1, round(TAIL_HEAD * TAIL_RATIO**rank))
        copy_to(train[:count], out / "train" / classes[index])
        copy_to(val, out / "val" / classes[index])


BUILDERS = {"small": small, "noisy-labels": noisy_labels, "distorted": distorted, "long-tail": long_tail}


def build(out: Path, names: tuple[str, ...] = VARIANTS, seed: int = 0) -> dict[str, Path]:
    """Write the chosen variants under ``out`` (each from its own seed); returns their folders."""
    folders = {}
    for offset, name in enumerate(VARIANTS):
        if name not in names:
            continue
        target = out / name
        if target.exists():
            shutil.rmtree(target)
        BUILDERS[name](target, np.random.default_rng(seed * 100 + offset))
        folders[name] = target
    return folders


def main() -> None:
    """Write the variants."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    args = parser.parse_args()
    for name, folder in build(args.out, tuple(args.only), args.seed).items():
        print(f"{name}: {sum(1 for _ in folder.rglob('*.png'))} images under {folder}")


if __name__ == "__main__":
    main()
