"""Hostile run stores and checkpoints (issue 13, cases 8-13): a full disk, a kill before the first
checkpoint, two owners, checkpoints with the wrong content, damaged runs, torch's several-line warnings."""

import errno
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import ROOT, Events, cli, delete_the_run_folder_mid_run, tiny_config, write_image
from test_hostile_schedule import deadline

from engine.errors import RunStoreError
from engine.events import CheckpointSaved, EpochEnded, EventBus, LogLine, StoreFailed, StoreRecovered
from engine.store import RunStore, load_latest_checkpoint, read_epochs, read_meta, read_steps
from engine.store.checkpoint_shape import structure_problem
from engine.store.lock import RunInUse, RunLock
from engine.training.job import TrainingJob


@pytest.fixture
def tiny(tmp_path):
    root = tmp_path / "tiny"
    for label in range(3):
        for i in range(10):
            write_image(root / str(label) / f"{i}.png", value=30 + 70 * label + i)
    return root


def train_args(data, runs, *extra, epochs=2):
    return ["train", "--data", str(data), "--image-size", "8", "--batch-size", "4", "--epochs", str(epochs), "--no-cache",
            "--runs-dir", str(runs), "--json", *map(str, extra)]


def the_run(runs):
    (run_dir,) = list(runs.iterdir())
    return run_dir


def test_a_full_disk_stops_the_run_without_claiming_success_and_it_resumes(tiny, tmp_path, capsys, monkeypatch):
    """Case 8: with the disk full the run printed one warning and exited 0 with "finished", its metrics lost."""
    from engine.store import writer

    code, out, _ = cli(capsys, *train_args(tiny, tmp_path / "reference"))
    reference = json.loads(out)
    real = writer.write_checkpoint

    def full(run_dir, payload, step):
        if step > 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(run_dir, payload, step)

    monkeypatch.setattr(writer, "write_checkpoint", full)
    code, out, err = cli(capsys, *train_args(tiny, tmp_path / "runs"))
    result = json.loads(out)
    # "incomplete" when the job reached its last step before the refusal was noticed (a fast machine)
    assert code == 4 and result["exit_status"] == 4 and result["state"] in ("stopped", "incomplete")
    assert "No space left on device" in result["message"] and "free space on the disk that holds" in result["message"]
    assert "continues from step 0" in result["message"] and err.rstrip().splitlines()[-1].startswith("lrscope: error:")
    assert result["resume_step"] == 0 and result["steps"] > 0  # `steps` trained; `resume_step` is where the run goes on
    run_dir = the_run(tmp_path / "runs")
    assert read_meta(run_dir)["state"] == "stopped"  # with what stopped it: the disk took that much at the end
    for args in (["--json"], []):  # `show` said where the run trained to, not where a resume goes on
        code, out, _ = cli(capsys, "show", run_dir, *args)
        assert code == 0 and (json.loads(out)["resume_step"] == 0 if args else "(a resume continues from step 0)" in out), out
    monkeypatch.setattr(writer, "write_checkpoint", real)  # space was freed
    code, out, _ = cli(capsys, "resume", run_dir, "--json", "--no-cache")
    assert code == 0 and json.loads(out)["state"] == "finished"
    ours, theirs = read_steps(run_dir), read_steps(reference["run_dir"])
    assert np.array_equal(ours["loss"], theirs["loss"]) and np.array_equal(ours["lrs"], theirs["lrs"])


def test_a_run_whose_folder_is_deleted_while_it_trains_writes_its_record_back_and_goes_on(tiny, tmp_path, capsys, monkeypatch):
    """`rm -rf` of a training run's folder: the run trained to its end into the deleted database, its checkpoints made
    the folder again beside no record, and at its end it said "is not an lrscope run (no run.sqlite)" with status 2;
    `watch` and an attached window had said "finished" (helper-127)."""
    code, out, _ = cli(capsys, *train_args(tiny, tmp_path / "reference"))
    reference = json.loads(out)
    deleted = delete_the_run_folder_mid_run(monkeypatch)
    code, out, err = cli(capsys, *train_args(tiny, tmp_path / "runs"))
    result, run_dir = json.loads(out), the_run(tmp_path / "runs")
    assert code == 0 and result["state"] == "finished" and deleted, (result, err)
    assert f"the run folder {run_dir} was deleted while the run trained: its record was written back there" in err
    ours, theirs = read_steps(run_dir), read_steps(reference["run_dir"])
    assert np.array_equal(ours["loss"], theirs["loss"]) and np.array_equal(ours["lrs"], theirs["lrs"])  # every step kept
    code, out, _ = cli(capsys, "show", run_dir, "--json")
    assert code == 0 and json.loads(out)["state"] == "finished" and json.loads(out)["config"]["epochs"] == 2


