"""A run's tuned schedule, edited mid-run, is reproduced exactly by a plain PyTorch loop and by the CLI."""

import csv
import io

import numpy as np
import torch
from helpers import CAMERA2, Events, paused_at, start_job, tiny_config

from engine.cli import run_cli
from engine.commands import EditSchedule, Resume
from engine.data import prepare_dataset
from engine.events import StepsLogged
from engine.export import tuned_document
from engine.schedules import Cosine, ReplaceRest, Schedule, load_schedule, save_schedule
from engine.training.job import TrainingJob


def test_exported_schedule_reproduces_the_applied_lrs(digits16, tmp_path, capsys):
    events = Events()
    job = TrainingJob(tiny_config(epochs=2, backbone_lr_mult=0.25, shape="one_cycle"), digits16)
    job.bus.subscribe(events)
    thread = start_job(job)
    events.wait_for(lambda ev: ev.of(StepsLogged))
    step = paused_at(job, events)
    job.send(EditSchedule(ReplaceRest(Schedule((Cosine(steps=30, start_lr=1.0),)), from_current_lr=True)))
    job.send(Resume())
    thread.join(60)
    steps, _, applied, momenta = events.steps()
    assert len(steps) == step + 30

    path = save_schedule(tmp_path / "tuned.json", tuned_document(job.run_schedule, job.config, digits16.summary.to_dict(),
                                                                  job.session.steps_per_epoch, job.metrics))
    params = {name: torch.nn.Parameter(torch.zeros(1)) for name in ("backbone", "head")}
    optimizer = torch.optim.SGD([{"params": [p], "name": n} for n, p in params.items()], lr=1.0, momentum=0.9)
    scheduler = load_schedule(path).torch_scheduler(optimizer)
    plain = []
    for _ in steps:
        plain.append([g["lr"] for g in optimizer.param_groups] + [optimizer.param_groups[0]["momentum"]])
        optimizer.step()
        scheduler.step()
    plain = np.array(plain)
    assert np.array_equal(plain[:, :2], applied) and np.array_equal(plain[:, 2], momenta)

    assert run_cli(["schedule", "csv", str(path)]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["step", "lr_backbone", "lr_head", "momentum"]
    printed = np.array([[float(v) for v in row[1:]] for row in rows[1:]])
    assert np.array_equal(printed[:, :2], applied) and np.array_equal(printed[:, 2], momenta)

    document = load_schedule(path)
    assert document.dataset["fingerprint"] == digits16.summary.fingerprint
    assert document.context["steps_per_epoch"] == 22 and document.edits[0]["step"] == step


def test_training_with_a_schedule_from_another_dataset_asks_first(digits16, tmp_path, capsys):
    job = TrainingJob(tiny_config(), digits16)
    path = save_schedule(tmp_path / "tuned.json", tuned_document(job.run_schedule, job.config, digits16.summary.to_dict(), 22))
    args = ["train", "--data", str(CAMERA2), "--image-size", "16", "--epochs", "1", "--schedule", str(path)]
    assert run_cli(args) == 2
    err = capsys.readouterr().err
    assert "this schedule was tuned for another dataset" in err and "tuned on 'digits'" in err
    assert "pass --accept-mismatch" in err
    assert run_cli([*args, "--accept-mismatch", "--json"]) == 0
    assert '"state": "finished"' in capsys.readouterr().out


def test_a_schedule_file_is_re_stretched_to_the_run(tmp_path, capsys):
    digits = prepare_dataset(tiny_config().data, resolution=16)
    job = TrainingJob(tiny_config(epochs=1), digits)
    path = save_schedule(tmp_path / "tuned.json", tuned_document(job.run_schedule, job.config, digits.summary.to_dict(), 22))
    assert run_cli(["train", "--data", str(tiny_config().data), "--image-size", "16", "--epochs", "3", "--schedule", str(path), "--json"]) == 0
    assert '"total_steps": 66' in capsys.readouterr().out
