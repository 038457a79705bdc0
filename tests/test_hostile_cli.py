"""The command line on hostile input (issue 13): the headless fault policy (case 1), exit statuses, and
every command on every hostile fixture, each ending at once with status 2 and one line, never a traceback."""

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from helpers import ROOT, SAMPLE, cli, lrscope, write_image, write_one_odd_size, write_two_classes
from test_hostile_schedule import deadline, one_line_error

from engine.cli.fault_policy import FaultPolicy
from engine.commands import RollBack, Stop
from engine.events import STORE_UNWRITABLE, FaultRaised, StoreFailed
from engine.store.reader import read_epochs, read_meta

QUICK = ["--image-size", "8", "--batch-size", "4", "--epochs", "2", "--no-cache"]


def make_classes(root, classes=("0", "1", "2"), count=8):
    for label, name in enumerate(classes):
        for i in range(count):
            write_image(root / name / f"{i}.png", value=30 + 70 * label + i)
    return root


def loss_fault(kind="exploding_loss"):
    return FaultRaised(kind, 12, 99.0, "The loss is exploding.", "Roll back.", can_roll_back=True)


def test_the_policy_rolls_back_at_most_n_times_then_stops():
    sent = []
    policy = FaultPolicy(sent.append, "rollback", max_rollbacks=2)
    for _ in range(3):
        policy(loss_fault())
    assert sent == [RollBack(0.1), RollBack(0.1), Stop(fault="exploding_loss")] and policy.rollbacks == 2 and policy.fault is not None


def test_the_policy_stops_where_a_rollback_cannot_help_and_waits_when_told_to():
    sent = []
    FaultPolicy(sent.append, "rollback")(FaultRaised("out_of_memory", 3, 0.1, "OOM.", "Lower the batch size."))
    FaultPolicy(sent.append, "stop")(loss_fault())
    FaultPolicy(sent.append, "pause")(loss_fault())
    assert sent == [Stop(fault="out_of_memory"), Stop(fault="exploding_loss")]  # the StateChanged "stopped" says which
    policy = FaultPolicy(sent.append)
    policy(StoreFailed("/runs/x", "disk full", 0))
    assert sent[-1] == Stop(fault=STORE_UNWRITABLE) and policy.store_failure is not None  # its watchers say so too


def test_headless_training_does_not_wait_for_a_human_on_a_loss_blow_up(tmp_path, capsys):
    """Case 1: `--lr 99 --shape constant` paused forever, waiting for a user who was not there."""
    data = make_classes(tmp_path / "d", count=20)
    blow_up = [*QUICK, "--lr", "99", "--shape", "constant"]
    with deadline(600):
        code, out, err = cli(capsys, "train", "--data", data, *blow_up, "--json", "--on-fault", "stop", "--runs-dir", tmp_path / "runs")
    result = json.loads(out)
    assert code == 3 and result["exit_status"] == 3 and result["state"] == "stopped"
    assert result["fault"]["kind"] in ("exploding_loss", "nan_loss") and "stopping (--on-fault stop)" in err
    assert "--on-fault rollback` continues from the last good checkpoint" in err.rstrip().splitlines()[-1]
    with deadline(600):
        code, out, err = cli(capsys, "train", "--data", data, *blow_up, "--json", "--runs-dir", tmp_path / "runs")
    result = json.loads(out)  # the default: roll back with the LR ×0.1, at most 3 times, then stop
    assert result["rollbacks"] >= 1 and "rolling back (1 of at most 3)" in err
    assert (code, result["state"]) in ((0, "finished"), (3, "stopped"))


def test_the_advice_after_a_loss_blow_up_resumes_the_run_without_blowing_up_again(tmp_path, capsys):
    """After `--on-fault stop` the advice was a plain `lrscope resume RUN`, and resuming, the way the run was started,
    blew up again (exit 3). The command it gives now rolls back with the LR ×0.1 and the run ends."""
    data = SAMPLE
    runs = tmp_path / "runs"
    code, _, err = cli(capsys, "train", "--data", data, "--image-size", "16", "--epochs", "1", "--lr", "100", "--on-fault", "stop",
                       "--runs-dir", runs, "--checkpoint-seconds", "0")
    assert code == 3, err[-2000:]
    advice = re.search(r"`lrscope (resume [^`]+)` continues from the last good checkpoint and, each time the loss blows up "
                       r"again, goes back with the LR ×0\.1$", err.rstrip().splitlines()[-1])
    assert advice, err.rstrip().splitlines()[-1]
    # As given, without --runs-dir: the run is outside the default folder, and a bare id said "no run named …".
    code, out, err = cli(capsys, *shlex.split(advice.group(1)), "--json")
    result = json.loads(out)
    assert result["state"] == "finished", err[-2000:]
    # It runs to its end; at LR 100 ×0.1 its last validation may still say the weights are damaged, which exits 3.
    damaged = result.get("fault", {}).get("kind") == "damaged_weights"
    assert code == (3 if damaged else 0) == result["exit_status"], err[-2000:]
    assert "rolling back (1 of at most 3) to the last good state" in err
    assert re.search(r"^went on from step \d+, where the rollback returned$", err, re.M), err[-2000:]


def test_the_start_line_counts_only_the_images_that_train(tmp_path, capsys):
    """It said "24 images" for a folder with an unreadable one, which trained 23 (the window counted them right)."""
    data = make_classes(tmp_path / "d")
    (data / "1" / "0.png").write_bytes(b"not an image")
    code, _, err = cli(capsys, "train", "--data", data, *QUICK, "--epochs", "1", "--runs-dir", tmp_path / "runs")
    assert code == 0 and ": 23 of 24 images (1 unreadable), " in err


def test_a_strip_and_a_color_image_in_a_grayscale_folder_are_each_said_once_before_training(tmp_path, capsys):
    data = make_classes(tmp_path / "d")
    write_image(data / "0" / "strip.png", size=(90, 12))
    write_image(data / "2" / "red.png", "RGB")
    code, _, err = cli(capsys, "train", "--data", data, *QUICK, "--epochs", "1", "--runs-dir", tmp_path / "runs")
    assert code == 0, err
    said = [line for line in err.splitlines() if "0/strip.png" in line or "2/red.png" in line]
    assert said == ["warning: 1 image has one side over twice the other (0/strip.png 90×12): training crops each image to its "
                    "central square, which cuts off over half of such an image; crop or pad it to near-square if what is cut "
                    "off matters",
                    "warning: 1 image in color among grayscale ones (2/red.png): the whole dataset trains in color (3 "
                    "channels) because of it; convert it to grayscale, or remove it, to train on 1 channel"], err


