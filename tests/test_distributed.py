"""Two processes under torchrun (gloo, CPU, one thread each) against one: the same run, steered as one.

One 2-process run (tests/distributed_worker.py) is shared by the first tests: its ranks' LRs, its
steering through the handle, its range test, its replica check, and its losses against a 1-process
run of the same global batch trained here.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import distributed_worker as worker
import numpy as np
import pytest
from helpers import ROOT, SAMPLE, Events, cli_done, lrscope

from engine.cli import run_cli
from engine.store import read_steps
from engine.store.reader import read_table

LONG = 300


def torchrun_env(**extra) -> dict[str, str]:
    """One thread per process (2 processes share 2 cores), the repository importable."""
    return dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'tests'}", OMP_NUM_THREADS="1", **extra)


def injected(env: dict[str, str], folder: Path, code: str) -> dict[str, str]:
    """``env`` in which every Python process runs ``code`` at startup (as its sitecustomize): a fault or a delay put
    into the real command line."""
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(code)
    return {**env, "PYTHONPATH": f"{folder}{os.pathsep}{env['PYTHONPATH']}"}


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """What each rank of the shared 2-process run saw, by rank."""
    out = tmp_path_factory.mktemp("ddp")
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                           str(ROOT / "tests" / "distributed_worker.py"), str(out)],
                          cwd=ROOT, env=torchrun_env(LRSCOPE_CACHE_DIR=str(out / "cache")), capture_output=True, text=True,
                          timeout=LONG)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads((out / f"rank-{rank}.json").read_text()) for rank in (0, 1)]


def before_divergence(seen: dict) -> int:
    """The first step rank 1 changed behind the sync's back (from its own applied-LR record)."""
    lrs = np.asarray(seen["lrs"])
    return int(np.asarray(seen["steps"])[np.flatnonzero(np.isclose(lrs[:, 0], worker.DIVERGED_LR))[0]])


def test_every_rank_applies_the_same_lrs_and_takes_each_command_at_the_same_step(two_ranks):
    first, second = two_ranks
    cut = before_divergence(second)
    steps, lrs = np.asarray(first["steps"]), np.asarray(first["lrs"])
    assert first["steps"] == second["steps"]
    assert np.array_equal(lrs[steps < cut], np.asarray(second["lrs"])[steps < cut])
    assert first["applied"] == second["applied"], "a command was applied at different steps"
    assert [kind for kind, _, applied in first["applied"] if applied][:2] == ["EditSchedule", "StartRangeTest"]
    edit_step = first["applied"][0][1]
    assert 0 < edit_step < cut
    assert np.all(lrs[(steps >= edit_step)] == worker.EDITED_LR) and not np.any(lrs[steps < edit_step] == worker.EDITED_LR)


def test_a_range_test_mid_run_restores_every_rank_exactly(two_ranks):
    assert [seen["restored"] for seen in two_ranks] == [True, True]


def test_an_lr_applied_on_one_rank_only_is_caught_and_pauses_every_rank(two_ranks):
    faults = [seen["faults"] for seen in two_ranks]
    assert faults[0] == faults[1] and faults[0][0][0] == "replicas_diverged"
    assert "rank 1 applied other LRs" in faults[0][0][2]
    assert all(seen["state"] == "stopped" for seen in two_ranks)


def test_the_edit_is_recorded_once_by_rank_0(two_ranks):
    from engine.store.reader import read_table

    first, second = two_ranks
    assert second["run_dir"] == "" and first["run_dir"]
    edits = read_table(first["run_dir"], "SELECT step, summary FROM edits ORDER BY id")
    assert len(edits) == 1 and edits[0][0] == first["applied"][0][1]


