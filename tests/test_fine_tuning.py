"""Fine-tuning on real ImageNet weights (torchvision's MobileNetV2 IMAGENET1K_V1, from a temporary torch hub cache):
loading, group naming, freezing, unfreezing mid-run, discriminative LRs, the range test and the exported schedule."""

import hashlib
import os
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import SAMPLE, Events, cli, tiny_config

from bench.hub_weights import MOBILENET_V2_FILE
from engine.commands import EditSchedule
from engine.errors import ConfigError, ScheduleFileError, WeightsMissing
from engine.events import StepsLogged
from engine.export import tuned_document
from engine.models import setup_model
from engine.range_test.runner import run_range_test
from engine.range_test.settings import RangeTestSettings
from engine.schedules import Undo, Unfreeze, load_schedule, save_schedule
from engine.training.job import TrainingJob, default_run_schedule

STAGES = ("stem", "stage1", "stage2", "stage3", "stage4", "head")
WEIGHTS = "MobileNet_V2_Weights.IMAGENET1K_V1"


def fine_tune_config(**changes):
    """Two short epochs at 16 px: the head alone for the first, then every group with LRs spread over 1/100."""
    values = {"model": "mobilenet_v2", "pretrained": "auto", "freeze_epochs": 1, "epochs": 2, "batch_size": 32,
              "lr": 0.02, "augment": "none"}
    return tiny_config(**{**values, **changes})


@pytest.fixture(scope="module")
def digits16(digits16):
    """A third of the digits, 15 steps an epoch: these tests check what trains when, not how well (a MobileNet's
    epochs of the whole sample were most of the suite's fine-tuning time)."""
    return replace(digits16, train_index=digits16.train_index[:480], val_index=digits16.val_index[:128])


def test_the_weights_load_through_torchvision_from_the_hub_cache_into_all_but_a_new_head(hub_weights):
    # The hash check torch hub makes on a download: the file's SHA-256 starts with the hex in its name.
    prefix = re.search(r"-([a-f0-9]+)\.", MOBILENET_V2_FILE).group(1)
    assert hashlib.sha256(hub_weights.read_bytes()).hexdigest().startswith(prefix)
    assert hub_weights.parent == Path(os.environ["TORCH_HOME"]) / "hub" / "checkpoints"  # where a user's cache is
    from torchvision.models import mobilenet_v2

    reference = mobilenet_v2(weights="IMAGENET1K_V1").state_dict()  # torchvision's own path through the same cache
    setup = setup_model("mobilenet_v2", channels=1, classes=10, resolution=16, pretrained="auto")
    assert setup.weights == WEIGHTS and tuple(setup.groups) == STAGES
    assert setup.input.mean == (0.485, 0.456, 0.406) and setup.input.resolution == 224
    state = setup.model.state_dict()
    assert setup.model.features[0][0].stride == (1, 1) and state["features.0.0.weight"].shape[1] == 3  # kept, 3 channels
    assert all(torch.equal(state[k], v) for k, v in reference.items() if not k.startswith("classifier.1."))
    assert state["classifier.1.weight"].shape == (10, 1280)


def test_offline_with_an_empty_cache_the_message_names_the_file_and_where_to_put_it(capsys):
    with pytest.raises(WeightsMissing) as error:
        setup_model("mobilenet_v2", channels=3, classes=10, resolution=32, pretrained="auto")
    message = str(error.value)
    assert "mobilenet_v2-7ebf99e0.pth" in message and "hub/checkpoints" in message
    assert "download https://download.pytorch.org/models/mobilenet_v2-7ebf99e0.pth" in message
    # Another way to start is the interface's to name: the command line's is its option (the window has no such field).
    assert "--weights" not in message
    code, _, err = cli(capsys, "train", "--data", SAMPLE, "--image-size", "16", "--epochs", "1", "--model", "mobilenet_v2",
                       "--pretrained")
    assert code == 2 and message in err and err.rstrip().endswith(f"{message}, or pass --weights FILE")
    with pytest.raises(ConfigError, match="has no weights 'IMAGENET9K'; choose one of DEFAULT, IMAGENET1K_V1, IMAGENET1K_V2$"):
        setup_model("mobilenet_v2", channels=3, classes=10, resolution=32, pretrained="IMAGENET9K")
    with pytest.raises(ConfigError, match="small_cnn has no pretrained weights"):
        setup_model("small_cnn", channels=3, classes=10, resolution=32, pretrained="auto")


