"""Write the bundled sample datasets from scikit-learn's copy of the UCI digits.

Run once by a maintainer (scikit-learn is a tool dependency, not a runtime one):

    python tools/make_digits.py resources/datasets

It writes two ImageFolder trees of the same 1,797 images:
``digits/`` (the originals, upscaled from 8x8 to 32x32 grayscale) and
``digits-camera2/`` (the same digits "taken by another camera": blurred, lower
contrast, shifted by a few pixels and with sensor noise, from a fixed seed).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

SIDE = 32
CAMERA2_SEED = 20260101


def original_image(pixels_8x8: np.ndarray) -> Image.Image:
    """One digit as a 32x32 grayscale image (ink white on black, as in the source)."""
    levels = np.clip(pixels_8x8 * (255.0 / 16.0), 0, 255).astype(np.uint8)
    return Image.fromarray(levels, mode="L").resize((SIDE, SIDE), Image.Resampling.BICUBIC)


def camera2_image(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The same digit through a blurrier, noisier, lower-contrast camera."""
    blurred = image.filter(ImageFilter.GaussianBlur(radius=1.0))
    dx, dy = rng.integers(-3, 4, size=2)
    shifted = np.roll(np.asarray(blurred, dtype=np.float64), (int(dy), int(dx)), axis=(0, 1))
    low_contrast = 40.0 + shifted * 0.6
    noisy = low_contrast + rng.normal(0.0, 10.0, size=shifted.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), mode="L")


def write_variant(root: Path, images: list[Image.Image], targets: np.ndarray) -> None:
    """Write an ImageFolder tree: root/<class>/<index>.png."""
    if root.exists():
        shutil.rmtree(root)
    for index, (image, target) in enumerate(zip(images, targets)):
        class_dir = root / str(int(target))
        class_dir.mkdir(parents=True, exist_ok=True)
        image.save(class_dir / f"digit_{index:04d}.png", optimize=True)


def main() -> None:
    """Write both variants under the given directory."""
    from sklearn.datasets import load_digits

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="directory to write digits/ and digits-camera2/ into")
    out = parser.parse_args().out
    digits = load_digits()
    originals = [original_image(pixels) for pixels in digits.images]
    rng = np.random.default_rng(CAMERA2_SEED)
    camera2 = [camera2_image(image, rng) for image in originals]
    write_variant(out / "digits", originals, digits.target)
    write_variant(out / "digits-camera2", camera2, digits.target)
    print(f"wrote {len(originals)} images per variant under {out}")


if __name__ == "__main__":
    main()
