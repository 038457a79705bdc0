"""Hostile schedule files (issue 13, cases 2, 3, 14, 15): what is not a file, what is too long to
evaluate step by step, and oddly typed fields in every section, fuzzed through every reader."""

import copy
import io
import json
import os
import signal
import subprocess
import sys
import tracemalloc
from contextlib import contextmanager

import numpy as np
import pytest
from helpers import ROOT, cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_schedule_file import _paths
from test_schedule_file import document as base_document

from engine.cli import run_cli
from engine.config import TrainConfig
from engine.errors import ScheduleFileError
from engine.schedules import Constant, Schedule, Timeline, load_schedule, parse_schedule
from engine.schedules.groups import GroupSetting
from engine.schedules.sampling import plot_steps
from engine.schedules.timeline import Piece

RANGE_TEST = {
    "mode": "sweep", "settings": {"start_lr": 1e-7, "end_lr": 10.0, "iterations": 20, "linear": False},
    "curve": {"lr": [1e-3, 1e-2, 1e-1], "loss": [2.3, 2.0, None], "smoothed": [2.3, 2.1, 2.4]}, "stop_reason": "diverged",
    "suggestions": [{"method": "steepest", "lr": 0.01, "loss": 2.0, "explanation": "fastest fall"}],
    "recommended": {"constant_lr": 0.01, "constant_method": "valley", "one_cycle_max_lr": 0.1, "one_cycle_method": "min_loss",
                    "spread": 1.5, "notes": ["fine"]},
    "notes": ["a note"], "seconds": 1.5,
}
DATASET = {"name": "digits", "root": "/data/digits", "fingerprint": "abc", "classes": ["0", "1"], "class_counts": {"0": 5, "1": 5},
           "image_count": 10, "presplit": False, "image_sizes": {"min": [8, 8], "max": [9, 9]}, "resolution": 8, "channels": 1,
           "mean": [0.3], "std": [0.2]}
CONTEXT = {"model": "small_cnn", "groups": ["stem", "stage1", "head"], "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": False, "weight_decay": 5e-4},
           "batch_size": 64, "steps_per_epoch": 22, "total_steps": 100, "epochs": 5, "augment": "shift", "seed": 0}


def full_document():
    """A valid file with every section filled, as a run with a range test exports it."""
    data = base_document()
    data.update(copy.deepcopy({"dataset": DATASET, "context": CONTEXT, "range_test": RANGE_TEST}))
    return data


@contextmanager
def deadline(seconds):
    """Fail instead of hanging: the alarm interrupts even a blocking open()."""
    def expired(_signum, _frame):
        raise AssertionError(f"still running after {seconds} s: it hangs")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def one_line_error(err):
    lines = [line for line in err.splitlines() if line.startswith("lrscope: error:")]
    return len(lines) == 1 and "Traceback" not in err and err.rstrip().splitlines()[-1] == lines[0]


@pytest.mark.parametrize("make, kind", [
    (lambda p: os.mkfifo(p), "is a named pipe (FIFO), not a regular file"),
    (lambda p: os.symlink("/dev/zero", p), "is a character device, not a regular file"),
    (lambda p: p.mkdir(), "is a folder, not a regular file"),
])
def test_a_schedule_that_is_not_a_regular_file_is_refused_at_once(tmp_path, capsys, make, kind):
    """Case 2: a FIFO blocked forever and /dev/zero read until memory ran out (st_size is 0 for both)."""
    path = tmp_path / "s.lrschedule.json"
    make(path)
    for action in (["show"], ["csv"], ["plot", "-o", tmp_path / "p.png"]):
        with deadline(20):
            code, _, err = cli(capsys, "schedule", action[0], path, *action[1:])
        assert code == 2 and one_line_error(err) and kind in err


def test_at_most_the_limit_is_read(tmp_path, monkeypatch):
    from engine.schedules import schedule_file

    monkeypatch.setattr(schedule_file, "MAX_FILE_BYTES", 1000)
    path = tmp_path / "big.json"
    path.write_text(" " * 5000)
    with pytest.raises(ScheduleFileError, match="too large for a schedule file \\(at most 1,000 bytes\\)"):
        load_schedule(path)


def billion_step_file(tmp_path):
    data = base_document()
    data["timeline"] = [{"start": 0, "origin": 0, "groups": [{"name": "all", "multiplier": 1.0, "frozen_until": 0}],
                         "segments": [{"kind": "cosine", "steps": 10**9, "start_lr": 0.1, "end_lr": 0.0}]}]
    del data["total_steps"]
    path = tmp_path / "long.json"
    path.write_text(json.dumps(data))
    assert path.stat().st_size < 2000
    return path


class ClosedAfter(io.StringIO):
    """A stdout whose reader leaves after ``limit`` characters (like `| head`)."""

    def __init__(self, limit):
        super().__init__()
        self.left = limit

    def write(self, text):
        self.left -= len(text)
        if self.left < 0:
            raise BrokenPipeError(32, "Broken pipe")
        return len(text)


