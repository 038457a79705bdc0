"""`lrscope curvature` and the curvature options of `lrscope train`, from the command line."""

from __future__ import annotations

import json
import os

import pytest
from helpers import SAMPLE, cli_done

from engine.cli import run_cli


def test_curvature_of_a_stored_run_as_json(capsys):
    code = run_cli(["train", "--data", str(SAMPLE), "--image-size", "16", "--epochs", "1", "--curvature-every", "10",
                    "--optimizer", "adam", "--lr", "0.003", "--shape", "constant", "--json"])
    trained = json.loads(capsys.readouterr().out)
    assert code == 0 and [m["step"] for m in trained["curvature"]] == [0, 10, 20]
    groups = trained["curvature"][0]["groups"]
    assert groups[-1] == "head" and trained["curvature"][0]["bounds"] == [None] * len(groups)  # Adam before its first step
    assert trained["curvature"][1]["preconditioned"] and trained["curvature"][1]["constant"] == pytest.approx(38.0)
    assert trained["health"]["groups"] == groups and trained["health"]["step"] == 19
    # `show` gives them back from the store, as `train --json` gave them (the store held them, and show left them out).
    assert run_cli(["show", trained["run_dir"], "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["curvature"], shown["health"]) == (trained["curvature"], trained["health"])
    assert run_cli(["show", trained["run_dir"]]) == 0
    assert "\nλmax       3 measurements, the last " in capsys.readouterr().out

    result = cli_done(capsys, "curvature", "--checkpoint", os.path.basename(trained["run_dir"]), "--max-iter", "4", "--json")
    assert result.returncode == 0, result.stderr
    measured = json.loads(result.stdout)
    assert (measured["state"], measured["exit_status"]) == ("finished", 0)  # as every command's object says (helper-82)
    assert measured["run"] == os.path.basename(trained["run_dir"]) and measured["checkpoint_step"] == 22
    # A finished run is weighed at its peak, for the next run: its last step's annealed LR told nothing (helper-77).
    assert measured["finished"] and measured["lrs_at_step"] == 0 and measured["lrs"] == pytest.approx([0.003] * len(groups))
    assert measured["optimizer"] == "adam" and measured["preconditioned"] and measured["lambda_max"] > 0
    assert measured["bn_mode"] == "batch" and len(measured["bounds"]) == len(groups) and measured["iterations"] <= 4
    # The stored run's own config and data are measured: these were ignored without a word (helper-82).
    refused = cli_done(capsys, "curvature", "--checkpoint", measured["run"], "--model", "resnet18", "--image-size", "32", "--data", SAMPLE)
    assert refused.returncode == 2 and refused.stderr == (
        "lrscope: error: --data, --model, --image-size: not used with --checkpoint, which measures the stored run with its "
        "own config and data; leave them out, or leave out --checkpoint to measure fresh weights\n")


def test_curvature_of_fresh_weights_in_words(capsys):
    result = cli_done(capsys, "curvature", "--data", SAMPLE, "--image-size", "16", "--max-iter", "3", "--bn-mode", "running")
    assert result.returncode == 0, result.stderr
    assert "λmax" in result.stdout and "BatchNorm on running statistics" in result.stdout
    assert "sgd_momentum: stable in theory while LR < 2(1+β)/λ" in result.stdout and "head" in result.stdout
    assert "(fresh weights)" in result.stdout and "  head       peak LR 0.2 " in result.stdout


def test_curvature_of_pretrained_weights_names_them_and_counts_relu6_units(hub_weights, capsys):
    """ImageNet weights were called "fresh weights", and MobileNetV2's ReLU6 units were not counted (helper-70)."""
    assert run_cli(["curvature", "--data", str(SAMPLE), "--image-size", "16", "--max-iter", "3", "--model", "mobilenet_v2",
                    "--pretrained"]) == 0
    out = capsys.readouterr().out
    assert "(MobileNet_V2_Weights.IMAGENET1K_V1, a new head)" in out, out
    assert "  stage4     peak LR 0.02 " in out and ", dead ReLU units " in out
    # A fine-tune is weighed phase by phase at each group's own LR: every group was at 0.02, its frozen ones too, at
    # "330% of the bound" for a stem that trains 200× lower (helper-77).
    assert run_cli(["curvature", "--data", str(SAMPLE), "--image-size", "16", "--max-iter", "3", "--model", "mobilenet_v2",
                    "--pretrained", "--freeze-epochs", "1", "--json"]) == 0
    head_only = json.loads(capsys.readouterr().out)
    after = head_only["after_unfreeze"]
    assert head_only["lrs"][:-1] == [0] * 5 and head_only["bounds"][:-1] == [None] * 5 and head_only["lrs"][-1] > 0
    assert after["lrs_at_step"] > head_only["lrs_at_step"] and all(lr > 0 for lr in after["lrs"])
    assert after["lrs"][0] < after["lrs"][-1] / 50  # the stem's own, spread LR


def test_bad_curvature_options_say_what_to_do(capsys):
    assert run_cli(["curvature", "--data", str(SAMPLE), "--tol", "5"]) == 2
    assert "lrscope: error: --tol: must be above 0 and below 1, got 5.0" in capsys.readouterr().err
    assert run_cli(["curvature"]) == 2
    assert "give --data DIR" in capsys.readouterr().err
    assert run_cli(["train", "--data", str(SAMPLE), "--curvature-every", "often"]) == 2
    assert "--curvature-every: must be auto, off or a whole number of steps" in capsys.readouterr().err


def test_a_runs_stability_warnings_are_in_its_history_for_show_and_a_late_watch(capsys):
    """`show` listed no stability warning, and a `watch` that joined after one never learned of it (the LR 20× the
    bound): the replay of a run's past held its measurements but not its warnings."""
    from pathlib import Path

    from engine.events import CurvatureMeasured, StabilityWarning
    from engine.run.history import stored_history

    code = run_cli(["train", "--data", str(SAMPLE), "--image-size", "16", "--epochs", "1", "--curvature-every", "10", "--lr", "3",
                    "--shape", "constant", "--on-fault", "stop", "--json"])
    result = json.loads(capsys.readouterr().out)
    run_dir = result["run_dir"]
    assert code in (0, 1) or (code == 3 and result["fault"]["kind"] == "damaged_weights")  # LR 3 may wreck the weights
    past, _ = stored_history(Path(run_dir))
    (warning,) = [e for e in past if isinstance(e, StabilityWarning)][:1]
    assert warning.step == 0 and warning.kind == "above_bound" and "LR 3 is above the stability bound" in warning.message
    first = next(i for i, e in enumerate(past) if isinstance(e, CurvatureMeasured))
    assert past.index(warning) == first + 1  # right after the measurement it came from
    assert run_cli(["show", run_dir]) == 0
    assert "stability (above bound) at step 0: The LR 3 is above" in capsys.readouterr().out