def test_two_processes_train_like_one_with_the_same_global_batch(two_ranks, digits16, monkeypatch):
    from engine.commands import Stop
    from engine.events import StepsLogged
    from engine.models import registry
    from engine.schedules.history_codec import run_schedule_from_dict
    from engine.training.hooks import Hook
    from engine.training.job import TrainingJob

    first = two_ranks[0]
    cut = min(before_divergence(two_ranks[1]), 30)  # the edit and the range test come before
    monkeypatch.setitem(registry.MODELS, "small_cnn", replace(registry.MODELS["small_cnn"], build=worker.without_normalization))
    job = TrainingJob(worker.config(1, 32), digits16, run_schedule=run_schedule_from_dict(first["run_schedule"]))
    job.add_handler(Hook.STEP_COMPLETED, lambda job, info: job.send(Stop()) if job.step == cut else None)
    events = Events()
    job.bus.subscribe(events)
    job.run()
    alone = np.concatenate([event.losses for event in events.of(StepsLogged)])
    steps = np.asarray(first["steps"])
    assert len(alone) == cut > 20
    np.testing.assert_allclose(np.asarray(first["losses"])[steps < cut], alone, rtol=2e-4, atol=1e-6)


def rank_process(launcher: int, rank: int) -> int:
    """The pid of the worker of ``rank`` that ``launcher`` started (read from the workers' environments)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent == launcher and f"RANK={rank}".encode() in environ:
            return int(entry.name)
    raise AssertionError(f"no rank {rank} under {launcher}")


class Output:
    """A child's stderr, read as it comes (the announcement, then its last words)."""

    def __init__(self, process: subprocess.Popen):
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process,), name="lrscope-test-stderr", daemon=True)
        self._thread.start()

    def _read(self, process) -> None:
        with process.stderr:
            for line in process.stderr:
                self.lines.append(line.rstrip())

    def wait_for(self, text: str, timeout: float = LONG) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = next((line for line in self.lines if text in line), None)
            if found:
                return found
            time.sleep(0.2)
        raise AssertionError(f"{text!r} not said within {timeout} s: {self.lines[-10:]}")

    def close(self) -> None:
        self._thread.join(10)

    def finish(self, process: subprocess.Popen) -> str:
        """Kill ``process`` if the test left it running; its stdout, once it has ended."""
        if process.poll() is None:
            process.kill()
        process.wait(30)
        self.close()
        with process.stdout:
            return process.stdout.read()