def test_an_elongated_image_past_the_sample_of_headers_is_said_once_the_decode_measured_it(tmp_path, capsys):
    """The warning looked at a sample of 400 headers, and said nothing of the one 4×12 image among 403 that the decode,
    which reads every image, had measured."""
    data = write_one_odd_size(tmp_path / "odd", odd=(4, 12))
    code, _, err = cli(capsys, "train", "--data", data, *QUICK, "--epochs", "1", "--runs-dir", tmp_path / "runs")
    assert code == 0, err[-2000:]
    assert "warning: 1 image has one side over twice the other (b/127.png 4×12): training crops" in err, err[-2000:]


def test_a_batch_larger_than_the_dataset_is_said_once_with_the_images_and_the_batch_used(tmp_path, capsys):
    """It trained 1 step per epoch without a word."""
    data = make_classes(tmp_path / "d")
    # Two steps cannot hold a one-cycle (the default shape): it trained one from its final LR, and stored a run whose
    # schedule `show` could not read back. Refused before any run is stored, with what to do.
    code, _, err = cli(capsys, "train", "--data", data, *QUICK, "--batch-size", "100", "--runs-dir", tmp_path / "runs")
    assert code == 2 and one_line_error(err) and not (tmp_path / "runs").exists(), err
    assert "schedule: over this run's 2 steps, segments[0] (one_cycle): pct_start 0.3 leaves a phase of this 2-step one-cycle " \
           "with no steps; it needs at least 4 steps: lengthen the run (more epochs, a smaller batch)" in err, err
    code, out, err = cli(capsys, "train", "--data", data, *QUICK, "--batch-size", "100", "--epochs", "4", "--json",
                         "--runs-dir", tmp_path / "runs")
    said = [line for line in err.splitlines() if "batch size 100" in line]
    images = re.fullmatch(r"warning: the batch size 100 is more than the (\d+) training images, so each epoch is 1 step "
                          r"of all of them \(batch size \1\); lower --batch-size for more steps", said[0]) if said else None
    assert code == 0 and len(said) == 1 and images and int(images.group(1)) < 24, err
    assert json.loads(out)["steps"] == 4  # one per epoch, as it said
    code, _, err = cli(capsys, "train", "--data", data, *QUICK, "--runs-dir", tmp_path / "runs")
    assert code == 0 and "batch size" not in err


def test_watching_a_run_that_is_not_served_says_what_to_do_for_its_state(tmp_path, capsys):
    """A finished run was told to `resume --serve`, which has nothing left to train."""
    data = make_classes(tmp_path / "d")
    runs = ["--runs-dir", tmp_path / "runs"]
    assert cli(capsys, "train", "--data", data, *QUICK, "--epochs", "1", *runs)[0] == 0
    (run_dir,) = (tmp_path / "runs").iterdir()
    code, _, err = cli(capsys, "watch", run_dir.name, *runs)
    # Outside the default folder the commands name the run by its folder: by id they said "no run named …".
    assert code == 2 and one_line_error(err) and f"finished and is not being served: `lrscope show {run_dir.resolve()}`" in err
    with sqlite3.connect(run_dir / "run.sqlite") as db:
        db.execute("UPDATE meta SET value = 'stopped' WHERE key = 'state'")
    code, _, err = cli(capsys, "ctl", run_dir.name, "pause", *runs)
    assert code == 2 and f"is stopped and not being served: `lrscope resume {run_dir.resolve()} --serve`" in err


def test_json_is_printed_even_for_an_error(tmp_path, capsys):
    code, out, err = cli(capsys, "train", "--data", tmp_path / "nothing", "--json")
    assert code == 2 and json.loads(out) == {"state": "error", "exit_status": 2, "message": json.loads(out)["message"]}
    assert "no such folder" in json.loads(out)["message"] and one_line_error(err)


@pytest.mark.parametrize("args, help_", [(["train", "--bogus"], "lrscope train"), (["train", "--data", "d", "--bogus"], "lrscope train"),
                                          (["tune", "--budget", "many"], "lrscope tune"),
                                          (["range-test", "--serve", "x"], "lrscope range-test"), (["nonsense"], "lrscope")])
def test_a_mistyped_option_with_json_still_prints_the_object_and_names_the_help_that_lists_it(capsys, args, help_):
    """An unknown option after a command's required ones pointed to `lrscope --help`, which does not list it."""
    code, out, err = cli(capsys, *args, "--json")
    assert code == 2 and json.loads(out)["exit_status"] == 2 and one_line_error(err) and f"(see `{help_} --help`)" in err


@pytest.mark.parametrize("address, message", [("127.0.0.1:99999", "with a port from 0 to 65535"),
                                               ("10.255.255.1:5555", "cannot listen at 10.255.255.1:5555")])
def test_an_address_that_cannot_be_served_ends_before_a_run_folder_is_made(tmp_path, capsys, address, message):
    """It once ended in a zmq traceback, after training had made an empty run that then read 'interrupted'."""
    data = make_classes(tmp_path / "d")
    code, out, err = cli(capsys, "train", "--data", data, *QUICK, "--serve", address, "--json", "--runs-dir", tmp_path / "runs")
    assert code == 2 and message in json.loads(out)["message"] and one_line_error(err)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_ctl_waits_for_a_silent_address_no_longer_than_its_timeout_and_takes_options_after_the_action(tmp_path, capsys):
    """--timeout was ignored while connecting (always 10 s); --runs-dir after the action was refused."""
    with socket.socket() as silent:  # takes the connection (the kernel does) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        code, out, err = cli(capsys, "ctl", "{}:{}".format(*silent.getsockname()), "--token", "t", "--timeout", "1", "pause", "--json")
    # Not a run: it took the connection and gave no greeting (it said "no answer … is the run still served?").
    assert code == 2 and "took the connection but gave no greeting within 1 s: is it the port the run printed?" in \
        json.loads(out)["message"] and one_line_error(err)
    code, _, err = cli(capsys, "ctl", "some-run", "pause", "--runs-dir", tmp_path / "runs", "--timeout", "1")
    assert code == 2 and f"no run named 'some-run' under {tmp_path / 'runs'}" in err


def test_ctl_at_a_served_run_that_does_not_greet_says_the_run_is_not_answering_not_that_the_port_is_wrong(tmp_path, capsys):
    """A run stopped with SIGSTOP, reached by its name: "is it the port the run printed?", of the port the run's own
    folder gave (helper-127)."""
    from engine.serve.access import Access, publish
    from engine.store import RunStore

    store = RunStore.create(tmp_path / "runs", {"model": "small_cnn"}, {"name": "digits"})
    store.close()
    with socket.socket() as frozen:  # the kernel takes the connection for a stopped process, which says nothing
        frozen.bind(("127.0.0.1", 0))
        frozen.listen()
        publish(store.run_dir, Access("tcp://{}:{}".format(*frozen.getsockname()), "t"))  # by this (live) process
        code, _, err = cli(capsys, "ctl", store.run_id, "pause", "--runs-dir", tmp_path / "runs", "--timeout", "1")
    assert code == 2 and one_line_error(err), err
    assert "took the connection but did not greet within 1 s: its process is there but not answering (stopped, or swamped)" in err
    assert "is it the port" not in err


