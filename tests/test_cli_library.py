"""The tuned-schedule library on the command line: `lrscope schedule add FILE` and `schedule delete ENTRY` beside `list`."""

import json
import os
from pathlib import Path

from helpers import cli
from test_hostile_schedule import one_line_error

from engine.schedules import RunSchedule, Schedule, Timeline, save_schedule, schedule_document
from engine.schedules.shapes import OneCycle

DIGITS = {"name": "digits", "fingerprint": "47641359f67857f3"}


def received(path, dataset=DIGITS, max_lr=0.1):
    """A schedule file tuned elsewhere, as another machine's `lrscope train --export-schedule` writes one."""
    timeline = Timeline.of(Schedule((OneCycle(steps=50, max_lr=max_lr),)))
    return save_schedule(path, schedule_document(RunSchedule(timeline), dataset=dataset, metrics={"best_val_accuracy": 0.9}))


def listed(capsys) -> list[dict]:
    code, out, _ = cli(capsys, "schedule", "list", "--json")
    assert code == 0
    return json.loads(out)


def test_a_received_file_is_added_under_its_dataset_and_deleted_by_what_list_shows(capsys, tmp_path):
    """The library had `list` alone: a file received from elsewhere could not be added, and deleting took `rm` (helper-80)."""
    first, second = received(tmp_path / "a.json"), received(tmp_path / "b.json", max_lr=0.05)
    code, _, err = cli(capsys, "schedule", "add", first)
    entries = listed(capsys)
    assert code == 0 and [e["fingerprint"] for e in entries] == [DIGITS["fingerprint"]]
    assert f"added to the library of digits ({DIGITS['fingerprint']}): {entries[0]['file']}" in err
    code, _, err = cli(capsys, "schedule", "add", first)  # the same file again is no twin
    assert code == 0 and "already in the library of digits" in err and len(listed(capsys)) == 1
    assert cli(capsys, "schedule", "add", second)[0] == 0
    entries = listed(capsys)
    assert len(entries) == 2 and first.exists() and second.exists()  # copied: the files received stay
    # Deleted by the path `list` prints, or by its file name alone.
    code, _, err = cli(capsys, "schedule", "delete", entries[0]["file"])
    assert code == 0 and f"deleted {entries[0]['file']} from the library" in err
    assert cli(capsys, "schedule", "delete", os.path.basename(entries[1]["file"]))[0] == 0
    assert listed(capsys) == []


def test_a_bad_or_hostile_file_is_refused_in_one_line_and_nothing_outside_the_library_is_deleted(capsys, tmp_path):
    library = Path(os.environ["LRSCOPE_LIBRARY_DIR"])  # private to the test (conftest)
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "lrscope.schedule", ')
    escaping = received(tmp_path / "escaping.json", dataset={"name": "digits", "fingerprint": "../../outside"})
    nameless = received(tmp_path / "nameless.json", dataset=None)
    for path, why in ((bad, "not valid JSON"), (escaping, "is not a dataset fingerprint"),
                      (nameless, "does not say which dataset it was tuned on"), (tmp_path / "none.json", "no such file")):
        code, _, err = cli(capsys, "schedule", "add", path)
        assert code == 2 and one_line_error(err) and f"{path}: " in err and why in err, err
    assert listed(capsys) == [] and not (library / "../../outside").resolve().exists()
    kept = received(tmp_path / "kept.json")
    for entry, why in ((kept, "is not a schedule in the library"), ("nothing.lrschedule.json", "no schedule of that name in the library")):
        code, _, err = cli(capsys, "schedule", "delete", entry)
        assert code == 2 and one_line_error(err) and why in err, err
    assert kept.exists()