def test_a_deleted_run_folder_gets_back_the_small_files_it_held_as_last_read(tmp_path):
    """A served run's address and token come back too (`lrscope ctl RUN` finds it), the token still private; a file
    written after the folder was last read is not known to have been there."""
    said = Events()
    store = RunStore.create(tmp_path, {"model": "small_cnn"}, {"name": "digits"}, emit=said)
    run_dir = store.run_dir
    (run_dir / "serve.json").write_text('{"address": "127.0.0.1:5555"}\n')
    (run_dir / "serve.token").write_text("secret\n")
    os.chmod(run_dir / "serve.token", 0o600)
    (run_dir / "large.bin").write_bytes(bytes(100_000))
    store.on_event(EpochEnded(1, 10, 0.5, 0.5, 90.0, 0.1))
    assert store.sync()  # its write read the folder
    shutil.rmtree(run_dir)
    store.on_event(EpochEnded(2, 20, 0.4, 0.4, 91.0, 0.1))
    assert store.sync()
    store.close()
    assert (run_dir / "serve.json").read_text() == '{"address": "127.0.0.1:5555"}\n'
    assert (run_dir / "serve.token").read_text() == "secret\n" and (run_dir / "serve.token").stat().st_mode & 0o777 == 0o600
    assert json.loads((run_dir / "config.json").read_text())["dataset"] == {"name": "digits"} and not (run_dir / "large.bin").exists()
    assert [e["epoch"] for e in read_epochs(run_dir)] == [1, 2]  # written before and after the delete
    assert [line.text for line in said.of(LogLine) if "was deleted while the run trained" in line.text]


def test_a_run_whose_folder_is_moved_away_while_it_trains_stops_and_resumes_once_it_is_put_back(tiny, tmp_path, capsys,
                                                                                                 monkeypatch):
    """A folder moved away (to the bin) holds the record: the run stops and says to put it back, and resumes then."""
    from engine.store import writer

    code, out, _ = cli(capsys, *train_args(tiny, tmp_path / "reference"))
    reference = json.loads(out)
    real, away = writer.write_checkpoint, tmp_path / "bin" / "the-run"
    away.parent.mkdir()

    def moving(run_dir, payload, step):
        if step > 0 and not away.exists():
            Path(run_dir).rename(away)
        return real(run_dir, payload, step)

    monkeypatch.setattr(writer, "write_checkpoint", moving)
    code, out, err = cli(capsys, *train_args(tiny, tmp_path / "runs"))
    result, run_dir = json.loads(out), Path(json.loads(out)["run_dir"])
    assert code == 4 and not run_dir.exists(), result
    # Its checkpoints went with it: "no checkpoint is left on disk: start the run again" sent the user to start over.
    assert (f"(run.sqlite: its folder was moved away while the run trained, to {away}): put it back at {run_dir}; what was "
            f"written stays resumable; then `lrscope resume {run_dir}` continues from step {result['resume_step']}") in result["message"]
    assert result["resume_step"] is not None and "run saved in" not in err and "no checkpoint" not in err, err
    away.rename(run_dir)
    monkeypatch.setattr(writer, "write_checkpoint", real)
    code, out, _ = cli(capsys, "resume", result["run_dir"], "--json", "--no-cache")
    assert code == 0 and json.loads(out)["state"] == "finished"
    ours, theirs = read_steps(result["run_dir"]), read_steps(reference["run_dir"])
    assert np.array_equal(ours["loss"], theirs["loss"]) and np.array_equal(ours["lrs"], theirs["lrs"])