def free_port() -> int:
    """A port of this machine where nothing listens."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        return unused.getsockname()[1]


def test_ctl_at_an_address_where_nothing_listens_or_with_a_port_out_of_range_says_so(tmp_path, capsys):
    """A refused connection waited the whole connect timeout (10 s) to say "no answer"; port 99999 was "no run named …"."""
    port = free_port()
    code, out, err = cli(capsys, "ctl", f"127.0.0.1:{port}", "--token", "t", "pause", "--json", "--runs-dir", tmp_path)
    message = json.loads(out)["message"]
    assert code == 2 and message.startswith(f"nothing is listening at 127.0.0.1:{port}: is the run served (--serve)?")
    assert one_line_error(err)
    code, _, err = cli(capsys, "ctl", "127.0.0.1:99999", "--token", "t", "pause", "--runs-dir", tmp_path)
    assert code == 2 and "'127.0.0.1:99999': port 99999 is out of range; give HOST:PORT with a port from 0 to 65535" in err


def test_ctl_refuses_a_range_test_of_a_bad_size_before_connecting():
    """`ctl ADDRESS range-test --iters 1` was checked once connected: where nothing listens it said that instead, and
    a run that answers slowly made it wait for it."""
    done = lrscope("ctl", f"127.0.0.1:{free_port()}", "--token", "t", "range-test", "--iters", "1", "--json")
    assert done.returncode == 2 and one_line_error(done.stderr), done.stderr
    assert json.loads(done.stdout)["message"] == "--iters: must be a whole number from 2 to 100,000, got 1"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Every hostile input of the issue (and more), built once: name -> path."""
    base = tmp_path_factory.mktemp("hostile")
    good = make_classes(base / "good")
    paths = {"good": good}

    def dataset(name, build):
        root = base / name
        build(root)
        paths[name] = root

    dataset("missing", lambda root: None)
    dataset("a_file", lambda root: root.write_text("x"))
    dataset("a_fifo", lambda root: os.mkfifo(root))
    dataset("empty", lambda root: root.mkdir())
    dataset("one_class", lambda root: make_classes(root, ("only",)))
    dataset("train_only", lambda root: make_classes(root / "train"))
    dataset("empty_val", lambda root: (make_classes(root / "train"), (root / "val" / "0").mkdir(parents=True)))
    dataset("class_alias", lambda root: (make_classes(root), os.symlink("0", root / "9")))
    dataset("val_leak", lambda root: (make_classes(root / "train"), (root / "val").mkdir(),
                                      [os.symlink(root / "train" / c, root / "val" / c) for c in ("0", "1", "2")]))
    dataset("all_corrupt", lambda root: (make_classes(root), [p.write_bytes(b"junk") for p in (root / "2").iterdir()]))
    dataset("one_each", lambda root: make_classes(root, count=1))
    dataset("loose_images", lambda root: [write_image(root / f"{i}.png") for i in range(3)])

    schedules = base / "schedules"
    schedules.mkdir()
    from test_schedule_file import document

    def schedule(name, content):
        path = schedules / f"{name}.json"
        if callable(content):
            content(path)
        else:
            path.write_text(content if isinstance(content, str) else json.dumps(content))
        paths[f"schedule_{name}"] = path

    def changed(**fields):
        data = document()
        data.update(fields)
        return data

    schedule("fifo", os.mkfifo)
    schedule("device", lambda path: os.symlink("/dev/zero", path))
    schedule("folder", lambda path: path.mkdir())
    schedule("missing", lambda path: None)
    schedule("sparse_huge", lambda path: os.truncate(os.open(path, os.O_CREAT | os.O_WRONLY), 64 * 1024**2))
    schedule("binary", lambda path: path.write_bytes(b"\xff\xfe\x00\x81" * 100))
    schedule("not_json", "{")
    schedule("wrong_format", changed(format="something"))
    schedule("steps_as_text", changed(total_steps="100"))
    schedule("nan", '{"format": "lrscope.schedule", "version": 1, "lr": NaN}')
    schedule("deep", "[" * 100_000 + "]" * 100_000)
    schedule("negative_lr", json.dumps(document()).replace('"lr": 0.01', '"lr": -0.01'))
    schedule("huge_number", json.dumps(document()).replace('"lr": 0.01', '"lr": 1e999'))
    schedule("huge_integer", json.dumps(document()).replace('"lr": 0.01', '"lr": 1' + "0" * 400))  # overflowed float()
    paths["good_schedule"] = schedules / "good.json"
    paths["good_schedule"].write_text(json.dumps(document()))
    paths.update(_runs(base, good))
    return paths