def test_weights_to_fetch_name_the_file_start_downloads_and_nothing_once_it_is_cached(monkeypatch):
    from bench.hub_weights import install_mobilenet_v2_weights
    from engine.models.setup import weights_to_fetch

    monkeypatch.delenv("LRSCOPE_OFFLINE")  # a machine that may download: it is said where the file goes, and its URL
    said = weights_to_fetch("mobilenet_v2", "auto")
    folder = Path(os.environ["TORCH_HOME"]) / "hub" / "checkpoints"
    assert said == (f"MobileNet_V2_Weights.IMAGENET1K_V2 is not in the torch hub cache yet: Start downloads "
                    f"mobilenet_v2-7ebf99e0.pth into {folder}; without a network, download "
                    "https://download.pytorch.org/models/mobilenet_v2-7ebf99e0.pth there first")
    assert weights_to_fetch("mobilenet_v2", "") == weights_to_fetch("small_cnn", "") == ""  # random weights fetch nothing
    install_mobilenet_v2_weights()
    assert weights_to_fetch("mobilenet_v2", "auto") == weights_to_fetch("mobilenet_v2", "IMAGENET1K_V1") == ""  # cached
    assert weights_to_fetch("mobilenet_v2", "IMAGENET1K_V2").startswith("MobileNet_V2_Weights.IMAGENET1K_V2 is not in")


def test_a_damaged_cached_file_is_refused_by_its_hash(hub_weights):
    hub_weights.write_bytes(hub_weights.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ConfigError, match="SHA-256 does not start with b0353104 .* delete it and download it again"):
        setup_model("mobilenet_v2", channels=3, classes=10, resolution=32, pretrained="IMAGENET1K_V1")


def body(job):
    """Every parameter but the head's, by group."""
    return {g["name"]: [p.detach().clone() for p in g["params"]] for g in job.session.optimizer.param_groups if g["name"] != "head"}


def same(a, b):
    return all(torch.equal(x, y) for name in a for x, y in zip(a[name], b[name]))


def watched_job(digits16, config, **options):
    """A job (with its events) that snapshots the body's weights before every optimizer step."""
    job = TrainingJob(config, digits16, **options)
    events, snapshots = Events(), []
    job.bus.subscribe(events)
    step = job.session.optimizer.step

    def watching(*args, **kwargs):
        snapshots.append(body(job))
        return step(*args, **kwargs)

    job.session.optimizer.step = watching
    return job, events, snapshots


def test_fine_tune_trains_the_head_alone_then_every_group_at_its_own_lr(hub_weights, digits16):
    job, events, snapshots = watched_job(digits16, fine_tune_config())
    per_epoch = job.session.steps_per_epoch
    assert job.session.weights == WEIGHTS and job.run().state == "finished"
    assert all(e.groups == STAGES for e in events.of(StepsLogged))
    assert all(same(snapshots[0], s) for s in snapshots[1:per_epoch + 1])  # frozen: bit-identical through epoch 1
    assert not any(same(snapshots[per_epoch + 1], s) for s in snapshots[per_epoch + 2:])  # unfrozen: learning
    steps, _, lrs, _ = events.steps()
    expected = job.run_schedule.timeline.group_lrs(steps, STAGES)
    assert np.array_equal(lrs, expected)  # read back from the optimizer, by name
    assert np.all(lrs[:per_epoch, :-1] == 0) and np.all(lrs[:per_epoch, -1] > 0)
    ratios = lrs[per_epoch:, :] / lrs[per_epoch:, -1:]
    assert np.allclose(ratios, np.geomspace(0.01, 1, 6)[None, :])  # discriminative: spread over a factor of 100


def test_unfreeze_now_mid_run_is_recorded_and_undoable(hub_weights, digits16):
    job, events, snapshots = watched_job(digits16, fine_tune_config(freeze_epochs=1, epochs=2), flush_interval=0.0)
    sent = []

    def steer(event):
        if isinstance(event, StepsLogged) and event.steps[-1] in (2, 5) and event.steps[-1] not in sent:
            sent.append(event.steps[-1])
            job.send(EditSchedule(Unfreeze(("stage4",)) if event.steps[-1] == 2 else Undo()))

    job.bus.subscribe(steer)
    job.run()
    edits = job.run_schedule.edits
    assert [(e.step, e.edit.kind, e.summary) for e in edits] == [
        (3, "unfreeze", "unfroze stage4"), (6, "undo", "undid edit #1 (unfroze stage4)")]
    lrs = events.steps()[2]
    assert np.all(lrs[3:6, 4] > 0) and np.all(lrs[:3, 4] == 0) and np.all(lrs[6:job.session.steps_per_epoch, 4] == 0)
    assert np.all(lrs[:job.session.steps_per_epoch, :4] == 0)
    stage4 = [s["stage4"] for s in snapshots]
    assert not all(torch.equal(a, b) for a, b in zip(stage4[3], stage4[6]))  # it learned while unfrozen
    assert all(torch.equal(a, b) for later in stage4[7:job.session.steps_per_epoch] for a, b in zip(stage4[6], later))


