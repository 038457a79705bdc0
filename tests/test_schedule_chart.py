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


def test_the_plot_of_a_schedule_whose_groups_train_alike_draws_one_line_not_four_names_over_it(tmp_path, capsys):
    """The key listed block1 … head over the one visible line (the head's, drawn last)."""
    from helpers import cli

    from engine.schedules import RunSchedule, Timeline, save_schedule, schedule_document
    from engine.schedules.presets import preset

    groups = ["block1", "block2", "block3", "head"]  # as a run's export names them
    path = save_schedule(tmp_path / "s.json", schedule_document(RunSchedule(Timeline.of(preset("one_cycle", 0.1, 100))),
                                                                context={"model": "small_cnn", "groups": groups}))
    code, _, err = cli(capsys, "schedule", "plot", path, "-o", tmp_path / "s.png")
    assert code == 0, err
    pixels = {tuple(p) for p in np.asarray(Image.open(tmp_path / "s.png").convert("RGB")).reshape(-1, 3)}
    assert COLOURS[0] in pixels and COLOURS[1] not in pixels