def test_a_file_where_the_checkpoints_folder_should_be_is_named_with_what_to_do_not_the_disk(tiny, tmp_path, capsys, monkeypatch):
    """A sync tool (or the user) made a run's `checkpoints` a file: train said "check the disk that holds …", of a disk
    that was fine, and resume "its checkpoints folder is missing; put it back", of a folder with a file in its way."""
    from engine.store import writer

    real = writer.write_checkpoint

    def synced(run_dir, payload, step):
        if step > 0 and (folder := Path(run_dir) / "checkpoints").is_dir():
            shutil.rmtree(folder)
            folder.write_text("")
        return real(run_dir, payload, step)

    monkeypatch.setattr(writer, "write_checkpoint", synced)
    code, out, err = cli(capsys, *train_args(tiny, tmp_path / "runs"))
    message, run_dir = json.loads(out)["message"], the_run(tmp_path / "runs")
    assert code == 4 and err.rstrip().splitlines()[-1] == f"lrscope: error: {message}"
    assert (f"cannot be written (checkpoints is a file, not a folder): move or rename the file {run_dir / 'checkpoints'} "
            "(the run keeps a folder there);") in message and "the disk" not in message, message
    code, _, err = cli(capsys, "resume", run_dir, "--no-cache")
    assert code == 2 and err.strip() == (f"lrscope: error: {run_dir}: its checkpoints folder is a file, not a folder; move that "
                                         "file away and put the folder back to resume the run")


@pytest.mark.parametrize("lost", ["replaced by a file", "emptied"])
def test_a_run_whose_checkpoints_went_mid_run_says_none_is_left_not_the_one_it_wrote(tiny, tmp_path, capsys, monkeypatch, lost):
    """The step-0 checkpoint was written, then its folder was replaced by a file (or emptied before a full disk stopped
    the run): train said "what was written stays resumable; then `lrscope resume …` continues from step 0", and `show`
    "a resume continues from step 0", of a checkpoint no longer on disk."""
    from engine.store import writer

    real = writer.write_checkpoint

    def taken_away(run_dir, payload, step):
        if step == 0:
            return real(run_dir, payload, step)
        folder = Path(run_dir) / "checkpoints"
        shutil.rmtree(folder, ignore_errors=True)
        if lost == "replaced by a file":
            folder.write_text("")
            return real(run_dir, payload, step)
        folder.mkdir()
        raise OSError(errno.ENOSPC, "No space left on device", str(folder / f"step-{step:010d}.pt"))

    monkeypatch.setattr(writer, "write_checkpoint", taken_away)
    code, out, err = cli(capsys, *train_args(tiny, tmp_path / "runs", epochs=4))
    result, run_dir = json.loads(out), the_run(tmp_path / "runs")
    assert code == 4 and result["resume_step"] is None, result
    assert result["message"].endswith("; no checkpoint is left on disk; then start the run again"), result["message"]
    assert not re.search(r"resumable|resume from|resumed from|continues from", err), err
    code, out, _ = cli(capsys, "show", run_dir)
    assert code == 0 and "no checkpoint is left on disk: start it again" in out and "continues from" not in out, out


def limit_file_size(size):
    """For a child: a file-size limit, which the disk enforces as it does a full disk (Python ignores SIGXFSZ)."""
    import resource

    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))


def test_a_disk_that_refuses_the_first_checkpoint_says_which_file_and_what_to_do_and_lists_the_run_stopped(tiny, tmp_path, capsys):
    """Two defects of one run whose disk refuses its first checkpoint:

    torch's own text was shown ("[enforce fail at inline_container.cc:672] . unexpected pos …"), with "stays
    resumable" and no way on, though the run had no checkpoint to resume from. Its progress line said "stopped at step
    0; the run can be resumed" right after "no checkpoint was written yet".

    `lrscope runs` listed it "interrupted", as a killed run: the state it stopped in was among what the disk refused."""
    runs = tmp_path / "runs"
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), *train_args(tiny, runs)], cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=300,
                          preexec_fn=limit_file_size(150_000))  # the database fits, a checkpoint does not
    message = json.loads(done.stdout)["message"]
    assert done.returncode == 4 and done.stderr.rstrip().splitlines()[-1] == f"lrscope: error: {message}"
    assert f"the run store at {the_run(runs)} cannot be written (checkpoints/step-0000000000.pt: the disk is full" in message
    assert "free space on the disk" in message and message.endswith("no checkpoint was written yet; then start the run again")
    assert not re.search(r"enforce|inline_container|unexpected pos|resumable", message), message
    assert "\nstopped at step 0; no checkpoint was written yet: start the run again\n" in done.stderr
    assert "can be resumed" not in done.stderr, done.stderr[-2000:]
    code, out, _ = cli(capsys, "runs", "--runs-dir", runs)
    lines = out.splitlines()
    assert code == 0 and lines[1].split()[4] == "stopped" and "interrupted" not in out, out
    assert re.fullmatch(r"  stopped: its store could not be written \(checkpoints/step-0+\.pt: the disk is full.*\): free space on "
                        r"the disk that holds .+; no checkpoint was written yet: start it again", lines[2]), out
    [listed] = json.loads(cli(capsys, "runs", "--runs-dir", runs, "--json")[1])
    assert listed["state"] == "stopped" and "the disk is full" in listed["why_ended"]