def test_a_billion_step_schedule_streams_its_csv_in_bounded_memory(tmp_path, monkeypatch):
    """Case 3: a 1 KB file with one 10^9-step segment took over 3 GB in `schedule csv`."""
    path = billion_step_file(tmp_path)
    monkeypatch.setattr(sys, "stdout", ClosedAfter(4_000_000))
    tracemalloc.start()
    try:
        code = run_cli(["schedule", "csv", str(path)])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 0 and sys.stdout.left < 0, "the CSV did not reach the reader"
    assert peak < 64 * 1024**2, f"peak {peak / 1024**2:.0f} MB"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full, a device that is always full")
def test_output_to_a_full_disk_is_said_to_be_the_output_not_a_path(tmp_path):
    """`show --csv > /dev/full` said "No space left on device; check the path and its permissions", naming no path."""
    # --json too: its error object went to the same full stdout, and a traceback followed the line (exit status 1).
    for command in (["schedule", "csv", str(billion_step_file(tmp_path))], ["runs", "--json", "--runs-dir", str(tmp_path)]):
        with open("/dev/full", "w") as full:
            done = subprocess.run([sys.executable, str(ROOT / "main.py"), *command], cwd=ROOT, stdout=full, stderr=subprocess.PIPE,
                                  text=True, timeout=120)
        assert done.returncode == 4 and done.stderr == ("lrscope: error: cannot write the output: No space left on device; "
                                                        "check where it goes (a file, a pipe) and that its disk has room\n"), command


def test_a_billion_step_schedule_plots_from_a_bounded_number_of_points(tmp_path, capsys):
    path = billion_step_file(tmp_path)
    tracemalloc.start()
    try:
        code, _, err = cli(capsys, "schedule", "plot", path, "-o", tmp_path / "long.png")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 0, err
    assert (tmp_path / "long.png").stat().st_size > 1000 and peak < 64 * 1024**2


def test_plot_points_keep_both_sides_of_every_jump():
    segments = tuple(Constant(steps=10**7, lr=0.1 / (i + 1)) for i in range(5))
    frozen = (GroupSetting("all"), GroupSetting("head", frozen_until=3 * 10**7 + 77))
    timeline = Timeline.of(Schedule(segments)).install(Piece(3 * 10**7 + 5, 3 * 10**7 + 5, Schedule((Constant(steps=10**6, lr=0.5),)), frozen))
    steps = plot_steps(timeline)
    assert len(steps) < 5000 and steps[0] == 0 and steps[-1] == timeline.total_steps - 1
    for jump in (10**7, 2 * 10**7, 3 * 10**7 + 5, 3 * 10**7 + 77):  # segment, piece and freeze boundaries
        assert jump - 1 in steps and jump in steps
    short = Timeline.of(Schedule((Constant(steps=500, lr=0.1),)))
    assert np.array_equal(plot_steps(short), np.arange(500))


def test_many_pieces_are_evaluated_per_piece_and_exactly():
    """Case 3: 100,000 pieces took 83 s in `csv` (one comparison per piece per step); now one sort."""
    rng = np.random.default_rng(0)
    timeline = Timeline.of(Schedule((Constant(steps=3000, lr=0.1),)))
    for start in sorted(rng.choice(np.arange(1, 3000), 400, replace=False)):
        timeline = timeline.install(Piece(int(start), int(start), Schedule((Constant(steps=3000 - int(start), lr=float(start) * 1e-4),))))
    grid = rng.permutation(3000)
    assert np.array_equal(timeline.lrs(grid), [timeline.lr_at(int(s)) for s in grid])


def odd(path_value_pairs):
    data = full_document()
    for path, value in path_value_pairs:
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return data


ODD_FIELDS = [
    (("range_test", "recommended"), {"x": 1}),
    (("range_test", "recommended"), "yes"),
    (("context", "optimizer"), "sgd"),
    (("dataset", "classes"), 5),
    (("dataset", "name"), "\ud800"),
    (("dataset", "mean"), ["a"]),
    (("dataset", "classes"), 3),
    # A width without its height: `schedule show` says the sizes, and cannot say half of one.
    (("dataset", "image_sizes"), {"min": [8], "max": [9, 9], "most_common": [9, 9]}),
    (("dataset", "size_counts"), [[9, 9, 10], [8, 8]]),
]


@pytest.mark.parametrize("path, value", ODD_FIELDS)
def test_oddly_typed_informational_fields_are_ignored_with_a_warning(tmp_path, capsys, path, value):
    """Case 14: each of these crashed `schedule show` (TypeError, AttributeError, UnicodeEncodeError)."""
    file = tmp_path / "odd.json"
    file.write_text(json.dumps(odd([(path, value)])))
    loaded = load_schedule(file)
    section = getattr(loaded, path[0])
    if value == "\ud800":
        assert section["name"] == "\ufffd" and not loaded.warnings
    else:
        assert path[-1] not in section and any(".".join(path) in w for w in loaded.warnings)
    code, out, err = cli(capsys, "schedule", "show", file)
    assert code == 0 and "length      100 steps" in out and "Traceback" not in err