def kill_rank(train: subprocess.Popen, rank: int) -> int:
    """SIGKILL the worker of ``rank`` and wait for the launcher to fail; its pid."""
    victim = rank_process(train.pid, rank)
    os.kill(victim, signal.SIGKILL)
    assert train.wait(LONG) == 1
    return victim


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the worker of rank 1 through /proc")
def test_nproc_2_is_steered_by_ctl_then_resumes_after_a_rank_is_killed_on_1_and_on_2_processes(tmp_path, capsys, monkeypatch):
    runs = tmp_path / "runs"
    env = torchrun_env(LRSCOPE_CACHE_DIR=str(tmp_path / "cache"), LRSCOPE_RUNS_DIR=str(runs))
    # The commands that start no processes of their own run in this one (a child pays seconds importing torch).
    monkeypatch.setenv("LRSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LRSCOPE_RUNS_DIR", str(runs))
    train = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "train", "--nproc", "2", "--data", str(SAMPLE), "--epochs", "6",
                              "--image-size", "16", "--batch-size", "32", "--serve", "--json"],
                             cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    output = Output(train)
    try:
        assert "2 processes × batch 32 = global batch 64" in output.wait_for("global batch")
        run_id = output.wait_for("serving run").split()[2]
        # Held at a step, the run cannot end before its rank dies (on a loaded machine a command came 8 steps before
        # the end); a paused run is checkpointed with the edits made while it is paused. The pause is sent from this
        # process: the run ends about 2 s after it is served, and a loaded machine started a new ctl process later than
        # that ("the run finished first").
        with contextlib.redirect_stdout(io.StringIO()) as answered:
            assert run_cli(["ctl", run_id, "pause", "--json", "--runs-dir", str(runs)]) == 0, answered.getvalue()
        edit = cli_done(capsys, "ctl", run_id, "set-lr", "0.01", "--json")
        assert edit.returncode == 0, edit.stderr
        edited_at = json.loads(edit.stdout)["step"]
        run_dir = runs / run_id
        victim = kill_rank(train, 1)
    finally:
        printed = output.finish(train)
    assert output.lines[-1].startswith(f"lrscope: error: rank 1 (pid {victim}) was killed by SIGKILL"), output.lines[-5:]
    assert not [line for line in output.lines if "Connection closed by peer" in line or "Traceback" in line], output.lines[-5:]
    if printed:  # rank 0 saw its peer go before torchrun stopped it: it ended the run as failed, resumable, and said so in words
        result = json.loads(printed)
        assert result["state"] == "failed" and result["message"].startswith("another process of this run stopped"), result
        # Named, for a window or `watch` following the run, who never see the launcher's line (it said "the launcher names which").
        assert result["message"].startswith(f"another process of this run stopped while this one waited for it: rank 1 (pid {victim}) "
                                            "ended; "), result
        # The runs list said "failed" and nothing more, as if it could not be resumed (helper-68).
        listed = {r["run"]: r for r in json.loads(cli_done(capsys, "runs", "--json").stdout)}
        assert listed[run_id]["why_ended"].startswith("failed at step ") and f"rank 1 (pid {victim}) ended" in listed[run_id]["why_ended"]

    copy = tmp_path / "copy" / run_id
    shutil.copytree(run_dir, copy)
    for where, processes in ((run_id, []), (str(copy), ["--nproc", "2"])):
        # On 2 processes through the launcher, in a process of its own; on 1, in this one.
        resumed = lrscope("resume", where, "--json", *processes, env=env) if processes else cli_done(capsys, "resume", where, "--json")
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        result = json.loads(resumed.stdout)
        assert (result["state"], result["steps"], result["global_batch"]) == ("finished", 132, 64)
        assert result["processes"] == (2 if processes else 1)
        # Each process's batch is what changes: said when it does (one process said nothing of its batch of 64).
        world = "1 process × batch 64 = global batch 64 per step (it trained on 2 before)"
        assert (world in resumed.stderr) == (not processes), resumed.stderr[-800:]
        steps = read_steps(Path(result["run_dir"]))
        assert np.array_equal(steps["step"], np.arange(132)), "the resumed run continues the same global steps"
        assert np.all(steps["lrs"][steps["step"] >= edited_at] == 0.01)
    assert len(read_table(run_dir, "SELECT step FROM edits WHERE reason != 'start'")) == 1
    # A run trained on 2 processes is measured on one (it ended in a traceback: "the config is for 2 process(es)").
    measured = cli_done(capsys, "curvature", "--checkpoint", copy, "--max-iter", "4", "--json")
    assert measured.returncode == 0 and json.loads(measured.stdout)["lambda_max"] > 0, measured.stderr[-2000:]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the workers through /proc")
@pytest.mark.parametrize("rank", [0, 1])
def test_a_killed_rank_is_said_once_with_the_name_of_the_run_to_resume(tmp_path, rank):
    """Rank 0 said "another process … stopped" twice (a progress line, an error line) and the launcher said it a third
    time, each with `lrscope resume RUN`, a placeholder to fill in. With rank 0 killed, --json printed no object at all."""
    from test_hostile_store import wait_for_first_step

    runs = tmp_path / "runs"
    env = torchrun_env(LRSCOPE_CACHE_DIR=str(tmp_path / "cache"), LRSCOPE_RUNS_DIR=str(runs))
    train = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "train", "--nproc", "2", "--data", str(SAMPLE), "--epochs", "500",
                              "--image-size", "8", "--json"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    output = Output(train)
    try:
        run = wait_for_first_step(runs, train).name
        victim = kill_rank(train, rank)
    finally:
        printed = output.finish(train)
    resume = f"the run keeps its last checkpoint: `lrscope resume {run}` continues it on any number of processes"
    said = [line for line in output.lines if "resume" in line or "another process" in line]
    killed = f"rank {rank} (pid {victim}) was killed by SIGKILL, so torchrun stopped the other processes; {resume}"
    assert said == [f"lrscope: error: {killed}"], said
    result = json.loads(printed)  # one object: rank 0's when it saw its peer go, else the launcher's
    if rank == 0:
        assert result == {"state": "failed", "exit_status": 1, "message": killed, "failed_rank": 0, "run_id": run}
    assert result["state"] == "failed" and result["message"].endswith(f"; {resume}"), printed