@pytest.mark.parametrize("said", ["[enforce fail at inline_container.cc:672] . unexpected pos 576 vs 534",
                                  "basic_ios::clear: iostream error", "PytorchStreamWriter failed writing file data/0: file write failed"])
def test_each_way_torch_says_a_short_write_is_a_full_disk_naming_the_file(tmp_path, monkeypatch, said):
    from engine.store.checkpoints import write_checkpoint

    monkeypatch.setattr(torch, "save", lambda *a: (_ for _ in ()).throw(RuntimeError(said)))
    with pytest.raises(OSError) as refused:
        write_checkpoint(tmp_path, {}, 3)
    assert refused.value.errno == errno.ENOSPC and refused.value.filename == str(tmp_path / "checkpoints" / "step-0000000003.pt")


def test_a_store_that_fails_keeps_a_prefix_of_its_queue_and_recovers_without_loss(digits16, tmp_path, monkeypatch):
    """Nothing written out of order while failing; nothing lost when the disk comes back."""
    from engine.store import writer

    monkeypatch.setattr(writer, "RETRY_SECONDS", 0.0)
    config, bus, events = tiny_config(epochs=1, checkpoint_every=5), EventBus(), Events()
    bus.subscribe(events)
    store = RunStore.create(tmp_path, config.to_dict(), digits16.summary.to_dict(), emit=bus.emit)
    bus.subscribe(store.on_event)
    job = TrainingJob(config, digits16, bus=bus, store=store)
    real, calls = writer.write_checkpoint, []

    def flaky(run_dir, payload, step):
        calls.append(step)
        if len(calls) in (2, 3):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(run_dir, payload, step)

    monkeypatch.setattr(writer, "write_checkpoint", flaky)
    assert job.run().state == "finished"
    store.close()
    assert len(events.of(StoreFailed)) == 1 and len(events.of(StoreRecovered)) == 1
    assert store.failure is None and store.unwritten == 0
    assert np.array_equal(read_steps(store.run_dir)["step"], np.arange(22)) and read_meta(store.run_dir)["state"] == "finished"


