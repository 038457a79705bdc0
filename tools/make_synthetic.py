"""Generate image-classification datasets that are not in the repository, for checks and benchmarks.

    python tools/make_synthetic.py shapes OUT_DIR [--count 2000] [--seed 0]
    python tools/make_synthetic.py glyphs OUT_DIR [--count 2000] [--seed 0]

``shapes``: 8 classes of filled RGB shapes at random places, sizes and colours on
noisy backgrounds. ``glyphs``: the letters A-J in Pillow's bundled font, rotated,
scaled and shifted, in grayscale with noise. Both are ImageFolder trees of 32x32 PNGs.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SIDE = 32
SHAPES = ("circle", "square", "triangle", "diamond", "cross", "ring", "bar", "star")
LETTERS = "ABCDEFGHIJ"


def _polygon(kind: str, cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]]:
    corners = {"triangle": 3, "square": 4, "diamond": 4, "star": 10}[kind]
    turn = angle + (math.pi / 4 if kind == "diamond" else 0.0)
    points = []
    for i in range(corners):
        radius = r * (0.45 if kind == "star" and i % 2 else 1.0)
        a = turn + 2 * math.pi * i / corners
        points.append((cx + radius * math.cos(a), cy + radius * math.sin(a)))
    return points


def shape_image(kind: str, rng: np.random.Generator) -> Image.Image:
    """One shape on a noisy background."""
    background = rng.integers(0, 256, 3)
    noise = rng.normal(0, 18, (SIDE, SIDE, 3))
    image = Image.fromarray(np.clip(background + noise, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    colour = tuple(int(c) for c in (background + rng.integers(90, 166, 3)) % 256)
    r = rng.uniform(6, 12)
    cx, cy = rng.uniform(r, SIDE - r, 2)
    angle = rng.uniform(0, 2 * math.pi)
    box = (cx - r, cy - r, cx + r, cy + r)
    if kind == "circle":
        draw.ellipse(box, fill=colour)
    elif kind == "ring":
        draw.ellipse(box, outline=colour, width=3)
    elif kind == "cross":
        draw.line((cx - r, cy, cx + r, cy), fill=colour, width=4)
        draw.line((cx, cy - r, cx, cy + r), fill=colour, width=4)
    elif kind == "bar":
        dx, dy = r * math.cos(angle), r * math.sin(angle)
        draw.line((cx - dx, cy - dy, cx + dx, cy + dy), fill=colour, width=4)
    else:
        draw.polygon(_polygon(kind, cx, cy, r, angle), fill=colour)
    return image


def glyph_image(letter: str, rng: np.random.Generator, font: ImageFont.FreeTypeFont) -> Image.Image:
    """One letter, rotated and shifted, with noise."""
    canvas = Image.new("L", (SIDE * 2, SIDE * 2), 0)
    ImageDraw.Draw(canvas).text((SIDE, SIDE), letter, fill=255, font=font, anchor="mm")
    canvas = canvas.rotate(rng.uniform(-25, 25), resample=Image.Resampling.BILINEAR)
    scale = rng.uniform(0.75, 1.15)
    side = int(SIDE * 2 / scale)
    dx, dy = rng.integers(-5, 6, 2)
    left = (SIDE * 2 - side) // 2 + dx
    top = (SIDE * 2 - side) // 2 + dy
    crop = canvas.crop((left, top, left + side, top + side)).resize((SIDE, SIDE), Image.Resampling.BILINEAR)
    values = np.asarray(crop, dtype=np.float64) * rng.uniform(0.5, 1.0) + rng.normal(0, 20, (SIDE, SIDE))
    return Image.fromarray(np.clip(values, 0, 255).astype(np.uint8), "L")


def write(out: Path, classes: tuple[str, ...], make, count: int) -> None:
    """``count`` images spread evenly over ``classes``."""
    for index in range(count):
        name = classes[index % len(classes)]
        (out / name).mkdir(parents=True, exist_ok=True)
        make(name).save(out / name / f"{index:05d}.png")


def main() -> None:
    """Write one dataset."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("shapes", "glyphs"))
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    if args.kind == "shapes":
        write(args.out, SHAPES, lambda name: shape_image(name, rng), args.count)
    else:
        font = ImageFont.load_default(size=40)
        write(args.out, tuple(LETTERS), lambda name: glyph_image(name, rng, font), args.count)
    print(f"wrote {args.count} {args.kind} images under {args.out}")


if __name__ == "__main__":
    main()
