"""A small line chart drawn with Pillow, so `lrscope schedule plot` needs no display and no Qt."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# matplotlib's tab10, cycled: a fine-tune has a group per stage (six or more), and a series without a colour was dropped.
COLOURS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75), (227, 119, 194),
           (127, 127, 127), (188, 189, 34), (23, 190, 207))
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 900, 480, 80, 20, 56, 50
KEY_COLUMNS, KEY_WIDTH, KEY_LINE = 6, 130, 14


def _ticks(low: float, high: float, log: bool) -> list[float]:
    if log:
        return [10.0**e for e in range(math.floor(low), math.ceil(high) + 1) if low <= e <= high]
    span = high - low or 1.0
    step = 10 ** math.floor(math.log10(span / 5))
    step *= 5 if span / step > 25 else (2 if span / step > 10 else 1)
    return list(np.arange(math.ceil(low / step) * step, high + step / 2, step))


def line_chart(path: Path, x: np.ndarray, series: dict[str, np.ndarray], *, title: str, xlabel: str,
               ylabel: str, log_y: bool = False) -> Path:
    """Write a PNG with one line per series (shared x) and return its path."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=13)  # the default 10 px ran "LR schedule" together
    values = np.concatenate([v[np.isfinite(v) & ((v > 0) if log_y else True)] for v in series.values()])
    transform = np.log10 if log_y else (lambda v: v)
    low, high = (float(transform(values.min())), float(transform(values.max()))) if len(values) else (0.0, 1.0)
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    x_low, x_high = float(x.min()), float(max(x.max(), x.min() + 1))

    def to_px(xv, yv):
        px = LEFT + (xv - x_low) / (x_high - x_low) * (WIDTH - LEFT - RIGHT)
        py = HEIGHT - BOTTOM - (transform(yv) - low) / (high - low) * (HEIGHT - TOP - BOTTOM)
        return px, py

    draw.rectangle((LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM), outline=(120, 120, 120))
    for tick in _ticks(low, high, log_y):
        _, py = to_px(x_low, tick)
        draw.line((LEFT, py, WIDTH - RIGHT, py), fill=(230, 230, 230))
        draw.text((LEFT - 6, py), f"{tick:.3g}", fill="black", font=font, anchor="rm")
    for tick in _ticks(x_low, x_high, False):
        px, _ = to_px(tick, 10**low if log_y else low)
        draw.text((px, HEIGHT - BOTTOM + 6), f"{tick:.6g}", fill="black", font=font, anchor="mt")
    colours = [COLOURS[index % len(COLOURS)] for index in range(len(series))]
    for values_, colour in zip(series.values(), colours):
        keep = np.isfinite(values_) & ((values_ > 0) if log_y else True)
        points = [to_px(a, b) for a, b in zip(x[keep], values_[keep])]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
    for index, (name, colour) in enumerate(zip(series, colours)):
        # A drawn swatch: the default font has no dash glyph (it showed a box).
        kx, ky = LEFT + 20 + KEY_WIDTH * (index % KEY_COLUMNS), 22 + KEY_LINE * (index // KEY_COLUMNS)
        draw.line((kx, ky + 6, kx + 16, ky + 6), fill=colour, width=2)
        draw.text((kx + 20, ky), name, fill=colour, font=font)
    draw.text((WIDTH / 2, 6), title, fill="black", font=font, anchor="mt")
    draw.text((WIDTH / 2, HEIGHT - 14), xlabel, fill="black", font=font, anchor="mm")
    draw.text((8, 22), ylabel, fill="black", font=font)  # on the key's first row: just above the frame, the top tick's label covered it
    image.save(path)
    return Path(path)
