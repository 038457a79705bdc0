"""`lrscope schedule plot`'s chart draws every group: a fine-tune has six or more, and the sixth was dropped."""

import numpy as np
from PIL import Image

from engine.schedules.chart import COLOURS, line_chart


def test_every_series_is_drawn_in_a_colour_of_its_own(tmp_path):
    names = ("stem", "stage1", "stage2", "stage3", "stage4", "head", "extra")
    steps = np.arange(50.0)
    series = {name: (index + 1) * 0.01 * np.linspace(1, 2, 50) for index, name in enumerate(names)}
    path = line_chart(tmp_path / "chart.png", steps, series, title="LR schedule", xlabel="step", ylabel="LR", log_y=True)
    pixels = {tuple(p) for p in np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3)}
    assert all(COLOURS[index] in pixels for index in range(len(names)))