def _runs(base, data):
    """A real stopped run, then damaged copies of it."""
    from helpers import tiny_config

    from engine.commands import Stop
    from engine.data.dataset import prepare_configured
    from engine.store import RunStore
    from engine.training.job import TrainingJob

    config = tiny_config(data=str(data), image_size=8, batch_size=4, epochs=2)
    dataset = prepare_configured(config)
    job = TrainingJob(config, dataset)
    store = RunStore.create(base / "runs", config.to_dict(), dataset.summary.to_dict(), emit=job.bus.emit)
    job.store = store
    job.bus.subscribe(store.on_event)
    job.bus.subscribe(lambda e: job.send(Stop()) if getattr(e, "epoch", None) == 0 else None)
    job.run()
    store.close()
    runs = {}

    def damaged(name, damage):
        run_dir = base / "damaged" / name
        shutil.copytree(store.run_dir, run_dir)
        damage(run_dir)
        runs[f"run_{name}"] = run_dir

    def sql(statement):
        def apply(run_dir):
            with sqlite3.connect(run_dir / "run.sqlite") as db:
                db.executescript(statement)
        return apply

    def every_checkpoint(write):
        return lambda run_dir: [write(p) for p in (run_dir / "checkpoints").iterdir()]

    damaged("garbage_db", lambda run_dir: (run_dir / "run.sqlite").write_bytes(b"not a database" * 100))
    damaged("db_is_a_folder", lambda run_dir: ((run_dir / "run.sqlite").unlink(), (run_dir / "run.sqlite").mkdir()))
    damaged("db_is_a_fifo", lambda run_dir: ((run_dir / "run.sqlite").unlink(), os.mkfifo(run_dir / "run.sqlite")))
    damaged("meta_only", sql("DROP TABLE steps; DROP TABLE epochs; DROP TABLE edits; DROP TABLE events; DROP TABLE range_tests;"))
    damaged("bad_meta", sql("UPDATE meta SET value = '[1, 2' WHERE key IN ('config', 'dataset', 'groups');"
                            "UPDATE meta SET value = 'soon' WHERE key IN ('created', 'total_steps', 'pid');"))
    damaged("config_fifo", lambda run_dir: ((run_dir / "config.json").unlink(), os.mkfifo(run_dir / "config.json")))
    damaged("config_huge_integer", lambda run_dir: (run_dir / "config.json").write_text(
        re.sub(r'"lr": [0-9.e-]+', '"lr": 1' + "0" * 400, (run_dir / "config.json").read_text())))
    damaged("config_wrong", lambda run_dir: (run_dir / "config.json").write_text('{"config": {"lr": "fast"}, "dataset": {}}'))
    damaged("no_checkpoints", lambda run_dir: shutil.rmtree(run_dir / "checkpoints"))
    damaged("code_in_checkpoints", every_checkpoint(lambda p: torch.save({"format": "lrscope.checkpoint", "x": os.system}, p)))
    damaged("hollow_checkpoints", every_checkpoint(lambda p: torch.save({"format": "lrscope.checkpoint", "step": 1}, p)))
    damaged("fifo_checkpoints", every_checkpoint(lambda p: (p.unlink(), os.mkfifo(p))))
    damaged("lock_link", lambda run_dir: ((run_dir / "lock").unlink(missing_ok=True), os.symlink(run_dir / "config.json", run_dir / "lock")))
    damaged("finished", sql("UPDATE meta SET value = 'finished' WHERE key = 'state';"))
    damaged("dataset_changed", lambda run_dir: (run_dir / "config.json").write_text(
        (run_dir / "config.json").read_text().replace(dataset.summary.fingerprint, "0000000000000000")))
    return runs


DATASETS = ["missing", "a_file", "a_fifo", "empty", "one_class", "train_only", "empty_val", "class_alias", "val_leak",
            "all_corrupt", "one_each", "loose_images"]
SCHEDULES = ["fifo", "device", "folder", "missing", "sparse_huge", "binary", "not_json", "wrong_format", "steps_as_text",
             "nan", "deep", "negative_lr", "huge_number", "huge_integer"]
RUNS = ["garbage_db", "db_is_a_folder", "db_is_a_fifo", "meta_only", "bad_meta", "config_fifo", "config_huge_integer", "config_wrong", "no_checkpoints",
        "code_in_checkpoints", "hollow_checkpoints", "fifo_checkpoints", "lock_link", "finished", "dataset_changed"]


def commands_on(name, paths, tmp):
    """Every command that reads the hostile input ``name``, as argument lists."""
    if name in DATASETS:
        data = paths[name]
        return [["train", "--data", data, *QUICK, "--runs-dir", tmp / "runs"],
                ["range-test", "--data", data, *QUICK, "--iters", "5"],
                ["train", "--data", data, *QUICK, "--json", "--runs-dir", tmp / "runs"]]
    if name in SCHEDULES:
        schedule = paths[f"schedule_{name}"]
        return [["schedule", "show", schedule], ["schedule", "csv", schedule], ["schedule", "plot", schedule, "-o", tmp / "p.png"],
                ["train", "--data", paths["good"], *QUICK, "--schedule", schedule, "--accept-mismatch", "--runs-dir", tmp / "runs"]]
    run = paths[f"run_{name}"]
    commands = [["resume", run, "--no-cache"], ["resume", run, "--no-cache", "--json"]]
    if name in ("garbage_db", "db_is_a_folder", "db_is_a_fifo", "meta_only", "bad_meta"):
        commands.append(["show", run])
    if name in ("garbage_db", "db_is_a_folder", "db_is_a_fifo", "meta_only"):  # with its steps intact, --csv of bad_meta works
        commands.append(["show", run, "--csv"])
    return commands


BAD_OPTIONS = [
    ["schedule", "csv", "SCHEDULE", "--steps", "0"],
    ["schedule", "csv", "SCHEDULE", "--steps", str(10**10)],  # streamed 10^10 rows
    ["schedule", "plot", "SCHEDULE", "--steps", str(10**13), "-o", "OUT/p.png"],
    ["schedule", "plot", "SCHEDULE", "-o", "OUT/no/such/folder/p.png"],
    ["train", "--data", "GOOD", "--memory-budget-mb", "-1"],
    ["train", "--data", "GOOD", "--checkpoint-seconds", "-1"],
    ["train", "--data", "GOOD", "--max-rollbacks", "-1"],
    ["train", "--data", "GOOD", "--on-fault", "ignore"],
    ["train", "--data", "GOOD", "--export-schedule", "OUT/no/such/folder/s.json"],
    ["range-test", "--data", "GOOD", "--csv", "OUT/no/such/folder/c.csv"],
    ["range-test", "--data", "GOOD", "--csv", "FIFO"],  # open() for writing waited for a reader forever
    ["schedule", "plot", "SCHEDULE", "-o", "FIFO"],
    ["train", "--data", "GOOD", "--weights", "FIFO"],
    # Run as root, a schedule exported to /dev/full replaced the device with the file (here a link to /dev/null stands in).
    ["train", "--data", "GOOD", "--export-schedule", "DEVICE"],
    ["range-test", "--data", "GOOD", "--export-schedule", "DEVICE"],
    ["tune", "--data", "GOOD", "--export-schedule", "DEVICE"],
    ["train", "--data", "GOOD", "--image-size", "8", "--runs-dir", "GOOD/0/0.png"],
    ["show", "no-such-run"],
    ["bogus-command"],
    # Options that were accepted and then ignored, so the user believed they were used:
    ["range-test", "--data", "GOOD", "--probe", "--validation"],
    ["range-test", "--data", "GOOD", "--probe-steps", "5"],
    ["tune", "--data", "GOOD", "--budget", "3", "--minutes", "2"],
    ["train", "--data", "GOOD", "--nproc", "0"],
    ["train", "--data", "GOOD", "--epoch", "1"],  # an abbreviation was taken for --epochs
]


@pytest.mark.parametrize("name", DATASETS + SCHEDULES + RUNS)
def test_every_command_on_every_hostile_input_ends_at_once_in_one_line(hostile, tmp_path, capsys, name):
    """Status 2 and one line `lrscope: error: …` (the last line on stderr); never a traceback, never a hang."""
    for args in commands_on(name, hostile, tmp_path):
        with deadline(120):
            code, out, err = cli(capsys, *args)
        assert code == 2 and one_line_error(err), (args, code, err)
        assert "\x1b" not in err and all(len(line) < 2000 for line in err.splitlines())
        if "--json" in args:
            assert json.loads(out)["exit_status"] == 2