def test_a_config_keeps_its_global_batch_on_another_number_of_processes():
    from engine.config import TrainConfig
    from engine.errors import ConfigError

    config = TrainConfig(batch_size=32, world_size=2)
    assert (config.for_world(1).batch_size, config.for_world(4).batch_size, config.for_world(4).global_batch) == (64, 16, 64)
    assert config.for_world(2) is config
    with pytest.raises(ConfigError, match="cannot be split evenly over 3 processes"):
        config.for_world(3)


def test_nproc_starts_the_same_command_without_itself_on_each_process():
    from engine.cli.distributed import without_nproc
    from engine.distributed.launcher import torchrun_argv

    argv = without_nproc(["train", "--nproc", "2", "--data", "D", "--nproc=3", "--json"])
    assert argv == ["train", "--data", "D", "--json"]
    assert torchrun_argv(2, argv)[-5:] == ["engine.cli", "train", "--data", "D", "--json"]


def test_a_missing_folder_with_nproc_is_said_in_one_line_before_any_process_starts(tmp_path):
    """The launcher looks for the folder before it starts torchrun: a process costs seconds to start (minutes for
    many on few cores), only to fail with the same line."""
    nproc = (os.cpu_count() or 1) + 1  # more than the cores: not even the note about sharing them comes first
    done = lrscope("train", "--data", tmp_path / "missing", "--nproc", str(nproc), "--runs-dir", tmp_path / "runs")
    assert done.returncode == 2, done.stderr[-3000:]
    assert done.stderr.splitlines() == [
        f"lrscope: error: {tmp_path / 'missing'}: no such folder; choose a folder with one subfolder of images per class"]
    assert not (tmp_path / "runs").exists()