def test_the_window_path_pauses_on_a_store_failure(digits16, tmp_path, monkeypatch):
    """The window's own run answers StoreFailed with Pause (the window then shows why)."""
    from engine.commands import Stop
    from engine.run import InProcessRun, NewRun
    from engine.store import writer
    from gui.run_controller import RunController

    monkeypatch.setattr(writer, "write_checkpoint", lambda *a: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    run = RunController._own(InProcessRun(NewRun(tiny_config(epochs=1), digits16, None, tmp_path)))
    states = []

    def watch(event):
        if type(event).__name__ == "StateChanged":
            states.append(event.state)
            if event.state == "paused":
                run.send(Stop())

    run.subscribe(watch)
    assert run.run().state == "stopped" and "paused" in states


def test_a_run_is_resumable_from_its_first_step_and_checkpoints_on_time(tiny, tmp_path):
    """Case 9: the first checkpoint came at the end of epoch 1, so an early kill lost the whole run."""
    from engine.data.dataset import prepare_configured

    config = tiny_config(data=str(tiny), image_size=8, batch_size=4, epochs=1, checkpoint_seconds=1e-9)
    dataset, events = prepare_configured(config), Events()
    job = TrainingJob(config, dataset)
    job.bus.subscribe(events)
    store = RunStore.create(tmp_path, config.to_dict(), dataset.summary.to_dict(), emit=job.bus.emit)
    job.store = store  # given after the job is built, as the CLI and the window do
    job.bus.subscribe(store.on_event)
    job.run()
    store.close()
    saved = [e.step for e in events.of(CheckpointSaved)]
    assert saved == list(range(7)), saved  # step 0 before training, then every step: the interval is always over
    assert load_latest_checkpoint(store.run_dir)["step"] == 6


def wait_for_first_step(runs, process, timeout=240):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        db = next(runs.glob("*/run.sqlite"), None) if runs.exists() else None
        if db is not None:
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
                    if connection.execute("SELECT COUNT(*) FROM steps").fetchone()[0]:
                        return db.parent
            except sqlite3.OperationalError:
                pass
        time.sleep(0.02)
    raise AssertionError("no step was recorded in time")


def test_killed_right_after_its_first_step_with_the_defaults_it_resumes_identically(tiny, tmp_path, capsys):
    """Case 9, end to end: SIGKILL as soon as a step is on record, no --checkpoint-every, then resume."""
    long = 120  # epochs: the run must outlast the store's first commit (half a second) by far, on any machine
    code, out, _ = cli(capsys, *train_args(tiny, tmp_path / "reference", epochs=long))
    reference = json.loads(out)
    process = subprocess.Popen([sys.executable, str(ROOT / "main.py"), *train_args(tiny, tmp_path / "killed", epochs=long)[:-1]],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run_dir = wait_for_first_step(tmp_path / "killed", process)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    code, out, err = cli(capsys, "resume", run_dir, "--json", "--no-cache")
    assert code == 0 and json.loads(out)["state"] == "finished", err
    ours, theirs = read_steps(run_dir), read_steps(reference["run_dir"])
    assert np.array_equal(ours["loss"], theirs["loss"]) and np.array_equal(ours["lrs"], theirs["lrs"])


def test_resumed_after_its_first_epoch_it_judges_its_losses_as_the_uninterrupted_run(tiny, tmp_path, capsys):
    """The exploding-loss check's trend is saved with the checkpoint. Restarted at the resume, it compared the
    one-cycle peak's losses with a lower first loss, took a spike for an explosion and rolled the run back."""
    # 30 epochs: long enough that a trend restarted at the resume takes the peak's spike for an explosion (12 are not)
    reference = stopped_run(tiny, tmp_path / "reference", epochs=30, stop=False)
    run_dir = stopped_run(tiny, tmp_path / "runs", epochs=30)
    code, out, err = cli(capsys, "resume", run_dir, "--json", "--no-cache")
    assert code == 0 and json.loads(out)["state"] == "finished", err
    ours, theirs = read_steps(run_dir), read_steps(reference)
    assert np.array_equal(ours["loss"], theirs["loss"]) and np.array_equal(ours["lrs"], theirs["lrs"])


def stopped_run(data, root, epochs=2, stop=True):
    """A run of ``data`` stopped after its first epoch (resumable, as after Ctrl-C), or run to its end."""
    from engine.commands import Stop
    from engine.data.dataset import prepare_configured

    config = tiny_config(data=str(data), image_size=8, batch_size=4, epochs=epochs)
    dataset = prepare_configured(config)
    job = TrainingJob(config, dataset)
    store = RunStore.create(root, job.config.to_dict(), dataset.summary.to_dict(), emit=job.bus.emit)
    job.store = store
    job.bus.subscribe(store.on_event)
    if stop:
        job.bus.subscribe(lambda e: job.send(Stop()) if getattr(e, "epoch", None) == 0 else None)
    job.run()
    store.close()
    return store.run_dir


def test_resume_says_what_opening_the_dataset_said_of_its_cache(tiny, tmp_path, capsys):
    """`train` said "the cache folder … is not writable"; `resume` (and the window's) opened the dataset with no log."""
    blocked = tmp_path / "cache-is-a-file"
    blocked.write_text("not a folder")
    code, _, err = cli(capsys, "resume", stopped_run(tiny, tmp_path / "runs"), "--cache-dir", blocked)
    assert code == 0, err[-2000:]
    assert f"the cache folder {blocked} is not writable: images will be decoded again next time" in err.splitlines(), err[-2000:]


@pytest.mark.parametrize("make", [lambda path: os.symlink(path.parent.parent / "precious.txt", path), os.mkfifo, os.mkdir],
                         ids=["link", "fifo", "folder"])
def test_a_lock_file_that_is_not_a_plain_file_is_refused_without_writing_through_it(tmp_path, make):
    """filelock truncates the file it opens: a `lock` linked to another file would have emptied that file."""
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    (tmp_path / "run").mkdir()
    make(tmp_path / "run" / "lock")
    with deadline(60), pytest.raises(RunStoreError, match=r"lock: is a .*, not a regular file; .* delete this one"):
        RunLock(tmp_path / "run").acquire()
    assert precious.read_text() == "keep me"


def test_a_second_owner_is_refused_with_the_owners_pid(tiny, tmp_path, capsys):
    """Case 10: two `lrscope resume` of one run both trained and both wrote "finished"."""
    run_dir = stopped_run(tiny, tmp_path / "runs")
    owner = RunStore(run_dir)  # this process owns it now, as a resume in progress would
    try:
        code, out, err = cli(capsys, "resume", run_dir, "--json", "--no-cache")
        assert code == 5 and json.loads(out)["exit_status"] == 5
        assert f"is in use by process {os.getpid()}" in err and len(err.strip().splitlines()) == 1
        with pytest.raises(RunInUse):
            RunStore(run_dir)  # the window's path (RunController.resume) makes the same store
    finally:
        owner.close()
    code, _, err = cli(capsys, "resume", run_dir, "--json", "--no-cache")
    assert code == 0, err


def test_the_lock_holds_across_processes_and_dies_with_its_owner(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; sys.path.insert(0, sys.argv[1]);"
                               "from engine.store.lock import RunLock; lock = RunLock(sys.argv[2]).acquire(); print('held', flush=True);"
                               "time.sleep(60)", str(ROOT), str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunInUse, match=f"in use by process {holder.pid}"):
            RunLock(tmp_path).acquire()
    finally:
        holder.kill()
        holder.communicate(timeout=30)
    RunLock(tmp_path).acquire().release()  # the OS released it with the process


def good_payload(digits16):
    return TrainingJob(tiny_config(), digits16).checkpoint_payload()


def without(payload, *path):
    target = payload
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return payload


@pytest.mark.parametrize("damage, reason", [
    (lambda p: without(p, "state"), "training state is missing"),
    (lambda p: without(p, "state", "model"), "model weights are missing"),
    (lambda p: without(p, "state", "optimizer"), "optimizer state is missing"),
    (lambda p: p["state"].update(rng_cpu=torch.zeros(3)), "random-number state"),
    (lambda p: p.update(step="7"), "step is missing or not a whole number"),
    (lambda p: p.update(run_schedule="{"), "schedule or metrics cannot be read"),
    (lambda p: p.update(run_schedule=json.dumps({"timeline": []})), "schedule or metrics cannot be read"),
    (lambda p: p.update(metrics='["x"]'), "metrics are not numbers"),
    (lambda p: p.update(metrics='{"val_loss": 1%s}' % ("0" * 400)), "metrics are not numbers"),
    (lambda p: p.update(run_schedule=re.sub(r'(lr": )[0-9.e-]+', r"\g<1>1" + "0" * 400, p["run_schedule"], count=1)),
     "schedule or metrics cannot be read"),  # OverflowError: int too large to convert to float
    (lambda p: p.update(version=3), "format version is 3"),
    (lambda p: p.update(handlers='[1]'), "handlers' states are not an object"),
    (lambda p: p.update(handlers='{"plateau": 5}'), "plateau rule's) is not an object"),
    (lambda p: without(p, "handlers"), "handlers or metrics field is missing"),
    (lambda p: p.update(epoch_loss='{"total": 1.5, "count": -1}'), "epoch's loss so far is not a sum and a count"),
    (lambda p: p.update(epoch_loss='[1.5, 3]'), "epoch's loss so far is not a sum and a count"),
])
def test_checkpoints_with_the_right_tag_and_the_wrong_content_are_refused(digits16, damage, reason):
    """Case 11: a checkpoint missing `state` or `model` gave a KeyError traceback on resume."""
    payload = good_payload(digits16)
    assert structure_problem(payload) is None
    damage(payload)
    assert reason in structure_problem(payload)


def test_a_checkpoint_written_before_it_kept_the_epochs_losses_still_resumes(digits16):
    payload = without(good_payload(digits16), "epoch_loss")
    assert structure_problem(payload) is None
    # it resumes its epoch from its own step, as it did before checkpoints kept them
    assert TrainingJob(tiny_config(), digits16, resume=payload).recorder.epoch_state() == {"total": 0.0, "count": 0}


def test_resume_falls_back_past_a_checkpoint_with_the_wrong_content(tiny, tmp_path, capsys):
    run_dir = stopped_run(tiny, tmp_path / "runs")
    newest = sorted((run_dir / "checkpoints").iterdir())[-1]
    torch.save({"format": "lrscope.checkpoint", "version": 1, "step": 99, "epoch_end_pending": False,
                "run_schedule": "{}", "plateau": "null", "metrics": "{}"}, newest)
    code, out, err = cli(capsys, "resume", run_dir, "--json", "--no-cache")
    assert code == 0 and f"{newest.name} was refused: its training state is missing; trying the checkpoint before it" in err
    for path in (run_dir / "checkpoints").iterdir():
        torch.save({"format": "lrscope.checkpoint"}, path)
    with sqlite3.connect(run_dir / "run.sqlite") as db:
        db.execute("UPDATE meta SET value='stopped' WHERE key='state'")
    code, _, err = cli(capsys, "resume", run_dir, "--no-cache")
    assert code == 2 and err.rstrip().splitlines()[-1].startswith("lrscope: error:") and "Traceback" not in err


def test_a_checkpoint_of_another_model_is_a_one_line_error(digits16, tmp_path):
    payload = TrainingJob(tiny_config(model="mobilenet_v3_small"), digits16).checkpoint_payload()
    with pytest.raises(RunStoreError, match="the checkpoint of step 0 does not fit this run"):
        TrainingJob(tiny_config(), digits16, resume=payload)


def test_a_hostile_checkpoint_is_refused_in_one_line(tmp_path, capsys):
    """Case 13: torch's warning of several lines leaked to stderr when a hostile checkpoint was refused."""
    import pickle

    folder = tmp_path / "run" / "checkpoints"
    folder.mkdir(parents=True)
    with open(folder / "step-0000000002.pt", "wb") as handle:
        pickle.dump({"format": "lrscope.checkpoint", "evil": os.system}, handle, protocol=4)
    torch.save({"format": "lrscope.checkpoint", "evil": os.system}, folder / "step-0000000001.pt")
    os.mkfifo(folder / "step-0000000003.pt")
    notes = []
    with pytest.raises(RunStoreError, match="none of its 3 checkpoints can be read"):
        load_latest_checkpoint(tmp_path / "run", warn=notes.append)
    assert notes[0] == "step-0000000003.pt was refused: is a named pipe (FIFO), not a regular file; trying the checkpoint before it"
    assert all("\n" not in note and "\x1b" not in note for note in notes) and "(posix.system)" in notes[2]
    assert capsys.readouterr().err == ""


def damaged_runs(root):
    """One good run, one with only a meta table, one with garbage for a database, one with a bad LR cell."""
    good = root / "20200101-000000-good-aaaa"
    good.mkdir(parents=True)
    with sqlite3.connect(good / "run.sqlite") as db:
        from engine.store.database import SCHEMA

        db.executescript(SCHEMA)
        db.executemany("INSERT INTO meta VALUES (?,?)", [("state", "finished"), ("dataset", '{"name": "digits"}'),
                                                         ("groups", '["backbone", "head"]'), ("total_steps", "2")])
        db.executemany("INSERT INTO steps VALUES (?,?,?,?,?,?,?)",
                       [(0, 0.0, 2.3, "[0.1, 0.1]", 0.9, 1.0, 0.0), (1, 0.5, 2.1, "not json", 0.9, 1.0, 0.0),
                        (2, 1.0, 2.0, "[1%s, 0.1]" % ("0" * 400), 0.9, 1.0, 0.0)])
    meta_only = root / "20200101-000001-meta-bbbb"
    meta_only.mkdir()
    with sqlite3.connect(meta_only / "run.sqlite") as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    garbage = root / "20200101-000002-junk-cccc"
    garbage.mkdir()
    (garbage / "run.sqlite").write_bytes(b"this is not a database" * 100)
    return good, meta_only, garbage


def test_one_damaged_run_does_not_break_the_list(tmp_path, capsys):
    """Case 12: a run.sqlite with only a meta table made `lrscope runs` fail for every run."""
    good, meta_only, garbage = damaged_runs(tmp_path / "runs")
    code, out, err = cli(capsys, "runs", "--runs-dir", tmp_path / "runs")
    assert code == 0 and "Traceback" not in err
    lines = {line.split()[0]: line for line in out.splitlines()[1:] if not line.startswith(" ")}
    assert "finished" in lines[good.name] and "damaged" in lines[meta_only.name] and "damaged" in lines[garbage.name]
    assert "no such table: steps" in out and "cannot be read" in out


def test_a_bad_cell_in_the_steps_is_written_as_nan_with_a_warning(tmp_path, capsys):
    """Case 12: invalid JSON in a steps.lrs cell made `show --csv` fail with a traceback."""
    good, meta_only, _ = damaged_runs(tmp_path / "runs")
    code, out, err = cli(capsys, "show", good, "--csv")
    assert code == 0 and out.splitlines()[2].split(",")[2:4] == ["nan", "nan"]
    assert out.splitlines()[3].split(",")[2:4] == ["nan", "0.1"]  # an integer too large for a float
    assert "damaged LR cells in 1 step of" in err
    code, _, err = cli(capsys, "show", meta_only)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "damaged" in err


@pytest.mark.parametrize("damage, listed, refused", [
    ("config", "its config.json is damaged (not valid JSON): put back a good copy; it cannot be resumed",
     "{name}: its config.json is damaged (not valid JSON): put back a good copy; the run cannot be resumed without it"),
    # Valid JSON of values no run takes was listed "stopped", and its resume named the first of them (helper-75).
    ("settings", "its config.json holds settings no run takes (lr: must be a number; epochs: must be at least 1 and at most "
                 "100,000); it cannot be resumed",
     "{name}: its config.json holds settings no run takes (lr: must be a number; epochs: must be at least 1 and at most 100,000); "
     "the run cannot be resumed until they are fixed"),
    ("checkpoints", "its checkpoints folder is missing; it cannot be resumed",
     "{run_dir}: its checkpoints folder is missing; put it back to resume the run"),
])
def test_a_run_whose_files_are_damaged_is_listed_damaged_and_its_resume_says_why_in_words(tiny, tmp_path, capsys, damage, listed, refused):
    """Both were listed `interrupted`; the resume said "cannot be used (Expecting property name enclosed in double quotes:
    line 1 column 2 (char 1))", or "it ended before its first checkpoint was written" of a run of 185 steps."""
    import shutil

    run_dir = stopped_run(tiny, tmp_path / "runs")
    if damage == "config":
        (run_dir / "config.json").write_text("{bad")
    elif damage == "settings":
        saved = json.loads((run_dir / "config.json").read_text())
        saved["config"] |= {"lr": "fast", "epochs": -3}
        (run_dir / "config.json").write_text(json.dumps(saved))
    else:
        shutil.rmtree(run_dir / "checkpoints")
    code, out, _ = cli(capsys, "runs", "--runs-dir", tmp_path / "runs")
    line, note = out.splitlines()[1:3]
    assert code == 0 and " damaged " in line and note.strip() == listed
    code, _, err = cli(capsys, "resume", run_dir, "--no-cache")
    assert code == 2 and err.strip() == "lrscope: error: " + refused.format(name=run_dir.name, run_dir=run_dir)


def test_checkpoints_that_cannot_be_read_for_their_permissions_say_to_fix_them(tiny, tmp_path, capsys, monkeypatch):
    """It said "[Errno 13] Permission denied: '…/step-0000000176.pt'" for each, then "the run cannot be resumed"; it can,
    once the permissions are fixed."""
    from engine.store import checkpoints

    run_dir = stopped_run(tiny, tmp_path / "runs")

    def denied(path):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(checkpoints, "load_tensors", denied)
    code, _, err = cli(capsys, "resume", run_dir, "--no-cache")
    count = len(list((run_dir / "checkpoints").iterdir()))
    assert code == 2 and "was refused: Permission denied; trying the checkpoint before it" in err
    assert err.strip().splitlines()[-1] == (f"lrscope: error: {run_dir}: none of its {count} checkpoints can be read (permission "
                                            "denied); fix their permissions, then resume again")


def test_delete_finds_every_name_first_refuses_a_run_in_use_and_never_a_folder_that_is_not_a_run(tiny, tmp_path, capsys):
    """Runs could not be deleted at all: the runs folder filled with trials and tries."""
    from engine.store.delete import delete_run

    runs = tmp_path / "runs"
    kept, gone = stopped_run(tiny, runs), stopped_run(tiny, runs)
    code, _, err = cli(capsys, "delete", gone.name, "no-such-run", "--runs-dir", runs)
    assert code == 2 and "no-such-run" in err and gone.is_dir()  # a mistyped name deletes nothing, not the ones before it
    owner = RunStore(kept)  # a process trains it
    try:
        code, _, err = cli(capsys, "delete", gone.name, kept.name, "--runs-dir", runs)
        assert code == 5 and f"is in use by process {os.getpid()}" in err and err.strip().endswith("and delete it")
        assert gone.is_dir()  # checked before any went: the first was deleted before the second was refused
    finally:
        owner.close()
    with pytest.raises(RunStoreError, match="is not a run's folder .* nothing was deleted"):
        delete_run(tiny)
    assert tiny.is_dir() and kept.is_dir()
    code, _, err = cli(capsys, "delete", gone.name, str(kept), gone.name, "--runs-dir", runs)
    assert code == 0 and err.splitlines() == [f"deleted {gone.name}", f"deleted {kept.name}"], err
    assert not kept.exists() and not gone.exists()
    assert cli(capsys, "runs", "--runs-dir", runs, "--json")[1].strip() == "[]"
