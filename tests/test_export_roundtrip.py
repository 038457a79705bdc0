"""A run's tuned schedule, edited mid-run, is reproduced exactly by a plain PyTorch loop and by the CLI."""

import csv
import dataclasses
import io
import json

import numpy as np
import pytest
import torch
from helpers import CAMERA2, SAMPLE, Events, paused_at, start_job, tiny_config

from engine.cli import run_cli
from engine.commands import EditSchedule, Resume
from engine.data import prepare_dataset
from engine.events import StepsLogged
from engine.export import tuned_document
from engine.schedules import (
    Cosine,
    GroupSetting,
    PlateauRule,
    ReplaceRest,
    RunSchedule,
    ScaleRest,
    Schedule,
    SetConstant,
    SetGroups,
    load_schedule,
    save_schedule,
)
from engine.store import read_steps
from engine.training.job import TrainingJob


def test_exported_schedule_reproduces_the_applied_lrs_per_group_by_name(digits16, tmp_path, capsys):
    events = Events()
    job = TrainingJob(tiny_config(epochs=2, group_lr={"all": 0.25, "block3": 0.5}, shape="one_cycle"), digits16)
    job.bus.subscribe(events)
    thread = start_job(job)
    events.wait_for(lambda ev: ev.of(StepsLogged))
    step = paused_at(job, events)
    job.send(EditSchedule(ReplaceRest(Schedule((Cosine(steps=30, start_lr=1.0),)), from_current_lr=True)))
    thawed_at = step + 10
    job.send(EditSchedule(SetGroups((GroupSetting("block1", 0.1, frozen_until=thawed_at), GroupSetting("all", 0.3),
                                     GroupSetting("head", 2.0)))))
    job.send(Resume())
    thread.join()
    steps, _, applied, momenta = events.steps()
    names = events.of(StepsLogged)[0].groups
    assert len(steps) == step + 30 and names == ("block1", "block2", "block3", "head")
    assert np.all(applied[step:thawed_at, 0] == 0) and np.all(applied[thawed_at:, 0] > 0)

    path = save_schedule(tmp_path / "tuned.json", tuned_document(job.run_schedule, job.config, digits16.summary.to_dict(),
                                                                  job.session.steps_per_epoch, job.metrics,
                                                                  groups=job.session.group_names))
    order = ("head", "block3", "block1", "block2")  # another order than the model's: matched by name
    params = {name: torch.nn.Parameter(torch.zeros(1)) for name in order}
    optimizer = torch.optim.SGD([{"params": [p], "name": n} for n, p in params.items()], lr=1.0, momentum=0.9)
    scheduler = load_schedule(path).torch_scheduler(optimizer)
    plain, frozen = [], []
    for _ in steps:
        plain.append([g["lr"] for g in optimizer.param_groups] + [optimizer.param_groups[0]["momentum"]])
        frozen.append(not params["block1"].requires_grad)
        optimizer.step()
        scheduler.step()
    plain = np.array(plain)
    for column, name in enumerate(order):
        assert np.array_equal(plain[:, column], applied[:, names.index(name)]), name
    assert np.array_equal(plain[:, 4], momenta) and np.flatnonzero(frozen).tolist() == list(range(step, thawed_at))

    assert run_cli(["schedule", "csv", str(path)]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["step", *[f"lr_{n}" for n in names], "momentum"]
    printed = np.array([[float(v) for v in row[1:]] for row in rows[1:]])
    assert np.array_equal(printed[:, :4], applied) and np.array_equal(printed[:, 4], momenta)

    document = load_schedule(path)
    assert document.dataset["fingerprint"] == digits16.summary.fingerprint and document.group_names == names
    assert document.context["steps_per_epoch"] == 22 and document.edits[0]["step"] == step


def test_training_with_a_schedule_from_another_dataset_asks_first(digits16, tmp_path, capsys):
    job = TrainingJob(tiny_config(), digits16)
    path = save_schedule(tmp_path / "tuned.json", tuned_document(job.run_schedule, job.config, digits16.summary.to_dict(), 22))
    args = ["train", "--data", str(CAMERA2), "--image-size", "16", "--epochs", "1", "--schedule", str(path)]
    assert run_cli(args) == 2
    err = capsys.readouterr().err
    assert "this schedule may not fit this run:" in err and "tuned on 'digits'" in err
    assert "pass --accept-mismatch" in err
    assert run_cli([*args, "--accept-mismatch", "--json"]) == 0
    assert '"state": "finished"' in capsys.readouterr().out


def test_a_schedule_file_is_re_stretched_to_the_run(tmp_path, capsys):
    digits = prepare_dataset(tiny_config().data, resolution=16)
    job = TrainingJob(tiny_config(epochs=1), digits)
    path = save_schedule(tmp_path / "tuned.json", tuned_document(job.run_schedule, job.config, digits.summary.to_dict(), 22))
    assert run_cli(["train", "--data", str(tiny_config().data), "--image-size", "16", "--epochs", "3", "--schedule", str(path), "--json"]) == 0
    assert '"total_steps": 66' in capsys.readouterr().out


def test_a_schedule_whose_run_the_plateau_rule_cut_trains_the_cuts_without_the_rule(digits16, tmp_path, capsys):
    job = TrainingJob(tiny_config(epochs=1), digits16)
    ruled = RunSchedule(dataclasses.replace(job.run_schedule.timeline, plateau=PlateauRule(patience=0)))
    files = {name: save_schedule(tmp_path / f"{name}.json", tuned_document(run, job.config, digits16.summary.to_dict(), 22))
             for name, run in (("ruled", ruled), ("cut", ruled.apply(ScaleRest(0.1, reason="plateau"), 11, 0.1)))}
    # Left on, the rule would cut again where the file's run was cut: the LR ×0.01 for a run meant to repeat it.
    assert load_schedule(files["ruled"]).for_run(44).plateau == PlateauRule(patience=0)
    assert load_schedule(files["cut"]).for_run(22).plateau is None and load_schedule(files["cut"]).for_run(44).plateau is None
    assert run_cli(["train", "--data", str(SAMPLE), "--image-size", "16", "--epochs", "1", "--schedule", str(files["cut"])]) == 0
    assert "the plateau rule cut the LR 1 time in the run; those cuts are in the schedule now, so the rule is off" in capsys.readouterr().err


def test_show_names_the_schedule_file_a_run_trained_and_every_piece_of_it(digits16, tmp_path, capsys):
    """A file exported from an edited run starts a run as several pieces: `show` described its first alone, as if the
    run had trained that one-cycle throughout, and did not say that a file set the schedule."""
    job = TrainingJob(tiny_config(epochs=1), digits16)
    edited = job.run_schedule.apply(SetConstant(0.05), 11, 0.1)
    path = save_schedule(tmp_path / "edited.json", tuned_document(edited, job.config, digits16.summary.to_dict(), 22))
    runs = ["--runs-dir", str(tmp_path / "runs")]
    assert run_cli(["train", "--data", str(SAMPLE), "--image-size", "16", "--epochs", "1", "--schedule", str(path), "--json", *runs]) == 0
    run = json.loads(capsys.readouterr().out)["run_dir"]
    assert run_cli(["show", run, *runs]) == 0
    shown = capsys.readouterr().out
    assert (f"schedule   from {path}: steps 0–11: cosine 0.1 → 0 over 22 steps; steps 11–22: constant 0.05 "
            "over 11 steps\n") in shown, shown


def test_a_schedule_tuned_with_another_optimizer_is_not_used_silently(digits16, tmp_path, capsys):
    job = TrainingJob(tiny_config(optimizer="adamw", lr=0.003), digits16)
    path = save_schedule(tmp_path / "tuned.json", tuned_document(job.run_schedule, job.config, digits16.summary.to_dict(), 22))
    args = ["train", "--data", str(SAMPLE), "--image-size", "16", "--epochs", "1", "--schedule", str(path)]
    assert run_cli(args) == 2  # SGD, the default, at AdamW's LR trained to 10% in a user's test
    err = capsys.readouterr().err
    assert "optimizer: tuned with adamw, this run uses sgd; their LRs are not interchangeable" in err
    assert run_cli([*args, "--optimizer", "adamw", "--json"]) == 0


def test_a_fine_tunes_schedule_on_another_model_names_the_options_that_train_what_it_was_tuned_with(digits16, tmp_path, capsys):
    """Refused on the default small CNN, a MobileNetV2 fine-tune's file advised --accept-mismatch alone, which trains a
    model its groups do not fit (helper-123)."""
    import json

    job = TrainingJob(tiny_config(), digits16)
    document = tuned_document(job.run_schedule, job.config, digits16.summary.to_dict(), 22)
    document["context"] |= {"model": "mobilenet_v2", "weights": "MobileNet_V2_Weights.IMAGENET1K_V1"}
    path = tmp_path / "fine-tune.json"
    path.write_text(json.dumps(document))
    assert run_cli(["train", "--data", str(SAMPLE), "--image-size", "16", "--epochs", "1", "--schedule", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.endswith("the schedule may not fit this run (see above); give --model mobilenet_v2 --pretrained IMAGENET1K_V1 "
                        "to train what it was tuned with, or pass --accept-mismatch to use it anyway\n"), err
    document["context"]["weights"] = "/weights/my model.pt"  # a file of one's own: --weights, quoted for the shell
    path.write_text(json.dumps(document))
    assert run_cli(["train", "--data", str(SAMPLE), "--image-size", "16", "--epochs", "1", "--schedule", str(path)]) == 2
    assert "give --model mobilenet_v2 --weights '/weights/my model.pt' to train" in capsys.readouterr().err


def test_ctl_apply_refuses_a_file_tuned_with_another_optimizer_or_model(digits16, tmp_path):
    from engine.cli.common import CliError
    from engine.cli.ctl import replacement

    job = TrainingJob(tiny_config(optimizer="adamw", lr=0.003), digits16)
    path = save_schedule(tmp_path / "tuned.json", tuned_document(job.run_schedule, job.config, digits16.summary.to_dict(), 22))
    status = {"step": 5, "total_steps": 22, "dataset": digits16.summary.to_dict(), "model": "small_cnn", "optimizer": "sgd"}
    with pytest.raises(CliError, match="tuned with optimizer adamw; this run uses sgd"):
        replacement(path, status)
    with pytest.raises(CliError, match="tuned with model small_cnn; this run uses resnet18"):
        replacement(path, {**status, "model": "resnet18", "optimizer": "adamw"})
    assert replacement(path, status, accept_mismatch=True).fit_rest  # `ctl apply --accept-mismatch`: asked for, applied
    edit = replacement(path, {**status, "optimizer": "adamw"})
    assert edit.fit_rest and edit.schedule == load_schedule(path).timeline.pieces[-1].schedule  # fitted to the rest where it lands


def test_a_run_asked_for_no_momentum_trains_and_exports_a_one_cycle_without_one(tmp_path, capsys):
    """--momentum 0 with the one-cycle preset cycled the momentum 0.95 → 0.85 anyway (PyTorch's OneCycleLR does), so plain
    SGD asked for trained with momentum, and the stability bound measured for β 0 was twice the run's."""
    path = tmp_path / "plain-sgd.json"
    assert run_cli(["train", "--data", str(SAMPLE), "--image-size", "16", "--epochs", "1", "--momentum", "0", "--shape",
                    "one_cycle", "--export-schedule", str(path), "--runs-dir", str(tmp_path / "runs"),
                    "--library-dir", str(tmp_path / "library"), "--json"]) == 0
    capsys.readouterr()
    assert run_cli(["schedule", "csv", str(path)]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))[1:]
    lrs, momenta = np.array([float(row[1]) for row in rows]), np.array([float(row[-1]) for row in rows])
    assert lrs.max() > 10 * lrs[0] and np.all(momenta == 0.0)  # the LR still cycles
    (segment,) = load_schedule(path).timeline.pieces[-1].schedule.segments
    assert segment.kind == "one_cycle" and not segment.cycle_momentum  # PyTorch's OneCycleLR built from the file agrees

    # Trained again from the file: with its momentum, said and recorded (the record said 0.9); --momentum overrides it.
    for option, momentum in (([], 0.0), (["--momentum", "0.9"], 0.9)):
        runs = tmp_path / f"again-{momentum}"
        assert run_cli(["train", "--data", str(SAMPLE), "--image-size", "16", "--epochs", "1", "--schedule", str(path),
                        "--runs-dir", str(runs), *option]) == 0
        said = capsys.readouterr().err
        assert (f"momentum 0, as {path} was trained with (--momentum overrides)" in said) == (not option)
        (run,) = runs.iterdir()
        assert json.loads((run / "config.json").read_text())["config"]["momentum"] == momentum
        assert np.all(read_steps(run)["momentum"] == momentum)

    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=1.0, momentum=0.0)
    scheduler = load_schedule(path).torch_scheduler(optimizer)
    seen = []
    for _ in rows:
        seen.append(optimizer.param_groups[0]["momentum"])
        optimizer.step()
        scheduler.step()
    assert seen == [0.0] * len(rows)


def test_schedule_show_says_where_a_piece_cut_by_the_next_is_in_force(digits16, tmp_path, capsys):
    """`steps 0–11 (11 steps): cosine 0.1 → 0 over 22 steps` gave two lengths with nothing to say how they meet
    (helper-79); a piece in force over its whole length says nothing more."""
    job = TrainingJob(tiny_config(epochs=1), digits16)
    edited = job.run_schedule.apply(SetConstant(0.05), 11, 0.1)
    path = save_schedule(tmp_path / "edited.json", tuned_document(edited, job.config, digits16.summary.to_dict(), 22))
    assert run_cli(["schedule", "show", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "steps 0–11 (11 steps): cosine 0.1 → 0 over 22 steps (cut after its first 11 steps); " in shown, shown
    assert "steps 11–22 (11 steps): constant 0.05 over 11 steps; " in shown, shown