@pytest.mark.parametrize("args", BAD_OPTIONS, ids=lambda a: " ".join(a[:3]))
def test_bad_options_end_in_one_line(hostile, tmp_path, capsys, args):
    fifo = tmp_path / "weights.pt"
    os.mkfifo(fifo)
    device = tmp_path / "device.json"
    device.symlink_to(os.devnull)
    names = {"SCHEDULE": str(hostile["good_schedule"]), "GOOD": str(hostile["good"]), "OUT": str(tmp_path), "FIFO": str(fifo),
             "DEVICE": str(device)}
    args = [next((arg.replace(k, v) for k, v in names.items() if arg.startswith(k)), arg) for arg in args]
    with deadline(120):
        code, _, err = cli(capsys, *args)
    assert code == 2 and one_line_error(err), (args, err)
    assert device.is_symlink() and os.readlink(device) == os.devnull


def test_the_real_command_line_on_hostile_input(hostile, tmp_path):
    """The same, through `python main.py`: no hang on a FIFO, names that are not UTF-8 on an ASCII terminal."""
    env = dict(os.environ, PYTHONIOENCODING="ascii", LRSCOPE_RUNS_DIR=str(tmp_path / "runs"))
    data = make_classes(tmp_path / "d")
    os.rename(data / "1", data / os.fsdecode(b"caf\xe9\x1b[2J"))
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), "schedule", "show", str(hostile["schedule_fifo"])],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2 and one_line_error(done.stderr) and "named pipe" in done.stderr
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), "train", "--data", str(data), *QUICK, "--epochs", "1", "--json"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert json.loads(done.stdout)["state"] == "finished" and "\x1b" not in done.stderr
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), "runs", "--runs-dir", str(hostile["run_garbage_db"].parent)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0 and "damaged" in done.stdout and "Traceback" not in done.stderr


def test_sigterm_stops_like_ctrl_c_and_says_so_in_the_status(tmp_path):
    data = make_classes(tmp_path / "d", count=40)
    process = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "train", "--data", str(data), *QUICK, "--epochs", "50",
                                "--runs-dir", str(tmp_path / "runs"), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    from test_hostile_store import wait_for_first_step

    wait_for_first_step(tmp_path / "runs", process)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130 and json.loads(out)["state"] == "stopped" and "SIGTERM" in err


def a_started_range_test(tmp_path, **popen):
    """`lrscope range-test --json` of many iterations, returned once its estimate is said (the test has started)."""
    data = make_classes(tmp_path / "d", count=40)
    process = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "range-test", "--data", str(data), *QUICK,
                                "--no-curvature", "--iters", "100000", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)
    with deadline(240):
        while not process.stderr.readline().startswith("sweep"):
            assert process.poll() is None
    return process


def assert_stopped_as_train_is(process):
    """Exit 130 and "stopped", with what was measured kept as a curve and no recommendation read from it."""
    try:
        out, err = process.communicate(timeout=120)
    finally:  # one that ignores the signal runs on for hours
        process.kill()
        process.wait(30)
    said = json.loads(out)
    assert process.returncode == 130 and said["state"] == "stopped" and said["exit_status"] == 130, (out, err)
    assert "a cut curve is not a result" in said["message"] and said["message"] in err and "recommended" not in said
    assert isinstance(said["curves"][0]["lr"], list) and "lrscope: error" not in err and "Traceback" not in err
    return err


def test_sigterm_stops_a_range_test_with_its_message_and_object(tmp_path):
    """`kill` of a range test ended it by the signal (status -15) with no word and no --json object; then it said
    "error" and "interrupted" and threw what it had measured away, where train says "stopped" (helper-82)."""
    process = a_started_range_test(tmp_path)
    process.send_signal(signal.SIGTERM)
    assert "stopping the range test (SIGTERM" in assert_stopped_as_train_is(process)


def test_sigint_stops_a_range_test_that_a_script_started_in_the_background(tmp_path):
    """`lrscope range-test … &` in a script starts with SIGINT ignored, and `kill -INT` was ignored: it ran to its end
    and exited 0 (train sets its own handler, and stopped) (helper-82)."""
    process = a_started_range_test(tmp_path, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    process.send_signal(signal.SIGINT)
    assert "stopping the range test (SIGINT" in assert_stopped_as_train_is(process)


def test_ctrl_c_after_the_reader_of_its_output_went_away_still_stops_the_run(tmp_path):
    """`lrscope train … 2>&1 | head -1`, then Ctrl-C: the "stopping at the next step" line, written to the closed pipe,
    raised BrokenPipeError inside the training loop and the run was recorded as failed."""
    data = make_classes(tmp_path / "d", count=40)
    process = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "train", "--data", str(data), *QUICK, "--epochs", "50",
                                "--runs-dir", str(tmp_path / "runs")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    from test_hostile_store import wait_for_first_step

    wait_for_first_step(tmp_path / "runs", process)
    process.stderr.close()  # as `head -1` exits
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=120) == 130
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert read_meta(run_dir)["state"] == "stopped"