@pytest.mark.parametrize("frozen_bn, statistics_move", [("train", True), ("freeze", False)])
def test_batchnorm_of_frozen_groups_updates_its_statistics_or_holds_them(hub_weights, digits16, frozen_bn, statistics_move):
    job = TrainingJob(fine_tune_config(frozen_bn=frozen_bn), digits16)
    norm = job.session.model.features[3].conv[0][1]  # a BatchNorm layer of stage1, frozen for the first epoch
    seen, step = [], job.session.optimizer.step

    def watching(*args, **kwargs):
        seen.append(norm.running_mean.clone())
        return step(*args, **kwargs)

    job.session.optimizer.step = watching
    job.run()
    frozen_phase = seen[:job.session.steps_per_epoch]
    assert (not torch.equal(frozen_phase[0], frozen_phase[-1])) == statistics_move
    assert not torch.equal(seen[-2], seen[-1])  # unfrozen, it learns whatever the setting


def test_the_range_test_skips_frozen_groups_keeps_the_ratios_and_says_which_trained(hub_weights, digits16):
    job = TrainingJob(fine_tune_config(), digits16)
    session, timeline = job.session, job.run_schedule.timeline
    before = body(job)
    # λmax at the test's start is most of its work here and is not what it checks (a fine-tune's λmax: test_curvature_cli)
    settings = RangeTestSettings(iterations=6, repeats=1, curvature=False)
    head_only = run_range_test(session, settings, lambda e: None, timeline, step=0)
    assert head_only.measured["trainable"] == ["head"] and head_only.measured["groups"]["stem"] == 0
    assert same(before, body(job)) and all(p.requires_grad for p in session.model.parameters())  # restored
    unfrozen = run_range_test(session, settings, lambda e: None, timeline, step=session.steps_per_epoch)
    assert unfrozen.measured["trainable"] == list(STAGES)
    assert np.allclose(list(unfrozen.measured["groups"].values()), np.geomspace(0.01, 1, 6))


def test_the_exported_schedule_replays_per_group_through_torch_scheduler_by_name(hub_weights, digits16, tmp_path):
    job = TrainingJob(fine_tune_config(), digits16)
    events = Events()
    job.bus.subscribe(events)
    job.run()
    document = tuned_document(job.run_schedule, job.config, digits16.summary.to_dict(), job.session.steps_per_epoch,
                              groups=job.session.group_names, weights=job.session.weights)
    loaded = load_schedule(save_schedule(tmp_path / "tuned.lrschedule.json", document))
    assert loaded.context["weights"] == WEIGHTS and loaded.group_names == STAGES
    model = setup_model("mobilenet_v2", channels=1, classes=10, resolution=16, pretrained="auto").model
    named = dict(zip(STAGES, [list(m.parameters()) for m in (model.features[0:2], model.features[2:4], model.features[4:7],
                                                              model.features[7:14], model.features[14:], model.classifier)]))
    optimizer = torch.optim.SGD([{"params": named[n], "name": n} for n in reversed(STAGES)], lr=0.1, momentum=0.9)
    scheduler = loaded.torch_scheduler(optimizer)
    replayed = []
    for _ in range(loaded.timeline.total_steps):
        replayed.append([{g["name"]: g["lr"] for g in optimizer.param_groups}[n] for n in STAGES])
        optimizer.step()
        scheduler.step()
    assert np.allclose(replayed, events.steps()[2], rtol=1e-12, atol=0)
    stranger = torch.optim.SGD([{"params": list(model.parameters()), "name": "backbone"}], lr=0.1)
    with pytest.raises(ScheduleFileError, match="stem, stage1, stage2, stage3, stage4, head that are not among the parameter groups .backbone."):
        loaded.torch_scheduler(stranger)