def test_train_with_an_oddly_typed_schedule_file(tmp_path, capsys):
    """Case 14: `train --schedule` crashed on odd dataset fields even with --accept-mismatch."""
    from helpers import write_image

    for label in range(2):
        for i in range(10):
            write_image(tmp_path / "d" / str(label) / f"{i}.png", value=40 + 80 * label + i)
    data = odd(ODD_FIELDS[:5] + [(("dataset", "mean"), ["a"])])
    for piece in data["timeline"]:  # groups the small CNN has
        piece["groups"] = [{"name": "all", "multiplier": 1.0, "frozen_until": 0}]
    file = tmp_path / "odd.json"
    file.write_text(json.dumps(data))
    # 8 steps: enough for the file's one-cycle segment stretched to the run (2 steps cannot hold it: the run is refused).
    code, out, err = cli(capsys, "train", "--data", tmp_path / "d", "--image-size", "8", "--epochs", "2", "--batch-size", "4",
                         "--schedule", file, "--accept-mismatch", "--json", "--runs-dir", tmp_path / "runs")
    assert code == 0, err
    assert json.loads(out)["state"] == "finished" and "warning:" in err
    assert err.count("dataset.mean: must be a number") == 1, err  # printed twice: the file was read twice


def test_a_total_steps_of_the_wrong_type_says_so():
    """Case 15: "total_steps": "6" gave "says 6 but the timeline lasts 6 steps"."""
    data = base_document()
    data["total_steps"] = str(data["total_steps"])
    with pytest.raises(ScheduleFileError, match="total_steps: must be a whole number, got text"):
        parse_schedule(json.dumps(data))


FULL = full_document()
EVERY_PATH = [p for p in _paths(FULL) if p]
ANY_TYPE = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20), st.sampled_from([10**400, -(10**19)]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8), st.sampled_from(["\ud800", "\x1b[2J", "a\nb", "", "6", "1e999"]),
    st.lists(st.one_of(st.integers(), st.text(max_size=3), st.none()), max_size=3),
    st.dictionaries(st.text(max_size=4), st.one_of(st.integers(), st.text(max_size=3), st.none()), max_size=3),
)


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    from helpers import write_image

    from engine.data import prepare_dataset

    root = tmp_path_factory.mktemp("fuzz") / "d"
    for label in range(2):
        for i in range(6):
            write_image(root / str(label) / f"{i}.png", value=40 + 80 * label + i)
    return prepare_dataset(root, resolution=8)


def read_like_every_command(path, tmp_path, capsys, dataset):
    """Run every reader of schedule files on ``path``; each must succeed or give a one-line error."""
    from types import SimpleNamespace

    from engine.cli.common import CliError
    from engine.cli.schedule import _names
    from engine.cli.setup import run_schedule_for
    from engine.schedules.groups import GroupMismatch
    from engine.training.plan import Plan
    from gui.schedule_io import read_schedule

    try:
        loaded = load_schedule(path)
    except ScheduleFileError:
        loaded = None
    steps = [] if loaded is None or loaded.timeline.total_steps <= 5000 else ["--steps", "50"]
    for args in (["show", path], ["csv", path, *steps], ["plot", path, "-o", tmp_path / "f.png"]):
        code, _, err = cli(capsys, "schedule", *args)
        assert code in (0, 2) and "Traceback" not in err, err
        # A file that loads can still be refused by a command (pieces that drive disjoint groups): in one line.
        assert (code == 0 or one_line_error(err)) and (loaded is not None or code == 2), err
    if loaded is None:
        return
    config = TrainConfig(data=dataset.summary.root, epochs=2, batch_size=4, momentum=0.9)
    try:
        run_schedule = run_schedule_for(SimpleNamespace(schedule=path, accept_mismatch=True, lr=None), config, dataset, loaded)
        plan = Plan(run_schedule.timeline, _names(loaded, run_schedule.timeline), 0.9)
    except (CliError, GroupMismatch) as error:  # an LR of 0 throughout, groups the model lacks: one line, exit 2
        assert "\n" not in str(error)
    else:
        assert all(np.isfinite(lr) for lr in plan.at(0).lrs.values())
    window, differences = read_schedule(path, dataset.summary.to_dict())
    timeline = window.for_run(40)
    assert timeline.pieces[-1].schedule.segments and all(isinstance(line, str) for line in differences)
    capsys.readouterr()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(EVERY_PATH), ANY_TYPE), min_size=1, max_size=3))
def test_fuzzed_types_in_every_section_through_every_reader(tmp_path, capsys, tiny_dataset, mutations):
    """Any type in any field of any section: every command that reads schedules copes in one line or works."""
    data = copy.deepcopy(FULL)
    for path, value in mutations:
        target = data
        try:
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation replaced this field's parent
    path = tmp_path / "fuzzed.json"
    path.write_text(json.dumps(data))
    read_like_every_command(path, tmp_path, capsys, tiny_dataset)