def test_watch_into_a_pipe_keeps_step_lines_and_exits_130_saying_ctl_stopped_the_run_and_show_says_a_stepless_warning(tmp_path, capsys):
    """Three defects of one served run that `lrscope ctl` stops while `watch` is piped into a file:

    `watch` exited 0 for a run that failed or stopped, as for one that finished. A stop sent by `ctl` read, at the
    run's own terminal and in `watch`, "stopped at step N", as if Ctrl-C had been pressed there.

    Piped into a file or `tee`, `watch` wrote the epoch lines alone while README said every step: a log of a run
    with long epochs showed nothing for an hour. Now a line every tenth of an epoch, from its history on, none missed
    or doubled where the history meets the live steps.

    A refused client's warning is stored between steps, without one: `show` printed "warning at step None"."""
    from test_hostile_store import wait_for_first_step

    data, runs, trained = make_classes(tmp_path / "d", count=40), tmp_path / "runs", tmp_path / "train.txt"
    with open(trained, "w") as output:
        trainer = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "train", "--data", str(data), *QUICK, "--epochs",
                                    "500", "--serve", "--runs-dir", str(runs)], stdout=subprocess.DEVNULL, stderr=output)
    watcher = None
    try:
        run_dir = wait_for_first_step(runs, trainer)
        watcher = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "watch", run_dir.name, "--runs-dir", str(runs)],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        said = []
        with deadline(240):  # two epochs' lines: the history's and the live ones
            for line in watcher.stdout:
                said.append(line)
                if line.startswith("epoch 2/500: "):
                    break
            code, _, err = cli(capsys, "ctl", run_dir.name, "--token", "wrong", "pause", "--runs-dir", runs)
            assert code == 2 and "wrong token" in err
            code, _, err = cli(capsys, "ctl", run_dir.name, "stop", "--runs-dir", runs)
            assert code == 0, err
            said.append(watcher.stdout.read())  # not communicate(): it reads past what the loop above buffered
        assert watcher.wait(240) == 130
        assert trainer.wait(120) == 130
    finally:
        end(trainer, watcher)
        if watcher is not None:
            watcher.stdout.close()
    said = "".join(said)
    assert "the run is stopped at step" in said, said[-500:]
    for text in (said, trained.read_text()):
        assert re.search(r"^stopped at step \d+ by lrscope ctl \(127\.0\.0\.1\); the run can be resumed$", text, re.M), text[-500:]
    total = int(re.search(r"^training on .*, ([\d,]+) steps$", said, re.M).group(1).replace(",", ""))
    stopped = int(re.search(r"^the run is stopped at step (\d+)$", said, re.M).group(1))
    every = total // 500 // 10
    assert every >= 1 and step_lines(said) == list(range(every, stopped + 1, every)), said[-800:]
    code, out, _ = cli(capsys, "show", run_dir.name, "--runs-dir", runs)
    refused = [line.strip() for line in out.splitlines() if "refused a client" in line]
    assert code == 0 and len(refused) == 1 and refused[0].startswith("warning: refused a client from 127.0.0.1: wrong token"), out
    assert "None" not in out


def test_train_and_resume_into_a_file_keep_a_step_line_about_ten_times_an_epoch(tmp_path, capsys):
    """Into a file or `tee`, `train` and `resume` wrote the epoch lines alone, an hour apart on a large dataset, where
    `watch` keeps a step line about ten times an epoch; `--every N` chooses, as for `watch`."""
    from test_hostile_store import stopped_run

    data = make_classes(tmp_path / "d", count=40)
    code, _, err = cli(capsys, "train", "--data", data, *QUICK, "--epochs", "1", "--runs-dir", tmp_path / "runs")
    assert code == 0, err[-2000:]
    total = int(re.search(r"^training on .*, (\d+) steps$", err, re.M).group(1))
    assert total >= 20 and step_lines(err) == list(range(total // 10, total + 1, total // 10)), err[-2000:]
    code, _, err = cli(capsys, "resume", stopped_run(data, tmp_path / "stopped"), "--no-cache", "--every", "5")
    assert code == 0, err[-2000:]
    start, total = (int(n) for n in re.search(r"\(resumed at (\d+); (\d+) in all\)", err).groups())
    assert step_lines(err) == [step for step in range(5, total + 1, 5) if step > start], err[-2000:]
    code, _, err = cli(capsys, "train", "--data", data, *QUICK, "--every", "0")
    assert code == 2 and "argument --every: must be a whole number of steps, 1 or more, got '0'" in err, err


def step_lines(said: str) -> list[int]:
    """The steps of the step lines kept in ``said`` (a line redrawn in place is not kept)."""
    return [int(step) for step in re.findall(r"^epoch \d+ step (\d+)/", said, re.M)]


@pytest.mark.parametrize("late_lr, on_fault, said", [
    (0.3, "rollback", r"the run is finished at step 480, on weights its last validation says are damaged"),
    (100.0, "stop", r"the run is stopped at step \d+ by a fault \((nan|exploding)_loss\)"),
], ids=["damaged_weights", "stopped_by_a_fault"])
def test_watch_of_a_run_that_ends_on_damaged_weights_or_a_fault_exits_3_as_the_run_does(tmp_path, capsys, late_lr, on_fault, said):
    """The run exited 3 on weights its last validation said were damaged; its watcher said "the run is finished" and
    exited 0, for a script to take the weights. Stopped by its fault policy (a blown-up loss), the run exited 3 and its
    watcher 130, as for a stop someone asked for."""
    from test_hostile_store import wait_for_first_step

    from engine.schedules import Constant, RunSchedule, Schedule, Timeline, save_schedule, schedule_document

    # 59 epochs that barely train (time to attach), then one at ``late_lr``: at 0.3 it ends on damaged weights, at
    # 100 (the highest allowed) its loss blows up and --on-fault stop stops it
    steps = 60 * 8
    late = Schedule((Constant(steps=steps - 8, lr=1e-7), Constant(steps=8, lr=late_lr)))
    schedule = save_schedule(tmp_path / "late.lrschedule.json", schedule_document(RunSchedule(Timeline.of(late))))
    runs, watched, trained, watcher = tmp_path / "runs", tmp_path / "watch.txt", tmp_path / "train.txt", None
    with open(trained, "w") as output:
        trainer = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "train", "--data", str(write_two_classes(tmp_path / "d")),
                                    "--image-size", "8", "--batch-size", "2", "--epochs", "60", "--schedule", str(schedule),
                                    "--accept-mismatch", "--curvature-every", "off", "--on-fault", on_fault, "--serve",
                                    "--runs-dir", str(runs)], stdout=output, stderr=subprocess.STDOUT)
    try:
        run_dir = wait_for_first_step(runs, trainer)
        code, _, err = cli(capsys, "ctl", run_dir.name, "pause", "--runs-dir", runs)  # held until the watcher is there
        assert code == 0, err
        watcher = watching_the_paused(run_dir, runs, watched)
        code, _, err = cli(capsys, "ctl", run_dir.name, "resume", "--runs-dir", runs)
        assert code == 0, err
        assert trainer.wait(240) == 3, trained.read_text()[-2000:]  # the case: the run's own status
        assert watcher.wait(120) == 3, watched.read_text()[-2000:]
        assert re.search(said, watched.read_text()), watched.read_text()[-2000:]
    finally:
        end(trainer, watcher)


