"""Runs that survive: the store, resume, kills, Ctrl-C, stops in awkward places, bad roots and files."""

import contextlib
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import CAMERA2, ROOT, SAMPLE, Events, tiny_config

from engine.cli import run_cli
from engine.commands import Stop
from engine.errors import RunStoreError
from engine.run import InProcessRun, NewRun
from engine.store import RunStore, list_runs, load_latest_checkpoint, read_epochs, read_meta, read_steps
from engine.training import evaluate as evaluate_module

LONG_TRAIN = ["train", "--data", str(SAMPLE), "--image-size", "8", "--epochs", "8", "--batch-size", "32"]


def stored_run(digits16, root, **changes):
    """A prepared in-process run (job, bus and store wired the one way there is)."""
    run = InProcessRun(NewRun(tiny_config(**changes), digits16, None, root))
    run.prepare()
    return run


def test_the_store_holds_metrics_edits_and_checkpoints(digits16, tmp_path):
    run = stored_run(digits16, tmp_path, epochs=2)
    run.run()
    steps = read_steps(run.run_dir)
    assert np.array_equal(steps["step"], np.arange(44)) and steps["lrs"].shape == (44, 4)
    assert [row["epoch"] for row in read_epochs(run.run_dir)] == [0, 1]
    meta = read_meta(run.run_dir)
    assert meta["state"] == "finished" and json.loads(meta["dataset"])["name"] == "digits"
    assert json.loads(meta["run_schedule"])["total_steps"] == 44
    assert sorted(p.name for p in (run.run_dir / "checkpoints").iterdir()) == ["step-0000000000.pt", "step-0000000022.pt", "step-0000000044.pt"]
    with sqlite3.connect(run.run_dir / "run.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_checkpoint_is_written_after_the_metrics_before_it_and_before_the_ones_after(digits16, tmp_path, monkeypatch):
    """Whenever a kill comes, the stored steps and the newest checkpoint agree: resume never finds metrics
    past a checkpoint that is missing, nor a checkpoint ahead of missing metrics."""
    from engine.store import writer

    seen = {}
    original = writer.write_checkpoint

    def observed(run_dir, payload, step):
        with sqlite3.connect(f"file:{run_dir / 'run.sqlite'}?mode=ro", uri=True) as db:
            seen[step] = db.execute("SELECT COUNT(*) FROM steps").fetchone()[0]
        return original(run_dir, payload, step)

    monkeypatch.setattr(writer, "write_checkpoint", observed)
    stored_run(digits16, tmp_path, epochs=1, checkpoint_every=5).run()
    assert seen and all(count == step for step, count in seen.items()), seen


def run_cli_json(capsys, *args):
    assert run_cli([str(a) for a in args]) == 0
    return json.loads(capsys.readouterr().out)


def losses(run_dir):
    return read_steps(run_dir)["loss"], read_steps(run_dir)["lrs"]


def test_stop_then_resume_equals_an_uninterrupted_run(digits16, tmp_path, capsys):
    reference = stored_run(digits16, tmp_path / "a", epochs=3)
    reference_result = reference.run()
    run = stored_run(digits16, tmp_path / "b", epochs=3)
    run.subscribe(lambda e: run.send(Stop()) if getattr(e, "epoch", None) == 0 else None)
    stopped = run.run()
    assert stopped.state == "stopped" and stopped.start_step == 0
    assert read_meta(run.run_dir)["state"] == "stopped"
    resumed = run_cli_json(capsys, "resume", run.run_dir.name, "--runs-dir", tmp_path / "b", "--json")
    assert resumed["state"] == "finished" and resumed["steps"] == 66 and resumed["start_step"] == stopped.step
    ours, theirs = losses(run.run_dir), losses(reference.run_dir)
    assert np.array_equal(ours[0], theirs[0]) and np.array_equal(ours[1], theirs[1])
    assert resumed["val_accuracy"] == reference_result.val_accuracy


def test_a_resume_checkpoints_as_often_as_its_checkpoint_seconds_say(digits16, tmp_path, capsys):
    """`resume` had no --checkpoint-seconds (train has): a resumed run could not be told to checkpoint more often."""
    run = stored_run(digits16, tmp_path, epochs=2)  # started with checkpoint_seconds 0: epoch ends only
    run.subscribe(lambda e: run.send(Stop()) if getattr(e, "epoch", None) == 0 else None)
    assert run.run().state == "stopped"
    resumed = run_cli_json(capsys, "resume", run.run_dir, "--checkpoint-seconds", "1e-9", "--json")
    assert resumed["state"] == "finished" and resumed["steps"] == 44
    # every step past the first after the resume is checkpointed: the newest three kept are its last three steps
    assert [p.name for p in sorted((run.run_dir / "checkpoints").iterdir())] == [f"step-00000000{s}.pt" for s in (42, 43, 44)]
    assert run_cli(["resume", str(run.run_dir), "--checkpoint-seconds", "-1"]) == 2  # checked as train checks it


def test_stopped_twice_mid_epoch_its_train_loss_is_the_whole_epochs_as_uninterrupted(digits16, tmp_path):
    """Resumed mid-epoch, the epoch's train loss was the mean of the steps since the resume only (`show` said 0.78 for an
    epoch whose steps' mean was 1.36): the checkpoint now carries the epoch's losses so far."""
    from engine.events import StepsLogged
    from engine.run import ResumedRun

    def stopped_after(run, step):
        run.subscribe(lambda e: run.send(Stop()) if isinstance(e, StepsLogged) and e.steps[-1] >= step else None)
        run.prepare()
        return run.run()

    reference = stored_run(digits16, tmp_path / "a", epochs=2, checkpoint_every=5)
    reference.run()
    # every 5 steps a checkpoint reads the steps back: the stop comes at the next step boundary, mid-epoch
    first = stopped_after(InProcessRun(NewRun(tiny_config(epochs=2, checkpoint_every=5), digits16, None, tmp_path / "b")), 4)
    run_dir = Path(first.run_dir)
    second = stopped_after(InProcessRun(ResumedRun(run_dir, None)), 12)
    assert first.state == second.state == "stopped" and 0 < first.step < second.step < 22
    assert run_cli(["resume", str(run_dir)]) == 0
    ours, theirs = read_epochs(run_dir), read_epochs(reference.run_dir)
    assert [row["train_loss"] for row in ours] == [row["train_loss"] for row in theirs]
    assert ours[0]["train_loss"] == pytest.approx(np.mean(read_steps(run_dir)["loss"][:22]), rel=1e-12)


def test_stop_during_validation_resumes_with_that_validation(digits16, tmp_path, capsys, monkeypatch):
    run = stored_run(digits16, tmp_path, epochs=2)
    real = evaluate_module.evaluate

    def interrupted(session, batches, stop=None, **kwargs):
        run.send(Stop())
        return real(session, batches, stop, **kwargs)

    monkeypatch.setattr("engine.training.job.evaluate", interrupted)
    assert run.run().state == "stopped" and run.job.step == 22
    payload = load_latest_checkpoint(run.run_dir)
    assert payload["step"] == 22 and payload["epoch_end_pending"]
    monkeypatch.setattr("engine.training.job.evaluate", real)
    assert run_cli(["resume", str(run.run_dir)]) == 0
    assert [row["epoch"] for row in read_epochs(run.run_dir)] == [0, 1]
    # The steps this process trained, not all since step 0 (it said "44 steps in 0:02").
    assert re.search(r"^finished: .*, 22 steps \(resumed at 22; 44 in all\) in \d+:\d\d$", capsys.readouterr().err, re.MULTILINE)


def wait_for_steps(run_dir_parent, count, process, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read()
        runs = [p for p in run_dir_parent.iterdir()] if run_dir_parent.exists() else []
        if runs and (runs[0] / "run.sqlite").exists():
            try:
                with sqlite3.connect(f"file:{runs[0] / 'run.sqlite'}?mode=ro", uri=True) as db:
                    done = db.execute("SELECT COUNT(*) FROM steps").fetchone()[0]
            except sqlite3.OperationalError:
                done = 0
            if done >= count:
                return runs[0]
        time.sleep(0.05)
    raise AssertionError("the training process did not reach the step in time")


def launch(tmp_path, name, *extra):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, str(ROOT / "main.py"), *LONG_TRAIN, "--runs-dir", str(tmp_path / name), "--checkpoint-every", "5", *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkill_at_a_random_step_then_resume_equals_uninterrupted(tmp_path, capsys):
    reference = run_cli_json(capsys, *LONG_TRAIN, "--runs-dir", tmp_path / "ref", "--json")
    process = launch(tmp_path, "killed")
    kill_at = random.Random().randint(8, 150)
    run_dir = wait_for_steps(tmp_path / "killed", kill_at, process)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    steps = read_steps(run_dir)["step"]
    assert len(steps) >= kill_at and read_meta(run_dir)["state"] == "running"
    assert list_runs(tmp_path / "killed")[0][0].state == "interrupted"
    resumed = run_cli_json(capsys, "resume", run_dir.name, "--runs-dir", tmp_path / "killed", "--json")
    assert resumed["state"] == "finished"
    ours, theirs = losses(run_dir), losses(reference["run_dir"])
    assert np.array_equal(ours[0], theirs[0]) and np.array_equal(ours[1], theirs[1]), f"killed at step {kill_at}"


def _children(pid: int) -> list[int]:
    """The pids whose parent is ``pid`` (from /proc: no psutil in the test dependencies)."""
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the forkserver's workers are a Linux matter")
def test_a_killed_streaming_run_leaves_no_data_workers_behind(tmp_path):
    """Its two DataLoader workers (forked by multiprocessing's forkserver, not by the run) stayed for good after a
    kill -9, about 525 MB each."""
    process = launch(tmp_path, "streamed", "--memory-budget-mb", "0", "--workers", "2")
    deadline = time.monotonic() + 120
    workers: list[int] = []
    while len(workers) < 2 and time.monotonic() < deadline and process.poll() is None:
        workers = [worker for child in _children(process.pid) for worker in _children(child)]
        time.sleep(0.2)
    assert len(workers) >= 2, "the run did not start its data workers in time"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)  # not communicate(): leftover workers would hold its pipes open
    process.stdout.close(), process.stderr.close()
    deadline = time.monotonic() + 60
    while any(map(_running, workers)) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [worker for worker in workers if _running(worker)]
    for worker in left:  # a regression must not leave them on the test machine either
        os.kill(worker, signal.SIGKILL)
    assert not left


def _running(pid: int) -> bool:
    """Whether ``pid`` runs (an exited process that nobody reaped yet, a zombie, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
    except (OSError, IndexError):
        return False


def test_ctrl_c_stops_cleanly_and_the_run_is_resumable(tmp_path, capsys):
    process = launch(tmp_path, "interrupted")
    run_dir = wait_for_steps(tmp_path / "interrupted", 10, process)
    # Steering a run not served names the process that holds it and how to stop it there: a run paused in the window
    # was said to "train", to be stopped with Ctrl-C.
    assert run_cli(["ctl", str(run_dir), "pause", "--runs-dir", str(tmp_path / "interrupted")]) == 2
    said = capsys.readouterr().err
    assert f"trains in process {process.pid}, which does not serve it, so it cannot be reached from here: steer it there, or " \
           "stop it there (Stop in lrscope's window, Ctrl-C in a terminal), then `lrscope resume" in said, said
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in err
    assert "stopping at the next step" in err and "can be resumed" in err
    last = err.rstrip().splitlines()[-1]
    assert last.startswith("to go on with it: lrscope resume ") and last.endswith(run_dir.name), err[-500:]
    assert read_meta(run_dir)["state"] == "stopped"
    assert load_latest_checkpoint(run_dir)["step"] >= 10


def test_an_unwritable_runs_root_says_what_to_do(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    with pytest.raises(RunStoreError, match="cannot create a run folder in .*choose another place with --runs-dir"):
        RunStore.create(tmp_path / "file", {}, {"name": "x"})


def test_a_full_disk_during_a_run_warns_once_and_says_what_to_free(digits16, tmp_path, monkeypatch):
    """Without a subscriber that stops it the job goes on; the store says once what failed and keeps the rest."""
    from engine.events import LogLine, StoreFailed
    from engine.store import writer

    run = stored_run(digits16, tmp_path)
    events = Events()
    run.subscribe(events)

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer, "write_checkpoint", full)
    assert run.run().state == "finished"
    warnings = [e.text for e in events.of(LogLine) if e.level == "warning"]
    assert len(warnings) == 1 and "No space left on device" in warnings[0] and "free space on the disk" in warnings[0]
    assert len(events.of(StoreFailed)) == 1 and run.store.failure and run.store.unwritten > 0


def test_a_corrupt_checkpoint_falls_back_to_the_one_before(digits16, tmp_path):
    run = stored_run(digits16, tmp_path, epochs=2)
    run.run()
    newest = sorted((run.run_dir / "checkpoints").iterdir())[-1]
    newest.write_bytes(b"not a checkpoint")
    notes = []
    assert load_latest_checkpoint(run.run_dir, warn=notes.append)["step"] == 22
    assert "was refused: it is truncated or not a PyTorch file" in notes[0]
    for path in (run.run_dir / "checkpoints").iterdir():
        path.write_bytes(b"")
    with pytest.raises(RunStoreError, match="none of its 3 checkpoints can be read"):
        load_latest_checkpoint(run.run_dir)


def test_a_checkpoint_with_code_in_it_is_refused(tmp_path):
    import torch

    folder = tmp_path / "run" / "checkpoints"
    folder.mkdir(parents=True)
    torch.save({"format": "lrscope.checkpoint", "evil": os.system}, folder / "step-0000000001.pt")
    notes = []
    with pytest.raises(RunStoreError, match="none of its 1 checkpoints can be read"):
        load_latest_checkpoint(tmp_path / "run", warn=notes.append)
    assert "step-0000000001.pt was refused: it holds Python objects (posix.system)" in notes[0]


def test_a_thousand_commands_from_other_threads_apply_in_order(digits16, tmp_path):
    import threading

    from engine.commands import EditSchedule, Pause, Resume
    from engine.schedules import ScaleRest, SetConstant

    run = stored_run(digits16, tmp_path, epochs=4)
    run.start("lrscope-test-run")
    sent = {}

    def sender(index):
        rng = random.Random(index)
        sent[index] = []
        for n in range(250):
            if n % 25 == 0:
                run.send(Pause())
                run.send(Resume())
            if rng.random() < 0.5:
                edit = ScaleRest(1.0 + (index * 1000 + n) * 1e-7)
            else:
                edit = SetConstant(0.01 + (index * 1000 + n) * 1e-7)
            sent[index].append(edit)
            run.send(EditSchedule(edit))

    senders = [threading.Thread(target=sender, args=(i,), name=f"lrscope-sender-{i}") for i in range(4)]
    for s in senders:
        s.start()
    for s in senders:
        s.join(60)
    run.send(Resume())
    assert run.wait(120)
    assert run.state == "finished"
    applied = [r.edit for r in run.outcome.run_schedule.edits]
    assert len(applied) == 1000
    for edits in sent.values():
        assert [e for e in applied if e in edits] == edits
    rows = sqlite3.connect(run.run_dir / "run.sqlite").execute("SELECT COUNT(*) FROM edits").fetchone()[0]
    assert rows == 1000


def test_an_ambiguous_run_prefix_names_the_runs_it_matches(tmp_path):
    from engine.errors import RunStoreError
    from engine.store.reader import find_run

    for name in ("20261204-101500-digits-aa11", "20261204-113000-digits-bb22", "20250101-000000-camera2-cc33"):
        (tmp_path / name).mkdir()
    with pytest.raises(RunStoreError) as refused:
        find_run(tmp_path, "2026")
    assert "matches 2 runs" in str(refused.value)
    assert "(20261204-113000-digits-bb22, 20261204-101500-digits-aa11)" in str(refused.value)
    assert find_run(tmp_path, "20261204-11") == tmp_path / "20261204-113000-digits-bb22"


def test_a_stored_history_replays_each_epoch_after_its_own_steps(digits16, tmp_path):
    from engine.events import EpochEnded, StepsLogged
    from engine.run.history import stored_history

    run = stored_run(digits16, tmp_path, epochs=3)
    run.run()
    events, _ = stored_history(run.run_dir)
    order = [e for e in events if isinstance(e, (StepsLogged, EpochEnded))]
    ends = [i for i, e in enumerate(order) if isinstance(e, EpochEnded)]
    assert [order[i].step for i in ends] == [22, 44, 66]
    # What a follower shows at an epoch's end (its last LR) is that epoch's, not the run's last.
    assert [order[i - 1].steps[-1] for i in ends] == [21, 43, 65]
    lrs = read_steps(run.run_dir)["lrs"]
    assert [tuple(order[i - 1].lrs[-1]) for i in ends] == [tuple(lrs[21]), tuple(lrs[43]), tuple(lrs[65])]


def test_a_resume_after_a_kill_forgets_what_the_dead_process_stored_past_its_checkpoint(digits16, tmp_path):
    """Killed at step 44 with its last checkpoint at 22, resumed and stopped at once: `runs` still said 44 steps, and
    `show --csv` held the dead process's rows (at its old LRs) after the resumed run's."""
    from engine.events import StepsLogged
    from engine.run import ResumedRun

    run = stored_run(digits16, tmp_path, epochs=3)
    run.run()
    for step in (44, 66):
        (run.run_dir / "checkpoints" / f"step-{step:010d}.pt").unlink()
    with sqlite3.connect(run.run_dir / "run.sqlite") as db:
        db.execute("UPDATE meta SET value = 'running' WHERE key = 'state'")  # as a kill leaves it
    resumed = InProcessRun(ResumedRun(run.run_dir, None))
    resumed.subscribe(lambda event: resumed.send(Stop()) if isinstance(event, StepsLogged) else None)
    resumed.prepare()
    outcome = resumed.run()
    steps = read_steps(run.run_dir)["step"]
    assert outcome.state == "stopped" and 22 < outcome.step < 66 and np.array_equal(steps, np.arange(outcome.step))
    assert [row["epoch"] for row in read_epochs(run.run_dir)] == [0] + ([1] if outcome.step >= 44 else [])


def test_a_resume_drops_only_the_edits_in_force_and_keeps_those_a_rollback_undid(digits16, tmp_path, capsys):
    """Set LR 50 blew up and was rolled back; Set LR 100 blew up again and the run was stopped. Its resume from step 0
    warned it dropped the set-LR 50 too, "made after its checkpoint", and deleted it: `show` then listed no edit at all,
    not even the edit whose blow-up the faults above it name (helper-65)."""
    import threading

    from helpers import paused_at

    from engine.commands import EditSchedule, Resume, RollBack
    from engine.events import FaultRaised, StepsLogged
    from engine.schedules.edits import SetConstant

    run, events = stored_run(digits16, tmp_path, epochs=2), Events()
    run.subscribe(events)
    thread = threading.Thread(target=run.run)
    thread.start()
    for faults, lr in ((1, 50.0), (2, 100.0)):  # each blows the loss up before the first epoch end (step 22)
        events.wait_for(lambda ev: ev.of(StepsLogged))
        paused_at(run.job, events)
        run.send(EditSchedule(SetConstant(lr)))
        run.send(Resume())
        events.wait_for(lambda ev, faults=faults: len(ev.of(FaultRaised)) == faults)
        assert "Roll back to step 0," in events.of(FaultRaised)[-1].advice
        run.send(RollBack(0.1) if faults == 1 else Stop())
    thread.join(60)
    assert run_cli(["resume", str(run.run_dir), "--on-fault", "stop"]) == 0
    err = capsys.readouterr().err
    assert "the resume from step 0 drops 2 edits made after its checkpoint (step 0: scaled the rest ×0.1; step " in err
    assert "set LR to 100 for the rest); make it again" in err and "set LR to 50" not in err, err
    assert run_cli(["show", str(run.run_dir)]) == 0
    shown = capsys.readouterr().out.splitlines()
    edits = [line for line in shown if line.startswith("  edit at step")]
    assert len(edits) == 1 and edits[0].endswith("set LR to 50 for the rest (undone by a rollback)"), edits
    # Each attempt's fault reads alike: the resume between them is said (faults, then the resume, then the epochs).
    said = [line.split()[0] for line in shown if line.startswith(("  fault", "  resume", "  epoch"))]
    assert said == ["fault", "fault", "resume", "epoch", "epoch"], shown


def test_a_resume_past_a_damaged_checkpoint_drops_the_edits_made_after_the_one_it_uses_and_says_so(digits16, tmp_path, capsys):
    """Its newest checkpoint truncated, a run resumed from step 0 without the set-lr made later, while `show` still listed
    it: the store forgot nothing past a resume from step 0."""
    from engine.commands import EditSchedule
    from engine.events import StepsLogged
    from engine.schedules.edits import SetConstant

    reference = stored_run(digits16, tmp_path / "a", epochs=2, checkpoint_every=5)
    reference.run()
    run = stored_run(digits16, tmp_path / "b", epochs=2, checkpoint_every=5)

    def edit_then_stop(event):
        if isinstance(event, StepsLogged) and not run.job.run_schedule.edits:
            run.send(EditSchedule(SetConstant(0.01)))
            run.send(Stop())

    run.subscribe(edit_then_stop)
    assert run.run().state == "stopped"
    (newest,) = [path for path in (run.run_dir / "checkpoints").iterdir() if path.name != "step-0000000000.pt"]
    os.truncate(newest, 1000)
    step = int(newest.stem.removeprefix("step-"))
    assert run_cli(["resume", str(run.run_dir)]) == 0
    err = capsys.readouterr().err
    assert f"{newest.name} was refused" in err and "at step 0 of 44" in err
    assert run_cli(["show", str(run.run_dir)]) == 0
    shown = capsys.readouterr().out
    assert "edit at step" not in shown and "warning: the resume from step 0 drops 1 edit" in shown
    assert (f"the resume from step 0 drops 1 edit made after its checkpoint (step {step}: set LR to 0.01 for the rest); "
            "make it again if you still want it") in err
    ours, theirs = losses(run.run_dir), losses(reference.run_dir)
    assert np.array_equal(ours[0], theirs[0]) and np.array_equal(ours[1], theirs[1])


def test_a_relative_data_folder_is_stored_as_an_absolute_path(sample_copy, tmp_path, monkeypatch, capsys):
    """A run started with `--data digits` could be resumed only from the folder it was started in."""
    monkeypatch.chdir(tmp_path)
    assert run_cli(["train", "--data", "digits", "--image-size", "8", "--epochs", "1", "--runs-dir", "runs"]) == 0
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert json.loads((run_dir / "config.json").read_text())["config"]["data"] == str(sample_copy)
    assert f"run saved in {run_dir}\n" in capsys.readouterr().err  # a relative --runs-dir was printed relative


def test_a_run_whose_dataset_folder_moved_resumes_from_its_new_place_and_remembers_it(sample_copy, tmp_path, capsys):
    """It said "no such folder; choose a folder with one subfolder of images per class", which a resume cannot do; then
    "put it back there", and a moved folder could not be resumed at all (helper-71)."""
    from engine.data.dataset import prepare_dataset

    dataset = prepare_dataset(sample_copy, resolution=16)
    run = InProcessRun(NewRun(tiny_config(data=str(sample_copy), epochs=2), dataset, None, tmp_path / "runs"))
    run.prepare()
    run.subscribe(lambda e: run.send(Stop()) if getattr(e, "epoch", None) == 0 else None)
    assert run.run().state == "stopped"
    moved = Path(shutil.move(sample_copy, tmp_path / "moved"))
    runs = ["--runs-dir", str(tmp_path / "runs")]
    assert run_cli(["show", run.run_dir.name, *runs]) == 0  # said before a resume fails
    assert (f" in {sample_copy}, a folder that is gone: `lrscope resume {run.run_dir.name} --data DIR` resumes it from its new "
            "place") in capsys.readouterr().out
    assert run_cli(["resume", run.run_dir.name, *runs]) == 2
    assert capsys.readouterr().err.strip() == (
        f"lrscope: error: {sample_copy}: the run's dataset folder is gone; put it back there to resume {run.run_dir.name}, or "
        f"give its new place: `lrscope resume {run.run_dir.name} --data DIR` (the window resumes it from the folder it has "
        "open when that holds the same images) (a run continues on the images it started with)")
    # A --data that is no folder is said as the typo it is: it read "…: the run's dataset folder is gone" (helper-92).
    assert run_cli(["resume", run.run_dir.name, *runs, "--data", str(tmp_path / "nonexist")]) == 2
    assert capsys.readouterr().err.strip() == (f"lrscope: error: {tmp_path / 'nonexist'}: no such folder; give --data the folder "
                                               f"{run.run_dir.name}'s images are in now")
    assert run_cli(["resume", run.run_dir.name, *runs, "--data", str(CAMERA2)]) == 2  # other images: refused, by fingerprint
    assert f"{CAMERA2}: holds other images than {run.run_dir.name} trained on (fingerprint " in capsys.readouterr().err
    assert run_cli(["resume", run.run_dir.name, *runs, "--data", str(moved), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "finished"
    assert json.loads((run.run_dir / "config.json").read_text())["config"]["data"] == str(moved)  # the next resume finds it


def test_a_rollback_drops_the_checkpoints_of_the_steps_it_abandoned(tmp_path):
    """A fault's pause wrote a checkpoint at step 468; the rollback went back to 462 and the run stopped at 465: a
    resume continued from 468, on the abandoned branch, without the rollback's ×0.1."""
    import torch

    from engine.events import RolledBack
    from engine.store.reader import checkpoint_paths, checkpoint_step, newest_checkpoint_step

    store = RunStore.create(tmp_path, {"model": "small_cnn"}, {"name": "digits"})
    for step in (440, 468):
        store.save_checkpoint({"x": torch.zeros(1)}, step)
        assert store.sync()
    store.on_event(RolledBack(462, "rolled back to step 462"))
    assert store.sync() and store.checkpoint_step == 440
    store.save_checkpoint({"x": torch.zeros(1)}, 465)  # the stop's
    assert store.sync()
    store.close()
    assert [checkpoint_step(path) for path in checkpoint_paths(store.run_dir)] == [440, 465]
    assert newest_checkpoint_step(store.run_dir) == 465