def test_starting_schedules_of_each_preset(hub_weights, digits16):
    names = STAGES
    spread = default_run_schedule(fine_tune_config(freeze_epochs=0, lr_spread=[1e-4, 1e-2]), 10, names).timeline
    assert np.allclose(spread.group_lrs([spread.total_steps // 3], names)[0] / spread.lr_at(spread.total_steps // 3),
                       np.geomspace(0.01, 1, 6))
    gradual = default_run_schedule(fine_tune_config(freeze_epochs=0, gradual_unfreeze=1, epochs=6), 10, names).timeline
    groups = gradual.pieces[0].groups
    assert [g.frozen_until for g in groups] == [50, 40, 30, 20, 10, 0]
    assert np.allclose([g.multiplier for g in groups], [2.6 ** -k for k in range(5, -1, -1)])
    decay = default_run_schedule(fine_tune_config(freeze_epochs=0, layer_decay=0.75, group_lr={"head": 10}), 10, names).timeline
    assert [g.multiplier for g in decay.pieces[0].groups] == [0.75 ** k for k in range(5, 0, -1)] + [10.0]
    assert not any(g.frozen_until for g in decay.pieces[0].groups)


def test_group_lr_all_sets_the_groups_a_fine_tuning_preset_names_but_the_ones_given_by_name():
    """`--freeze-epochs 1 --group-lr all=0.1 --group-lr head=1` ignored `all`: the preset names every group, and an
    `all` appended after them covered none (`schedule show` listed "…, head ×1, all ×0.1")."""
    from engine.training.start_schedule import starting_timeline

    config = tiny_config(freeze_epochs=1, epochs=3, group_lr={"all": 0.1, "head": 1.0})
    groups = starting_timeline(config, 10, ("block1", "block2", "head")).pieces[0].groups
    assert [(g.name, g.multiplier, g.frozen_until) for g in groups] == [("block1", 0.1, 10), ("block2", 0.1, 10), ("head", 1.0, 0)]
    plain = starting_timeline(tiny_config(group_lr={"all": 0.5}), 10).pieces[0].groups
    assert [(g.name, g.multiplier) for g in plain] == [("all", 0.5)]


def test_a_fine_tune_planned_far_above_the_pretrained_default_lr_says_so_before_its_first_step(hub_weights, tiny_folder, tmp_path,
                                                                                                capsys):
    """`train --model mobilenet_v2 --pretrained --lr 10` trained into a blown-up loss, and only then said so."""
    quick = ["--data", tiny_folder, "--image-size", "16", "--batch-size", "4", "--epochs", "1", "--model", "mobilenet_v2",
             "--pretrained", "--shape", "constant", "--runs-dir", tmp_path / "runs", "--no-cache", "--on-fault", "stop"]
    _, _, err = cli(capsys, "train", *quick, "--lr", "10")
    lines = err.splitlines()
    warned = [i for i, line in enumerate(lines) if "pretrained layers" in line]
    assert len(warned) == 1, err
    assert lines[warned[0]] == ("warning: the schedule takes the pretrained layers (stem, stage1, stage2, stage3, stage4) to "
                                "LR 10, ×500 the fine-tuning default 0.02: steps that large overwrite what the weights learned, "
                                "so the loss is likely to blow up; lower the peak LR (to about 0.02) or measure it with a range "
                                "test first")
    first_step = next((i for i, line in enumerate(lines) if re.match(r"(epoch \d|.*(nan|exploding))", line)), len(lines))
    assert warned[0] < first_step, err
    _, _, err = cli(capsys, "train", *quick)  # the default fine-tuning LR: nothing to say (4 steps of 4 images may still fail)
    assert "training on " in err and "pretrained layers" not in err, err


def test_the_pretrained_peak_is_read_per_group_the_new_head_left_out():
    """A fine_tune preset names the head: asking its LRs without it failed the run before its first step."""
    from engine.schedules.pretrained_peak import pretrained_peak_warning
    from engine.training.start_schedule import starting_timeline

    def warning(**changes):
        return pretrained_peak_warning(starting_timeline(fine_tune_config(**changes), 15, STAGES), STAGES)

    assert warning() == "" and warning(lr=0.2, lr_spread=[0.001, 0.2]) == ""  # only the new head above 0.1: nothing to say
    assert warning(lr=10).startswith("the schedule takes the pretrained layers (stage1, stage2, stage3, stage4) to LR 1.98, ×99 ")