def test_watch_of_a_run_stopped_because_its_store_cannot_be_written_exits_4_as_the_run_does_and_says_why(tmp_path, capsys):
    """The run exited 4 (its store could not be written, what it wrote resumable); its watcher exited 130, as for a
    stop someone asked for, and never said why."""
    from test_hostile_store import wait_for_first_step

    runs, watched, trained, watcher = tmp_path / "runs", tmp_path / "watch.txt", tmp_path / "train.txt", None
    with open(trained, "w") as output:
        trainer = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "train", "--data", str(make_classes(tmp_path / "d", count=40)),
                                    *QUICK, "--epochs", "500", "--serve", "--runs-dir", str(runs)], stdout=output, stderr=subprocess.STDOUT)
    try:
        run_dir = wait_for_first_step(runs, trainer)
        code, _, err = cli(capsys, "ctl", run_dir.name, "pause", "--runs-dir", runs)  # held until the watcher is there
        assert code == 0, err
        watcher = watching_the_paused(run_dir, runs, watched)
        (run_dir / "checkpoints").rename(run_dir / "elsewhere")  # the next epoch's checkpoint cannot be written
        (run_dir / "checkpoints").write_text("")
        code, _, err = cli(capsys, "ctl", run_dir.name, "resume", "--runs-dir", runs)
        assert code == 0, err
        assert trainer.wait(240) == 4, trained.read_text()[-2000:]  # the case: the run's own status
        assert watcher.wait(120) == 4, watched.read_text()[-2000:]
    finally:
        end(trainer, watcher)
    said = watched.read_text()
    assert re.search(r"^the run is stopped at step \d+: its store could not be written$", said, re.MULTILINE), said[-2000:]
    last = said.rstrip().splitlines()[-1]
    assert last.startswith(f"lrscope: error: the run store at {run_dir} cannot be written (checkpoints"), said[-2000:]
    assert last.endswith("; no checkpoint is left on disk"), last


def test_watch_joins_a_paused_edited_run_then_its_process_is_killed_and_it_says_how_to_continue(tmp_path, capsys):
    """Joining, `watch` showed only epoch lines: not the edits made so far, not that the run was paused. A dead peer:
    `watch` ends with status 2 in one line that says what was lost and what to do, instead of waiting."""
    from test_hostile_store import wait_for_first_step

    data, runs = make_classes(tmp_path / "d", count=40), tmp_path / "runs"
    trainer = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "train", "--data", str(data), *QUICK, "--epochs", "500",
                                "--serve", "--runs-dir", str(runs)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    watched, watcher = tmp_path / "watch.txt", None
    try:
        run_dir = wait_for_first_step(runs, trainer)
        with deadline(240):  # a few epochs first, so that the edit's place among their lines shows
            while len(read_epochs(run_dir)) < 3:
                time.sleep(0.1)
        for action in (["pause"], ["set-lr", "0.05"]):
            code, _, err = cli(capsys, "ctl", run_dir.name, *action, "--runs-dir", runs)
            assert code == 0, err
        watcher = watching_the_paused(run_dir, runs, watched)
        said = watched.read_text()
        edit = re.search(r"^step (\d+) \(user, from lrscope ctl \(127\.0\.0\.1\)\): set LR to 0\.05", said, re.MULTILINE)
        # Where it happened among the epochs (it came before all of them): after each epoch validated by its step. Paused
        # right at an epoch's end, that epoch's validation is still to come, so its line comes after the edit.
        per_epoch, step = int(read_meta(run_dir)["steps_per_epoch"]), int(edit.group(1))
        before = [int(n) for n in re.findall(r"^epoch (\d+)/500", said[:edit.start()], re.MULTILINE)]
        assert before == list(range(1, len(before) + 1)) and len(before) >= 3, said
        assert step // per_epoch - (step % per_epoch == 0) <= len(before) <= step // per_epoch, said
        code, _, err = cli(capsys, "ctl", run_dir.name, "resume", "--runs-dir", runs)
        assert code == 0, err
        with deadline(240):  # a resume is said, as a pause is
            while f"resumed at step {edit.group(1)}" not in watched.read_text():
                assert watcher.poll() is None, watched.read_text()
                time.sleep(0.1)
        trainer.kill()
        assert watcher.wait(120) == 2
    finally:
        trainer.kill()
        trainer.wait(30)
        if watcher is not None and watcher.poll() is None:  # a failed check must not leave it to the next test
            watcher.kill()
            watcher.wait(30)
    said = watched.read_text()
    # Said at once, in words (it waited 6 s of silence to say "lost contact … nothing heard"): the process is gone.
    assert one_line_error(said) and f"the run's process (pid {trainer.pid}) ended at step " in said, said[-400:]
    assert f"without a word (killed?): `lrscope resume {shlex.quote(str(run_dir))} --serve`" in said  # by its folder, outside the default one


def test_declining_a_mismatched_schedule_at_the_prompt_is_not_scolded(tmp_path, capsys):
    """Answering n to "use it anyway?" printed "pass --accept-mismatch to use it anyway", as if the user had erred."""
    data = make_classes(tmp_path / "d")
    code, _, err = cli(capsys, "train", "--data", data, *QUICK, "--epochs", "1", "--export-schedule", tmp_path / "s.json",
                       "--runs-dir", tmp_path / "runs")
    assert code == 0, err
    os.rename(data / "2", data / "3")  # another dataset now
    keyboard, terminal = os.openpty()
    with open(tmp_path / "err.txt", "w") as err_file:
        process = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "train", "--data", str(data), *QUICK, "--schedule",
                                    str(tmp_path / "s.json"), "--runs-dir", str(tmp_path / "runs")], stdin=terminal,
                                   stdout=subprocess.DEVNULL, stderr=err_file)
    with deadline(240):
        while "use it anyway? [y/N]" not in (tmp_path / "err.txt").read_text():
            assert process.poll() is None, (tmp_path / "err.txt").read_text()
            time.sleep(0.1)
    os.write(keyboard, b"n\n")
    assert process.wait(120) == 2
    os.close(keyboard)
    os.close(terminal)
    said = (tmp_path / "err.txt").read_text()
    assert said.rstrip().endswith("not started: you declined a schedule that may not fit this run")


def watching_the_paused(run_dir, runs, watched) -> subprocess.Popen:
    """A real `lrscope watch` of the paused run ``run_dir``, its output in the file ``watched``, once it has said where
    the run is paused (it has joined)."""
    with open(watched, "w") as output:
        watcher = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "watch", run_dir.name, "--runs-dir", str(runs)],
                                   stdout=output, stderr=subprocess.STDOUT)
    try:
        with deadline(240):
            while "paused at step" not in watched.read_text():
                assert watcher.poll() is None, watched.read_text()
                time.sleep(0.1)
    except BaseException:  # the test's own cleanup never saw this process
        end(watcher)
        raise
    return watcher


def end(*processes) -> None:
    """Kill and collect the processes a test started (None: not started); a failed check must not leave them running."""
    for process in processes:
        if process is not None:
            process.kill()
            process.wait(30)


