"""Helpers shared by tests: sample paths, a tiny config, image writers."""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from lrscope.samples import sample

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = sample("digits")
CAMERA2 = sample("digits-camera2")


def lrscope(*args, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """The real command line, `lrscope ARGS`, in a fresh process (``env``: by default this one, the repository importable)."""
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], cwd=ROOT,
                          env=env or dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=timeout)


def command_lines(parser, prefix=()):
    """Every command line that selects a command or sub-command, with a placeholder for a positional before it."""
    lines = [prefix]
    placeholders = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                lines += command_lines(sub, (*prefix, *placeholders, name))
        elif not action.option_strings:
            placeholders.append("x")
    return lines


def plain_loop_lrs(path, groups, steps, frozen_seen=None):
    """LRs a plain PyTorch loop applies when stepping the exported scheduler once per batch.

    ``groups``: the param groups' names (None for an unnamed group); ``frozen_seen`` collects which params are frozen.
    """
    import torch

    from engine.schedules import load_schedule

    params = [torch.nn.Parameter(torch.zeros(1)) for _ in groups]
    optimizer = torch.optim.SGD([{"params": [p]} | ({"name": g} if g else {}) for p, g in zip(params, groups)], lr=1.0, momentum=0.9)
    scheduler = load_schedule(path).torch_scheduler(optimizer)
    seen = []
    for _ in range(steps):
        seen.append([g["lr"] for g in optimizer.param_groups] + [optimizer.param_groups[0]["momentum"]])
        if frozen_seen is not None:
            frozen_seen.append([not p.requires_grad for p in params])
        optimizer.step()
        scheduler.step()
    return np.array(seen), scheduler


def tiny_config(**changes):
    """A config that trains in well under a second per epoch on digits16.

    No time-based checkpoints unless a test asks: on a loaded machine one would add checkpoints that
    tests counting them do not expect.
    """
    from engine.config import TrainConfig

    values = {"data": str(SAMPLE), "epochs": 1, "batch_size": 64, "image_size": 16, "lr": 0.1, "shape": "cosine",
              "checkpoint_seconds": 0}
    values.update(changes)
    return TrainConfig(**values)


def write_two_classes(root: Path) -> Path:
    """20 images of two classes at ``root``: at 8 px and LR 0.3 to 1, an epoch of batches of 2 ends on damaged weights."""
    for label in range(2):
        for i in range(10):
            write_image(root / str(label) / f"{i}.png", value=40 + 80 * label + i)
    return root


def write_one_odd_size(root: Path, odd: tuple[int, int] = (6, 6)) -> Path:
    """403 images of two classes at 4×4 but b/127.png at ``odd``: a sample of 400 headers (seed 0) leaves that one out."""
    for label, count in (("a", 202), ("b", 201)):
        for i in range(count):
            size = odd if (label, i) == ("b", 127) else (4, 4)
            write_image(root / label / f"{i:03d}.png", size=size, value=60 if label == "a" else 160)
    return root


def write_image(path: Path, mode: str = "L", size: tuple[int, int] = (12, 12), value: int = 128) -> Path:
    """A small image of ``mode`` at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "I;16":
        Image.fromarray(np.full(size[::-1], value * 257, dtype=np.uint16)).save(path)
    else:
        Image.new(mode, size, value if mode in ("L", "P", "1", "I") else (value,) * len(mode)).save(path)
    return path




class Events:
    """Collects engine events (from any thread) and waits for conditions on them."""

    def __init__(self):
        import threading

        self.items = []
        self._changed = threading.Condition()

    def __call__(self, event):
        with self._changed:
            self.items.append(event)
            self._changed.notify_all()

    def of(self, kind):
        with self._changed:
            return [e for e in self.items if isinstance(e, kind)]

    def wait_for(self, predicate, timeout=60.0):
        """Block until ``predicate(events)`` holds; fail the test after ``timeout`` seconds."""
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self), timeout):
                raise AssertionError(f"condition not met within {timeout} s")

    def of_epochs(self):
        from engine.events import EpochEnded

        return self.of(EpochEnded)

    def states(self):
        from engine.events import StateChanged

        return [e.state for e in self.of(StateChanged)]

    def steps(self):
        """(steps, losses, lrs, momenta) of every StepsLogged, concatenated."""
        from engine.events import StepsLogged

        logged = self.of(StepsLogged)
        return (np.concatenate([e.steps for e in logged]), np.concatenate([e.losses for e in logged]),
                np.concatenate([e.lrs for e in logged]), np.concatenate([e.momenta for e in logged]))


def start_job(job):
    """Run ``job`` on a worker thread named like lrscope's; returns the thread."""
    import threading

    thread = threading.Thread(target=job.run, name="lrscope-test-job")
    thread.start()
    return thread


def paused_at(job, events, timeout=60.0):
    """Ask the job to pause and return the step it paused at."""
    from engine.commands import Pause

    job.send(Pause())
    events.wait_for(lambda ev: ev.states()[-1:] == ["paused"], timeout)
    return job.step


@contextlib.contextmanager
def served_child(argv: list[str], timeout: float, **env: str):
    """`lrscope ARGV --serve` in a child process, followed by its owner's handle: (handle, its events); killed after."""
    from engine.run.process import ProcessRun

    owner = ProcessRun(argv, client="lrscope test", cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT), **env))
    events = Events()
    owner.subscribe(events)
    owner.start("lrscope-test-owner")
    try:
        assert owner.connected.wait(timeout), owner.output
        yield owner, events
    finally:
        if owner.process is not None and owner.process.poll() is None:
            owner.process.kill()
        if owner.process is not None:
            owner.process.wait(30)
        owner.wait(30)


def cli(capsys, *args):
    """Run the command line in this process: (exit status, stdout, stderr); argparse's exits count too."""
    from engine.cli import run_cli

    try:
        code = run_cli([str(a) for a in args])
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def cli_done(capsys, *args) -> subprocess.CompletedProcess:
    """`cli`'s answer shaped as `lrscope`'s finished process (``returncode``, ``stdout``, ``stderr``), for a test that needs
    no process of its own: a child pays seconds of CPU importing torch before it reads its command line."""
    return subprocess.CompletedProcess(args, *cli(capsys, *args))


def delete_the_run_folder_mid_run(monkeypatch) -> list[Path]:
    """Make the run store `rm -rf` its run's folder just before it writes its first checkpoint after step 0, as a user
    might mid-run; returns the list that the deleted folder is put in."""
    import shutil

    from engine.store import writer

    real, deleted = writer.write_checkpoint, []

    def deleting(run_dir, payload, step):
        if step > 0 and not deleted:
            deleted.append(Path(run_dir))
            shutil.rmtree(run_dir)
        return real(run_dir, payload, step)

    monkeypatch.setattr(writer, "write_checkpoint", deleting)
    return deleted