def test_a_folder_without_classes_with_nproc_is_said_in_one_line_before_any_process_starts(tmp_path):
    """The launcher reads the folder's subfolders before it starts torchrun: each of 3 processes on 2 cores imported torch
    for seconds before rank 0 said it (100 processes on 2 cores printed nothing for minutes while they started)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    nproc = (os.cpu_count() or 1) + 1  # more than the cores: not even the note about sharing them comes first
    done = lrscope("train", "--data", empty, "--nproc", nproc, "--runs-dir", tmp_path / "runs", "--json")
    assert done.returncode == 2, done.stderr[-3000:]
    [error] = done.stderr.splitlines()
    assert error.startswith(f"lrscope: error: {empty}: holds no class subfolders; put each class's images in its own subfolder")
    assert [json.loads(line)["exit_status"] for line in done.stdout.splitlines()] == [2]
    assert not (tmp_path / "runs").exists()


def test_a_folder_rank_0_cannot_use_on_several_processes_is_said_in_one_line_and_exits_2(tmp_path):
    """Rank 0 opens the dataset first; when it cannot, the other ranks end silently with it. They used to wait for rank 0
    at a barrier, print gloo's "Connection closed by peer" traceback, and be blamed by the launcher (exit status 1).
    Class folders without images: only rank 0, which lists the images, can tell (the launcher reads folder names)."""
    for name in ("a", "b"):
        (tmp_path / "classes" / name).mkdir(parents=True)
    nproc = (os.cpu_count() or 1) + 1
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), "train", "--data", str(tmp_path / "classes"), "--nproc", str(nproc),
                           "--runs-dir", str(tmp_path / "runs"), "--json"],
                          cwd=ROOT, env=torchrun_env(LRSCOPE_CACHE_DIR=str(tmp_path / "cache")), capture_output=True, text=True,
                          timeout=LONG)
    assert done.returncode == 2, done.stderr[-3000:]
    note, error = done.stderr.splitlines()
    assert note.startswith(f"note: {nproc} processes on {nproc - 1} CPU core") and "each gets a share of a core" in note
    assert error.startswith(f"lrscope: error: {tmp_path / 'classes'}: does not look like a dataset folder: its first subfolder 'a' "
                            "(of 2) holds no images"), error
    assert [json.loads(line)["exit_status"] for line in done.stdout.splitlines()] == [2]


@pytest.mark.parametrize("command", [
    ["train", "--data", SAMPLE, "--image-size", "16", "--epochs", "2", "--lr", "-1"],
    ["train", "--data", SAMPLE, "--image-size", "16", "--epochs", "1", "--device", "cpu", "--sync-batchnorm"],
    ["resume", "no-such-run"],
], ids=["bad-lr", "sync-batchnorm-on-cpu", "missing-run"])
def test_a_bad_option_with_nproc_is_said_once_with_one_json_object(tmp_path, command):
    """Each rank said the error, and --json printed one object per rank (the README promises one)."""
    done = lrscope(*command, "--nproc", "3", "--json", "--runs-dir", tmp_path / "runs",
                   env=torchrun_env(LRSCOPE_CACHE_DIR=str(tmp_path / "cache")), timeout=LONG)
    assert done.returncode == 2, done.stderr[-3000:]
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("lrscope: error: "), done.stderr[-3000:]
    assert [json.loads(line)["exit_status"] for line in done.stdout.splitlines()] == [2]


def test_a_schedule_files_global_batch_is_split_over_2_processes_which_keep_their_status_on_ctrl_c_after_the_result(tmp_path):
    """`train --schedule` takes the global batch the file was tuned at (helper-80): on 2 processes, half each; on 3,
    said before any process starts. The 2-process run is also the launcher's case of Ctrl-C after the result (see
    ``interrupted_after_its_result``): it keeps its exit status."""
    env = torchrun_env(LRSCOPE_CACHE_DIR=str(tmp_path / "cache"), LRSCOPE_RUNS_DIR=str(tmp_path / "runs"))
    quick = ["--data", SAMPLE, "--image-size", "16", "--epochs", "1"]
    # The file is the setup, written in this process; the trainings that read it are the command line's, on processes.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as said:
        tuned = run_cli([*map(str, ["train", *quick, "--batch-size", "32", "--export-schedule", tmp_path / "s.json"]),
                         "--runs-dir", str(tmp_path / "runs"), "--cache-dir", str(tmp_path / "cache")])
    assert tuned == 0, said.getvalue()[-3000:]
    printed, rest, status, err = interrupted_after_its_result(tmp_path, env, *quick, "--schedule", tmp_path / "s.json", "--nproc", "2")
    assert rest == "" and json.loads(printed)["state"] == "finished", (printed, rest, err[-2000:])
    assert status == 0, err[-2000:]
    assert f"global batch 32 (2 processes × 16), as {tmp_path / 's.json'} was tuned at (--batch-size overrides)" in err
    assert json.loads(printed)["global_batch"] == 32 and "tuned at a global batch" not in err, err[-3000:]
    # Refused before any process starts (each of 3 imported torch for seconds, then said no).
    ranks = tmp_path / "ranks"
    started = injected(env, tmp_path / "site", f"import os\nif 'RANK' in os.environ: open({str(ranks)!r} + os.environ['RANK'], 'w')")
    three = lrscope("train", *quick, "--schedule", tmp_path / "s.json", "--nproc", "3", env=started, timeout=LONG)
    assert three.returncode == 2 and three.stderr.splitlines()[-1] == (
        f"lrscope: error: {tmp_path / 's.json'} was tuned at a global batch of 32, which 3 processes cannot split evenly: "
        "use a number of processes that divides it, or give --batch-size"), three.stderr[-3000:]
    assert not list(tmp_path.glob("ranks*"))


def test_a_rank_other_than_0_leaves_an_error_before_the_run_to_rank_0(tmp_path):
    """Ctrl-C or a bad option before the ranks join the run is every rank's: rank 0 alone says it (16 ranks interrupted
    at startup printed 16 objects)."""
    done = lrscope("train", "--data", SAMPLE, "--lr", "-1", "--json", "--runs-dir", tmp_path / "runs",
                   env=torchrun_env(RANK="1", WORLD_SIZE="2"))
    assert (done.returncode, done.stdout, done.stderr) == (2, "", "")


def test_out_of_memory_on_one_rank_stops_every_rank_and_the_launcher_says_why_in_one_line(tmp_path):
    """Rank 1 runs out of memory in its forward while rank 0 waits in the step's all-reduce: no pause, no hang; rank 0
    keeps the run resumable. Rank 1 (on its own GPU, say) said so on a line of its own, and the launcher's line after it
    said "rank 1 … ended with exit status 1" and not why. One line now says both."""
    import distributed_oom_worker as oom

    env = injected(torchrun_env(LRSCOPE_CACHE_DIR=str(tmp_path / "cache")), tmp_path / "inject",
                   "import os\nif os.environ.get('RANK') == '1':\n    import distributed_oom_worker\n"
                   f"    distributed_oom_worker.run_out_of_memory_at({oom.OOM_STEP})\n")
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), "train", "--nproc", "2", "--data", str(SAMPLE), "--image-size", "8",
                           "--epochs", "1", "--runs-dir", str(tmp_path / "runs"), "--json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=LONG)
    assert done.returncode == 1, done.stderr[-3000:]
    said = [line for line in done.stderr.splitlines() if line.startswith("lrscope: error: ")]
    assert len(said) == 1 and said[0].startswith("lrscope: error: rank 1 (pid "), done.stderr[-3000:]
    assert f"ended with exit status 1 (rank 1: CPU (1 thread) ran out of memory at step {oom.OOM_STEP} with batch size" in said[0]
    assert "or start again with a smaller --batch-size), so torchrun stopped the other processes" in said[0]
    # Rank 1's own message, as the launcher quotes it: one line that says every process stops.
    failed = re.search(r"ended with exit status 1 \((.*)\), so torchrun stopped", said[0]).group(1)
    assert failed.startswith("rank 1: CPU") and "Every process of the run stops" in failed
    assert sum("ran out of memory" in line for line in done.stderr.splitlines()) == 1  # rank 1 said it on a line of its own too
    assert said[0].endswith("continues it on any number of processes")
    [result] = [json.loads(line) for line in done.stdout.splitlines()]  # rank 0's, which saw its peer go
    assert result["state"] == "failed"
    assert list((tmp_path / "runs").glob("*/checkpoints/*")), "rank 0 keeps the run resumable"


def test_a_machine_without_rank_0_says_its_ranks_bad_input_once():
    """The second machine of a run whose dataset folder is missing there: its ranks print nothing (rank 0 says a shared
    error), rank 0 is on the first machine, and this machine's launcher exited 2 without a word."""
    from types import SimpleNamespace

    from engine.distributed.launcher import report

    failures = {rank: SimpleNamespace(exitcode=2) for rank in (2, 3)}
    why = {2: "/data/digits: no such folder; choose a folder with one subfolder of images per class"}
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        assert report(failures, None, True, False, why) == 2
    assert stderr.getvalue() == f"lrscope: error: {why[2]} (rank 2)\n"
    assert json.loads(stdout.getvalue()) == {"state": "error", "exit_status": 2, "message": f"{why[2]} (rank 2)", "failed_rank": 2}
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):  # with rank 0 here, rank 0 said it
        assert report({0: SimpleNamespace(exitcode=2), **failures}, None, True, True, why) == 2
    assert stderr.getvalue().count("\n") == 1 and stdout.getvalue().count("\n") == 1


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie waiting to be reaped does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the workers through /proc")
def test_workers_stop_when_their_launcher_is_killed(tmp_path):
    """SIGKILL to `lrscope train --nproc 2` (it cannot stop its workers then): the workers stop by themselves instead of
    waiting for each other in a collective for half an hour."""
    env = torchrun_env(LRSCOPE_CACHE_DIR=str(tmp_path / "cache"), LRSCOPE_RUNS_DIR=str(tmp_path / "runs"))
    train = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "train", "--nproc", "2", "--data", str(SAMPLE), "--epochs", "50",
                              "--image-size", "16", "--batch-size", "32"],
                             cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    output = Output(train)
    try:
        output.wait_for("global batch")
        workers = [rank_process(train.pid, rank) for rank in (0, 1)]
        train.kill()
        train.wait(30)
        deadline = time.monotonic() + LONG  # a limit for a hang, not a measurement
        while any(map(alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = [pid for pid in workers if alive(pid)]
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        assert not left, f"workers {left} outlived their launcher"
    finally:
        if train.poll() is None:
            train.kill()
        output.close()


def interrupted_after_its_result(tmp_path: Path, env: dict[str, str], *options) -> tuple[str, str, int, str]:
    """`lrscope train OPTIONS --json` sent SIGINT in the moment after it printed its result, held open for two seconds:
    (its result line, what it printed after it, its exit status, its stderr)."""
    held = injected(env, tmp_path / "inject", "import sys, time\nimport engine.cli.run_job as job\nwrite = job.write\n"
                    "def slowly(stream, text):\n    write(stream, text)\n    if stream is sys.stdout:\n        time.sleep(2)\n"
                    "job.write = slowly\n")
    train = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "train", *map(str, options), "--json"], cwd=ROOT, env=held,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        printed = train.stdout.readline()
        train.send_signal(signal.SIGINT)
        rest, err = train.communicate(timeout=LONG)
    finally:
        if train.poll() is None:
            train.kill()
    return printed, rest, train.returncode, err


def test_ctrl_c_after_the_result_is_printed_keeps_its_exit_status(tmp_path):
    """SIGINT as the run ended: its --json said "finished", "exit_status": 0, and the process exited 130 (the launcher
    assumed that it had stopped the run; one process died by SIGINT, or printed a second object, "interrupted", when the
    signal came between the object and the note of its status). One process here; the launcher's case is the 2-process
    run of test_a_schedule_files_global_batch_is_split_over_2_processes_which_keep_their_status_on_ctrl_c_after_the_result."""
    env = torchrun_env(LRSCOPE_CACHE_DIR=str(tmp_path / "cache"), LRSCOPE_RUNS_DIR=str(tmp_path / "runs"))
    printed, rest, status, err = interrupted_after_its_result(tmp_path, env, "--nproc", "1", "--data", SAMPLE, "--epochs", "1",
                                                              "--image-size", "16")
    assert rest == "" and json.loads(printed)["state"] == "finished", (printed, rest, err[-2000:])
    assert status == 0, err[-2000:]


def test_ctrl_c_on_the_launcher_stops_every_rank_at_a_step_and_exits_130(tmp_path):
    """The terminal's Ctrl-C reaches the launcher and its workers together (torchrun passes it on again): one stop at a
    step boundary, rank 0's lines and exit status 130, no traceback. (SIGINT to the launcher alone, which torchrun
    passes on, was checked by hand: the same lines and 130.)"""
    env = torchrun_env(LRSCOPE_CACHE_DIR=str(tmp_path / "cache"), LRSCOPE_RUNS_DIR=str(tmp_path / "runs"))
    train = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "train", "--nproc", "2", "--data", str(SAMPLE), "--epochs", "50",
                              "--image-size", "16", "--batch-size", "32"],
                             cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    output = Output(train)
    try:
        output.wait_for("epoch 1/50")
        os.killpg(train.pid, signal.SIGINT)
        assert train.wait(LONG) == 130, output.lines[-10:]
    finally:
        if train.poll() is None:
            os.killpg(train.pid, signal.SIGKILL)
        output.close()
    text = "\n".join(output.lines)
    assert "Traceback" not in text and "death signal" not in text, output.lines[-10:]
    assert text.count("stopping at the next step (SIGINT)") == 1
    assert re.search(r"stopped at step \d+; the run can be resumed", text)
    assert re.search(r"^to go on with it: lrscope resume \S+ --nproc 2$", text, re.MULTILINE), output.lines[-10:]  # not in one