@contextlib.contextmanager
def a_range_test_asked_by_ctl(tmp_path):
    """A served run on a small folder, in a 100,000-batch range test that a `ctl range-test --timeout 5` in the
    background waits for: (trainer, that ctl, the runs folder, the run's id). Both processes end with the block.
    (With --timeout 1 the ctl, busy connecting on a loaded machine, sometimes gave up before the run took its test.)"""
    from test_hostile_store import wait_for_first_step

    data, runs = make_classes(tmp_path / "d", count=40), tmp_path / "runs"
    # 20,000 epochs: at 500 a fast machine (suite 320 s) finished the run before the ctl's test reached it.
    trainer = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "train", "--data", str(data), *QUICK, "--epochs", "20000",
                                "--serve", "--runs-dir", str(runs)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    asked = None
    try:
        run = wait_for_first_step(runs, trainer).name
        asked = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "ctl", run, "range-test", "--iters", "100000",
                                  "--runs-dir", str(runs), "--timeout", "5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with deadline(240):
            while read_meta(runs / run)["state"] != "range_test":
                assert trainer.poll() is None, f"the run ended before its range test ({read_meta(runs / run)['state']})"
                time.sleep(0.1)
        yield trainer, asked, runs, run
    finally:
        end(trainer, asked)


def test_ctl_queued_behind_a_range_test_says_it_applies_unless_the_run_stops_first(tmp_path, capsys):
    """ctl's timeout line said a command queued behind a range test would apply; a `stop` meanwhile answered it
    "not applied: the run stopped"."""
    with a_range_test_asked_by_ctl(tmp_path) as (trainer, asked, runs, run):
        # The range test's own ctl waits for it past its --timeout (it reports progress); the pause waits behind it.
        code, out, err = cli(capsys, "ctl", run, "pause", "--runs-dir", runs, "--timeout", "5")  # the range test's ctl is past its own
        assert code == 124 and "unless the run stops first" in err, (out, err)
        assert asked.poll() is None  # still waiting for the test's result, past its --timeout
        code, out, err = cli(capsys, "ctl", run, "stop", "--runs-dir", runs)
        assert code == 0 and "stopping" in out, err
        assert trainer.wait(120) == 130
        said, _ = asked.communicate(timeout=120)
        # The stop cut it short; what it measured is said, and it exits 1: it recommends nothing.
        assert asked.returncode == 1 and "range test cancelled" in said, said
    assert read_meta(runs / run)["state"] == "stopped"  # the pause did not apply: the run stopped first


def test_a_ctl_range_test_interrupted_says_the_test_goes_on_in_the_run(tmp_path, capsys):
    """Ctrl-C said only "lrscope: error: interrupted", and a later `ctl pause` then waited for the test (helper-68)."""
    with a_range_test_asked_by_ctl(tmp_path) as (trainer, asked, runs, run):
        asked.send_signal(signal.SIGINT)
        _, err = asked.communicate(timeout=120)
        assert asked.returncode == 130 and "the range test goes on in the run: `lrscope ctl " in err, err
        assert f"{run} cancel-range-test` cancels it" in err and err.rstrip().endswith("lrscope: error: interrupted"), err
        assert trainer.poll() is None and read_meta(runs / run)["state"] == "range_test"  # the test goes on
        # `show` says the run is served and how to reach it (only --json did; there is no `ctl RUN status`).
        code, out, _ = cli(capsys, "show", run, "--runs-dir", runs)
        assert code == 0 and re.search(rf"^served     at tcp://127\.0\.0\.1:\d+: `lrscope ctl {run} ACTION` steers it", out, re.M), out


def test_a_ctl_waiting_for_a_range_test_says_at_once_that_the_runs_process_ended(tmp_path):
    """Killed during the test, the run left its ctl waiting 91 s, then "not answered … a range test may be running"."""
    with a_range_test_asked_by_ctl(tmp_path) as (trainer, asked, _, _):
        trainer.kill()
        _, err = asked.communicate(timeout=60)  # at once, not after the test's 120 s of silence
        assert asked.returncode == 2 and f"the run's process (pid {trainer.pid}) ended" in err, err


def test_an_undo_in_a_run_started_from_a_schedule_of_several_pieces_brings_back_all_of_them(tmp_path, capsys):
    """Started with `--schedule` from a file of two pieces (as a run's export after a mid-run Set LR holds), a `ctl undo`
    of a `ctl set-lr` restored the piece in force alone: the run then trained 0.00667, and 8e-07 at its end, where the
    file held 0.01."""
    from test_hostile_store import wait_for_first_step

    from engine.schedules import Constant, Linear, Piece, RunSchedule, Schedule, Timeline, save_schedule, schedule_document
    from engine.schedules.history_codec import run_schedule_from_dict
    from engine.store import read_steps

    data, runs, path = make_classes(tmp_path / "d", count=40), tmp_path / "runs", tmp_path / "two.lrschedule.json"
    rise_and_fall = Schedule((Linear(steps=100, start_lr=0.001, end_lr=0.05), Linear(steps=900, start_lr=0.05, end_lr=1e-5)))
    plan = Timeline((Piece(0, 0, rise_and_fall), Piece(800, 800, Schedule((Constant(steps=200, lr=0.01),)))))
    save_schedule(path, schedule_document(RunSchedule(plan)))
    log = tmp_path / "train.err"
    with log.open("w") as err:
        trainer = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "train", "--data", str(data), *QUICK, "--epochs", "20",
                                    "--schedule", str(path), "--accept-mismatch", "--serve", "--runs-dir", str(runs)],
                                   stdout=subprocess.DEVNULL, stderr=err)
    try:
        run = wait_for_first_step(runs, trainer).name
        said = {}
        for action in ("pause", "set-lr", "undo", "resume"):
            code, said[action], err = cli(capsys, "ctl", run, action, *(["0.05"] if action == "set-lr" else []), "--runs-dir", runs)
            assert code == 0, (action, said[action], err)
        assert "undid edit #1 (set LR to 0.05 for the rest" in said["undo"], said
        assert trainer.wait(240) == 0, log.read_text()[-2000:]
    finally:
        end(trainer)
    steps, meta = read_steps(runs / run), read_meta(runs / run)
    planned = run_schedule_from_dict(json.loads(meta["start_schedule"])).timeline.lrs(steps["step"])
    assert planned[-1] == pytest.approx(0.01)  # the file's second piece, stretched to the run
    # Every step as the file planned: the set-lr and its undo came at one paused step, so nothing trained between them.
    assert np.allclose(steps["lrs"][:, 0], planned), np.flatnonzero(~np.isclose(steps["lrs"][:, 0], planned))[:5]
    # `show` numbers the edits as the undo names them ("undid edit #1" beside a list that showed no numbers).
    shown = [line.strip() for line in cli(capsys, "show", run, "--runs-dir", runs)[1].splitlines() if line.startswith("  edit")]
    assert [line.split(" at step")[0] for line in shown] == ["edit #1", "edit #2"] and "undid edit #1" in shown[1], shown
    assert re.search(r"set LR to 0\.05 for the rest; undone at step \d+$", shown[0]), shown  # not read as in force
