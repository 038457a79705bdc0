"""The headless CLI end to end on the sample: train, range-test, schedule, runs, show; errors exit 2."""

import csv
import io
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, SAMPLE, cli, cli_done, command_lines, lrscope, plain_loop_lrs, write_two_classes

from engine.cli import build_parser, run_cli

# A run that is a test's setup trains in this process: a fresh one pays 5 s of imports (torch, and torch._dynamo that
# torch.optim loads) for 2 s of training. The commands under test still run as processes.
QUICK = ["--image-size", "16", "--epochs", "1"]


def test_show_lists_a_runs_fault_and_rollback_where_they_happened_among_its_epochs(capsys):
    """`show` printed every edit and fault after all the epochs, far from where they acted."""
    code, out, _ = cli(capsys, "train", "--data", SAMPLE, "--image-size", "16", "--epochs", "4", "--lr", "30", "--max-rollbacks", "1",
                       "--json")
    assert code == 0
    code, out, _ = cli(capsys, "show", json.loads(out)["run_dir"])
    # Warnings are left out: the epoch at LR 30 may end at chance, and its warning come between the fault and the rollback.
    lines = [line.strip() for line in out.splitlines() if line.startswith("  ") and not line.strip().startswith("warning")]
    fault = next(i for i, line in enumerate(lines) if line.startswith("fault (exploding loss)"))
    assert lines[fault + 1].startswith("edit #1 at step") and "(rollback)" in lines[fault + 1]  # the fault, then the rollback it caused
    fault_step, edit_step = (int(re.search(r"at step (\d+)", lines[i]).group(1)) for i in (fault, fault + 1))
    epochs = [(i, int(line.split()[3])) for i, line in enumerate(lines) if line.startswith("epoch")]
    assert epochs and all(step <= fault_step for i, step in epochs if i < fault)
    assert all(step > edit_step for i, step in epochs if i > fault + 1)

def test_train_json_then_runs_show_and_csv(capsys, tmp_path):
    code, out, err = cli(capsys, "train", "--data", SAMPLE, *QUICK, "--json", "--export-schedule", tmp_path / "s.json")
    assert code == 0
    result = json.loads(out)
    assert result["state"] == "finished" and result["steps"] == 22 and 0 < result["val_accuracy"] <= 1
    assert "epoch 1/1" in err and os.path.isdir(result["run_dir"])
    assert result["library_file"].endswith(".lrschedule.json") and os.path.exists(result["library_file"])

    code, out, _ = cli(capsys, "runs")
    assert code == 0 and os.path.basename(result["run_dir"]) in out and "finished" in out and "22/22" in out

    run_id = os.path.basename(result["run_dir"])
    code, out, _ = cli(capsys, "show", run_id[:20])
    assert code == 0 and "state      finished" in out and "epoch   1" in out
    assert re.search(r"^schedule   \w+ .* over 22 steps$", out, re.MULTILINE)  # what it trained with, not the config's default lr
    assert re.search(r"^model      small_cnn / sgd batch 64, images at 16 px$", out, re.MULTILINE)  # the size said nowhere (helper-126)

    code, out, _ = cli(capsys, "show", run_id, "--csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["step", "loss", "lr_block1", "lr_block2", "lr_block3", "lr_head", "epoch", "momentum"] and len(rows) == 23

    code, out, _ = cli(capsys, "schedule", "show", tmp_path / "s.json")
    assert code == 0 and "dataset     digits" in out and "length      22 steps" in out and "\nsteps 0–22 (22 steps): " in out
    assert "\nsizes       all 32×32\n" in out  # every image's, as the decode read them: not a sample's (helper-105)
    umask = os.umask(0o022)
    os.umask(umask)
    assert (tmp_path / "s.json").stat().st_mode & 0o777 == 0o666 & ~umask  # a file to share, not 0600 as a temporary file is
    code, _, _ = cli(capsys, "schedule", "plot", tmp_path / "s.json", "-o", tmp_path / "s.png")
    assert code == 0 and (tmp_path / "s.png").stat().st_size > 1000


def test_an_exact_run_id_is_found_when_another_run_begins_with_it_and_an_empty_name_is_refused(tmp_path, capsys):
    """`cp -r RUN RUNx`, then `resume RUN` said RUN matched 2 runs, with no longer name to give; `show ""` showed a run."""
    runs = tmp_path / "runs"
    code, out, err = cli(capsys, "train", "--data", SAMPLE, "--image-size", "16", "--epochs", "1", "--runs-dir", runs, "--json")
    assert code == 0, err[-2000:]
    run_id = os.path.basename(json.loads(out)["run_dir"])
    shutil.copytree(runs / run_id, runs / f"{run_id}x")
    shown = cli_done(capsys, "show", run_id, "--runs-dir", runs)
    assert shown.returncode == 0 and run_id in shown.stdout, shown.stderr
    resumed = cli_done(capsys, "resume", run_id, "--runs-dir", runs)
    assert (resumed.returncode, resumed.stderr) == (2, f"lrscope: error: {run_id}: the run already finished; nothing to resume\n")
    empty = cli_done(capsys, "show", "", "--runs-dir", runs)
    assert (empty.returncode, empty.stdout) == (2, "")
    assert empty.stderr == ("lrscope: error: the run's name is empty; give its id (or a unique prefix of it) or its folder; "
                            "`lrscope runs` lists them\n")


def test_runs_and_show_give_json_for_scripts(tmp_path, capsys):
    """A script on a server parsed the table of `lrscope runs` (a 44-column id, "-" for no accuracy) for want of JSON."""
    runs = tmp_path / "runs"
    code, out, err = cli(capsys, "train", "--data", SAMPLE, "--image-size", "16", "--epochs", "3", "--lr", "30", "--max-rollbacks", "1",
                         "--runs-dir", runs, "--json")
    assert code == 0, err[-2000:]
    run_dir = json.loads(out)["run_dir"]
    listed = cli_done(capsys, "runs", "--runs-dir", runs, "--json")
    assert listed.returncode == 0 and listed.stderr == ""
    [run] = json.loads(listed.stdout)
    assert (run["run"], run["folder"], run["dataset"], run["state"], run["served"]) == (os.path.basename(run_dir), run_dir, "digits", "finished", False)
    assert run["steps_done"] == run["total_steps"] == 66 and run["purpose"] is None
    shown = cli_done(capsys, "show", run["run"], "--runs-dir", runs, "--json")
    assert shown.returncode == 0
    summary = json.loads(shown.stdout)
    assert {key: summary[key] for key in run} == run and summary["config"]["epochs"] == 3 and summary["resume_step"] is None
    assert [row["epoch"] for row in summary["epochs"]] == [1, 2, 3]  # as the text counts them
    assert max(row["val_accuracy"] or 0 for row in summary["epochs"]) == run["best_val_accuracy"]
    [rollback] = [edit for edit in summary["edits"] if edit["reason"] == "rollback"]  # the loss at LR 30 blew up once
    assert rollback["step"] < 66 and rollback["summary"]
    faults = [note for note in summary["notes"] if note["kind"].startswith("fault:")]  # as the text's history lists it
    assert faults and faults[0]["step"] >= rollback["step"] and "LR" in faults[0]["message"] and summary["range_tests"] == []
    # Timed as the epochs are: a warning said between steps has no step, and its time places it among them.
    assert isinstance(faults[0]["time"], float) and faults[0]["time"] <= summary["epochs"][-1]["time"]
    both = cli_done(capsys, "show", run["run"], "--runs-dir", runs, "--csv", "--json")  # printed the CSV, exit 0 (helper-82)
    assert both.returncode == 2 and json.loads(both.stdout)["exit_status"] == 2
    assert both.stderr == ("lrscope: error: show: argument --json: not allowed with argument --csv "
                           "(see `lrscope show --help`)\n")
    empty = cli_done(capsys, "runs", "--runs-dir", tmp_path / "none", "--json")
    assert (empty.returncode, json.loads(empty.stdout)) == (0, []) and "no runs under" in empty.stderr
    assert "(no such folder yet)" in empty.stderr
    (tmp_path / "a-file").write_text("")
    not_a_folder = cli_done(capsys, "runs", "--runs-dir", tmp_path / "a-file")  # it listed nothing and exited 0 (helper-92)
    assert not_a_folder.returncode == 2 and not_a_folder.stderr == (f"lrscope: error: {tmp_path / 'a-file'}: not a folder; give "
                                                                    "--runs-dir the folder the runs are stored in\n")


def test_the_readmes_csv_route_gives_a_plain_loop_the_schedulers_lrs(tmp_path, capsys):
    """Without lrscope importable (a project's own `engine` package shadowed it), the README's `schedule csv` rows drive
    the optimizer step by step as the exported scheduler does."""
    code, _, err = cli(capsys, "train", "--data", SAMPLE, *QUICK, "--group-lr", "head=10", "--group-lr", "block1=0.1",
                       "--runs-dir", tmp_path / "runs", "--export-schedule", tmp_path / "s.json")
    assert code == 0, err[-2000:]
    written = cli_done(capsys, "schedule", "csv", tmp_path / "s.json")
    assert written.returncode == 0
    (tmp_path / "lrs.csv").write_text(written.stdout)
    names = ["block1", "block2", "block3", "head"]
    seen = readme_csv_loop(tmp_path, names, batches=22)  # it set every group to the head's LR
    assert len(seen) == 22 and plain_loop_lrs(tmp_path / "s.json", names, 22)[0].tolist() == seen
    # Groups trained alike drive a plain optimizer of one unnamed group ("KeyError: 'name'"), as the scheduler does.
    code, _, err = cli(capsys, "train", "--data", SAMPLE, *QUICK, "--runs-dir", tmp_path / "runs", "--export-schedule", tmp_path / "a.json")
    assert code == 0, err[-2000:]
    written = cli_done(capsys, "schedule", "csv", tmp_path / "a.json")
    assert written.stdout.startswith("step,lr_all,lr_block1,")
    (tmp_path / "lrs.csv").write_text(written.stdout)
    assert readme_csv_loop(tmp_path, [None], batches=22) == plain_loop_lrs(tmp_path / "a.json", [None], 22)[0].tolist()


def readme_csv_loop(folder, names, batches):
    """Run the README's csv loop itself over an optimizer of ``names`` groups; the LRs and momentum of each step."""
    import torch

    block = next(code for code in re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
                 if "csv.DictReader" in code)
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in names]
    optimizer = torch.optim.SGD([{"params": [p]} if name is None else {"name": name, "params": [p]} for name, p in zip(names, params)],
                                lr=1.0, momentum=0.9)
    seen = []
    step = optimizer.step
    optimizer.step = lambda: (seen.append([g["lr"] for g in optimizer.param_groups] + [optimizer.param_groups[0]["momentum"]]), step())
    space = {"optimizer": optimizer, "loader": [(torch.ones(1), None)] * batches,
             "model": lambda x: sum(p * x for p in params), "criterion": lambda out, _: out.sum()}
    cwd = os.getcwd()
    os.chdir(folder)  # the README reads "lrs.csv"
    try:
        exec(block, space)  # the README's own lines
    finally:
        os.chdir(cwd)
    return seen


def test_a_dataset_named_in_accented_letters_gives_readable_names_no_option_can_be_mistaken_for(tmp_path, capsys):
    """A folder "ünï cödé dätä ✓" made the run "…-n-c-d-d-t-…" and a library file "-2026…", which a command line reads as
    an option."""
    data = tmp_path / "ünï cödé dätä ✓"
    for digit in ("0", "1"):
        shutil.copytree(SAMPLE / digit, data / digit)
    code, out, err = cli(capsys, "train", "--data", data, *QUICK, "--runs-dir", tmp_path / "runs", "--library-dir", tmp_path / "lib",
                         "--json", "--export-schedule", tmp_path / "s.json")
    assert code == 0, err[-2000:]
    result = json.loads(out)
    assert re.fullmatch(r"\d{8}-\d{6}-uni-code-data-[0-9a-f]{4}", os.path.basename(result["run_dir"])), result["run_dir"]
    library_file = os.path.basename(result["library_file"])
    assert library_file.startswith("uni-code-data-") and library_file.isascii(), library_file
    shown = cli_done(capsys, "schedule", "show", result["library_file"])  # the name as given, no `--` needed
    assert shown.returncode == 0 and "ünï cödé dätä ✓" in shown.stdout  # the dataset keeps its own name inside
    # The library from the command line (it had none: a run on a server could not find its dataset's schedule).
    listed = cli_done(capsys, "schedule", "list", "--library-dir", tmp_path / "lib")
    assert listed.returncode == 0 and f"  {result['library_file']}\n" in listed.stdout and "ünï cödé dätä ✓ (" in listed.stdout
    entries = json.loads(cli_done(capsys, "schedule", "list", "--library-dir", tmp_path / "lib", "--dataset", "ünï", "--json").stdout)
    assert [e["file"] for e in entries] == [result["library_file"]] and entries[0]["run"] == os.path.basename(result["run_dir"])
    assert json.loads(cli_done(capsys, "schedule", "list", "--library-dir", tmp_path / "lib", "--dataset", "digits", "--json").stdout) == []
    runs = cli_done(capsys, "runs", "--runs-dir", tmp_path / "runs").stdout.splitlines()
    assert runs[0].startswith("RUN ") and " ünï cödé dätä ✓ 20" in runs[1], runs  # the whole name, its column as wide


def test_full_batches_that_leave_a_share_of_the_images_out_of_each_epoch_say_so(tiny_folder, tmp_path, capsys):
    """150 images at batch 64 trained on 128 an epoch, and nothing said so."""
    code, _, err = cli(capsys, "train", "--data", tiny_folder, "--image-size", "8", "--epochs", "2", "--batch-size", "5",
                       "--runs-dir", tmp_path / "runs", "--cache-dir", tmp_path / "cache")
    assert code == 0, err[-2000:]
    assert ("note: each epoch trains on 15 of the 18 training images (3 batches of 5): the 3 left over are others each epoch, "
            "as the order is shuffled") in err


def test_range_test_json_and_export(capsys, tmp_path):
    code, out, err = cli(capsys, "range-test", "--data", SAMPLE, "--image-size", "16", "--iters", "40", "--repeats", "1", "--json",
                         "--csv", tmp_path / "curve.csv", "--export-schedule", tmp_path / "s.json")
    assert code == 0, err
    result = json.loads(out)
    assert result["state"] == "finished" and result["exit_status"] == 0
    assert {s["method"] for s in result["suggestions"]} == {"steepest", "valley", "min_loss/10", "min_loss"}
    assert result["recommended"]["one_cycle_max_lr"] > 0 and len(result["curve"]["lr"]) > 8
    # One test: nothing spreads over repeats; how far its methods disagree has a name of its own (helper-124: "spread"
    # 3.27 beside low_confidence false, a contradiction to a script that reads spread > 3).
    steps = {s["method"]: s["lr"] for s in result["suggestions"] if s["method"] != "min_loss"}
    assert result["recommended"]["spread"] == 1 and not result["recommended"]["low_confidence"]
    assert result["recommended"]["methods_spread"] == pytest.approx(max(steps.values()) / min(steps.values()))
    assert "% done" not in err  # a log keeps the lines that end, not the one redrawn in place
    assert re.search(r"^sweep: 40 training steps, 0\.36× the run, under a minute on this machine$", err, re.M), err  # 110 steps
    assert (tmp_path / "curve.csv").read_text().startswith("step,loss,lr_block1,lr_block2,lr_block3,lr_head,repeat,swept_lr,smoothed")
    code, out, _ = cli(capsys, "schedule", "show", tmp_path / "s.json")
    assert "range test  constant" in out
    # Saved again by an editor that begins UTF-8 with a byte order mark: it was refused in Python's words.
    (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf" + (tmp_path / "s.json").read_bytes())
    code, again, _ = cli(capsys, "schedule", "show", tmp_path / "bom.json")
    assert code == 0 and again == out.replace("s.json", "bom.json")


def test_a_runs_csv_and_a_range_tests_csv_share_their_columns_by_name_order_and_unit(capsys, tmp_path):
    """Read into pandas, `range-test --csv` had one `lr` column where `show RUN --csv` had one per group, in another
    order: the same LR and loss under other names."""
    head_ten = ["--data", SAMPLE, *QUICK, "--group-lr", "head=10"]
    code, out, err = cli(capsys, "train", *head_ten, "--json")
    assert code == 0, err
    code, run_csv, err = cli(capsys, "show", json.loads(out)["run_dir"], "--csv")
    assert code == 0, err
    code, _, err = cli(capsys, "range-test", *head_ten, "--iters", "12", "--repeats", "1", "--no-curvature", "--csv", tmp_path / "c.csv")
    assert code in (0, 1), err  # 1: twelve points may recommend nothing; the curve is written either way
    run_rows = list(csv.DictReader(io.StringIO(run_csv)))
    test_rows = list(csv.DictReader(io.StringIO((tmp_path / "c.csv").read_text())))
    shared = ["step", "loss", "lr_block1", "lr_block2", "lr_block3", "lr_head"]
    assert list(run_rows[0])[:6] == list(test_rows[0])[:6] == shared, (list(run_rows[0]), list(test_rows[0]))
    assert [int(row["step"]) for row in test_rows] == list(range(len(test_rows))) == list(range(12))
    for rows in (run_rows, test_rows):  # the LRs each group trained at: the head's ×10, in both
        assert all(float(row["lr_head"]) == pytest.approx(10 * float(row["lr_block1"])) for row in rows)
    assert all(float(row["lr_block1"]) == float(row["swept_lr"]) for row in test_rows)


def test_range_test_on_a_terminal_says_how_far_it_is_then_clears_that_line():
    """Its first estimate is timed on one step, and is far off once the machine gets busier: on a terminal, a line
    redrawn in place says how far the test is and how long the rest takes at its pace; it is gone before the result."""
    keyboard, terminal = os.openpty()
    process = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "range-test", "--data", str(SAMPLE), "--image-size", "16",
                                "--iters", "30", "--repeats", "2", "--no-curvature"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=terminal)
    os.close(terminal)
    said = b""
    try:
        while chunk := os.read(keyboard, 4096):  # read as it comes, so a full terminal buffer cannot block the test
            said += chunk
    except OSError:  # EIO: the command closed the terminal
        pass
    os.close(keyboard)
    out, _ = process.communicate(timeout=600)
    assert process.returncode == 0, said.decode()
    shown = said.decode()
    assert re.search(r"\r\x1b\[Ksweep: \d+% done, about \d+:\d\d left", shown), shown
    assert shown.endswith("\r\x1b[K") and "recommended" in out.decode()


def test_training_on_a_terminal_shows_its_speed_and_the_time_left_at_its_pace(tmp_path):
    """The ETA came from one block's training speed alone: it swung from line to line under load and left out validation,
    checkpoints and measurements. Now both are smoothed, and the ETA is the run's pace against the clock."""
    keyboard, terminal = os.openpty()
    process = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "train", "--data", str(SAMPLE), "--image-size", "16",
                                "--epochs", "3", "--runs-dir", str(tmp_path / "runs"), "--library-dir", str(tmp_path / "lib")],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=terminal)
    os.close(terminal)
    said = b""
    try:
        while chunk := os.read(keyboard, 4096):
            said += chunk
    except OSError:  # EIO: the command closed the terminal
        pass
    os.close(keyboard)
    process.communicate(timeout=600)
    assert process.returncode == 0, said.decode()
    lines = re.findall(r"step (\d+)/66 [^\r\n]* ([\d,]+) samples/s  ETA (--:--|\d+:\d\d)", said.decode())
    assert lines and all(int(speed.replace(",", "")) > 0 for _, speed, _ in lines), said.decode()
    # The first block only starts the clock (its speed alone said "ETA 0:01" for a run of a minute); then there is a pace.
    assert lines[0][2] == "--:--" and lines[-1][2] != "--:--"


def test_a_range_test_says_when_its_recommendation_is_past_the_bound_it_measured(capsys):
    """The recommendation and the bound sat on adjacent lines, 0.962 and 0.253, without a word (the caveat came only when
    a schedule file was written). Without momentum the bound is 2/λ, well below the sweep's lowest loss."""
    code, out, _ = cli(capsys, "range-test", "--data", SAMPLE, "--image-size", "16", "--momentum", "0", "--iters", "150",
                       "--repeats", "1")
    assert code == 0
    one_cycle = float(re.search(r"recommended one-cycle max (\S+)", out).group(1))
    bound = float(re.search(r"stability bound 2/λ = (\S+) at the test's start", out).group(1))
    assert one_cycle > bound and f"note: the recommended one-cycle max LR {one_cycle:.3g} is ×" in out
    assert "(median of 1 repeats)" not in out

def test_a_range_test_recommends_no_lr_above_the_highest_a_run_accepts(capsys):
    """With every group at ×0.001 the sweep's lowest loss lies at LR 242: it was recommended as the one-cycle max LR, and
    refused only when the user trained with it (100 is the highest LR a run accepts)."""
    small = ["--data", SAMPLE, "--image-size", "8", "--group-lr", "all=0.001"]
    code, out, err = cli(capsys, "range-test", *small, "--start", "1e-4", "--end", "1e4", "--repeats", "1", "--no-curvature", "--json")
    assert code == 0, err
    recommended = json.loads(out)["recommended"]
    assert recommended["one_cycle_max_lr"] == 100 and recommended["one_cycle_method"].endswith(", capped at 100")
    assert re.fullmatch(r"the curve's one-cycle max LR \S+ is above 100, the highest LR a run accepts, so 100 is recommended "
                        "instead", recommended["notes"][-1]), recommended["notes"]
    code, out, err = cli(capsys, "train", *small, "--epochs", "1", "--lr", recommended["one_cycle_max_lr"], "--json")
    assert code == 0 and json.loads(out)["state"] == "finished", err


def test_a_range_tests_bound_names_the_group_that_meets_it_when_groups_train_at_other_lrs(capsys):
    """With the head at ×3 the command line printed the swept LR's bound unnamed, 3 times below the head's own bound
    that the Health readout and `show` print for the same λmax (the window's plot already named the group)."""
    code, out, _ = cli(capsys, "range-test", "--data", SAMPLE, "--image-size", "16", "--group-lr", "head=3", "--iters", "20",
                       "--repeats", "1")
    assert code == (0 if "recommended one-cycle max" in out else 1), out  # 20 points may say nothing: then 1, bound printed
    assert re.search(r"stability bound 2\(1\+β\)/λ: head ×3 meets its \S+ here at the test's start \(λmax", out), out


def test_a_sweep_for_adam_is_low_confidence_and_says_why(capsys, tmp_path):
    """The study found the sweep's one-cycle LR above the best on every Adam sweep: the user is told, with SGD not,
    and told again when such an LR goes into a schedule file (the notes have scrolled by then)."""
    args = ["range-test", "--data", SAMPLE, "--image-size", "16", "--iters", "40", "--repeats", "1", "--json"]
    doubtful = {}
    for optimizer in ("sgd", "adam"):
        code, out, err = cli(capsys, *args, "--optimizer", optimizer, "--export-schedule", tmp_path / f"{optimizer}.json")
        assert code == 0, err
        result = json.loads(out)
        caveat = [n for n in result["notes"] if n.startswith("low confidence: with Adam-type optimizers")]
        assert result["recommended"] is not None and bool(caveat) == (optimizer == "adam"), result["notes"]
        assert caveat == [n for n in result["recommended"]["notes"] if n.startswith("low confidence: with Adam")]
        assert result["recommended"]["low_confidence"] or optimizer == "sgd"
        doubtful[optimizer] = result["recommended"]["low_confidence"]
        assert ("warning: the schedule file holds a low-confidence recommendation" in err) == result["recommended"]["low_confidence"]
        bound, exported = result["curvature"]["lr_bound"], result["recommended"]["one_cycle_max_lr"]
        assert ("the stability bound at the start" in err) == bool(bound and exported > bound), err
        # --json says it too (its object had the two numbers and no word: helper-76).
        assert any(n.startswith(f"the recommended one-cycle max LR {exported:.3g} is ×") for n in result["bound_notes"]) == bool(
            bound and exported > bound), result["bound_notes"]
    code, out, _ = cli(capsys, *args[:-1], "--optimizer", "adam")
    assert code == 0 and "LOW CONFIDENCE recommended one-cycle max" in out and "lrscope tune, or the Tune tab) search below it" in out
    # Where the file is used later: said at export time alone, the doubt was lost with the terminal's scrollback.
    for optimizer in ("sgd", "adam"):
        code, out, _ = cli(capsys, "schedule", "show", tmp_path / f"{optimizer}.json")
        assert code == 0 and ("\n            low confidence: " in out) == doubtful[optimizer], out
        assert "low confidence: low confidence" not in out
        assert ("with Adam-type optimizers" in out) == (optimizer == "adam")
        code, _, err = cli(capsys, "train", "--data", SAMPLE, *QUICK, "--optimizer", optimizer, "--schedule", tmp_path / f"{optimizer}.json",
                           "--runs-dir", tmp_path / "runs")
        assert code == 0 and ("its LR comes from a range test of low confidence" in err) == doubtful[optimizer], err


def split_folder(root, train_counts, val_count=12):
    """digits classes 0, 1, 2 as train/ and val/ folders, ``train_counts`` images per class in train/."""
    for label, count in zip("012", train_counts):
        images = sorted(os.listdir(os.path.join(SAMPLE, label)))
        for part, chosen in (("train", images[:count]), ("val", images[count:count + val_count])):
            os.makedirs(root / part / label, exist_ok=True)
            for name in chosen:
                shutil.copy(os.path.join(SAMPLE, label, name), root / part / label / name)
    return root


@pytest.mark.parametrize("train_counts", [(60, 6, 6), (24, 24, 24)], ids=["long-tail", "balanced"])
def test_a_validation_sweep_on_a_class_mix_unlike_the_validation_sets_says_it_is_biased(capsys, tmp_path, train_counts):
    folder = split_folder(tmp_path / "data", train_counts)
    code, out, err = cli(capsys, "range-test", "--data", folder, "--image-size", "16", "--iters", "20", "--repeats", "1",
                         "--validation", "--json")
    result = json.loads(out)
    assert code == (0 if result["recommended"] else 1), err
    biased = [n for n in result["notes"] if n.startswith("low confidence: the training classes are mixed unlike")]
    assert bool(biased) == (train_counts[0] != train_counts[1]), result["notes"]
    if biased and result["recommended"]:
        assert result["recommended"]["low_confidence"] and biased[0] in result["recommended"]["notes"]


def test_a_range_test_with_nothing_to_read_says_so_and_exports_nothing(capsys, tmp_path):
    args = ["range-test", "--data", SAMPLE, "--image-size", "16", "--start", "3", "--end", "50", "--iters", "12", "--repeats", "2"]
    code, out, err = cli(capsys, *args)
    # 1, as a tune with no winner: no LR to use (it exited 0 here, and 2, a usage error, with --export-schedule).
    assert code == 1 and "sweep ×2: 24 training steps, 0.22× the run, under a minute" in err  # it said "about 0:00"
    assert "NO RECOMMENDATION: none of the 2 repeats gave a recommendation (2 repeats: " in out
    # How the repeats ended: "(2 completed)", or "(1 diverged, 1 completed)" with another thread count's rounding.
    assert re.search(r"^sweep ×2: \d+ points in [\d.]+ s \((\d \w+)(, \d \w+)*\)$", out, re.MULTILINE), out
    assert "recommended" not in out
    code, out, err = cli(capsys, *args, "--export-schedule", tmp_path / "s.json")
    assert code == 1 and "lrscope: error: the range test gave no recommendation, so no schedule was written (why is said above)" in err
    assert (out + err).count("none of the 2 repeats gave a recommendation") == 1, (out, err)  # its reason once, not twice (helper-74)
    assert not (tmp_path / "s.json").exists()
    code, out, err = cli(capsys, *args, "--export-schedule", tmp_path / "s.json", "--json")
    result = json.loads(out)  # the curve and the reason, not only an error object (the test's result was lost)
    assert code == 1 and result["exit_status"] == 1 and result["curve"] and result["recommended"] is None
    assert result["export_refused"].startswith("the range test gave no recommendation, so no schedule was written: none of the 2 repeats")
    assert result["export_refused"].startswith("the range test gave no recommendation") and not (tmp_path / "s.json").exists()


def test_a_new_run_starts_from_the_weights_of_a_stored_runs_checkpoint(capsys, tmp_path):
    """--weights RUN/checkpoints/step-N.pt: the model's weights in lrscope's own checkpoint (it said "holds no state dict of
    tensors", as if the file were broken)."""
    from engine.store import read_steps

    code, out, err = cli(capsys, "train", "--data", SAMPLE, *QUICK, "--json")
    assert code == 0, err
    first = json.loads(out)["run_dir"]
    checkpoint = max((Path(first) / "checkpoints").glob("step-*.pt"))
    code, out, err = cli(capsys, "train", "--data", SAMPLE, *QUICK, "--json", "--weights", checkpoint)
    assert code == 0, err
    from_scratch, from_trained = (read_steps(run)["loss"][0] for run in (first, json.loads(out)["run_dir"]))
    assert from_trained < from_scratch - 0.3, (from_scratch, from_trained)  # it starts where the first run ended
    assert f"loaded 32 tensors from {checkpoint}\n" in err and "warning" not in err  # all: weights and BatchNorm statistics
    # Into a model for 2 classes: the head does not fit and trains from scratch, which is said (it loaded silently).
    two = tmp_path / "two"
    for digit in ("0", "1"):
        shutil.copytree(SAMPLE / digit, two / digit)
    code, _, err = cli(capsys, "train", "--data", two, *QUICK, "--weights", checkpoint)
    assert code == 0, err
    assert f"warning: loaded 30 tensors from {checkpoint}; 2 did not fit this model by name and shape and start from scratch" in err


@pytest.mark.parametrize("args, message", [
    (["train", "--data", "/no/such/folder"], "/no/such/folder: no such folder"),
    (["train", "--data", SAMPLE, "--lr", "0"], "--lr: must be above 0"),
    (["train", "--data", SAMPLE, "--lr", "101"], "--lr: must be above 0 and at most 100"),  # as ctl set-lr's
    (["train", "--data", SAMPLE, "--batch-size", "0"], "--batch-size: must be at least 1"),
    (["train", "--data", SAMPLE, "--device", "cuda:7"], "device:"),
    (["train", "--data", SAMPLE, "--weights", "/no/weights.pt"], "weights: /no/weights.pt: no such file"),
    (["range-test", "--data", SAMPLE, "--start", "1", "--end", "0.1"], "--end: must be above the start LR (1), got 0.1"),
    (["range-test", "--data", SAMPLE, "--probe", "--probe-count", "2"],
     "--probe-count: must be a whole number from 3 to 1,000, got 2"),  # it said probe_count
    (["range-test", "--data", SAMPLE, "--diverge-factor", "1"], "--diverge-factor: must be above 1, got 1.0"),
    (["range-test", "--data", SAMPLE, "--start", "0"], "--start: must be a learning rate from 1e-10 to 10000, got 0.0"),
    (["range-test", "--data", SAMPLE, "--start", "1e-40"], "--start: must be a learning rate from 1e-10 to 10000, "
     "got 1e-40 (a smaller LR changes no float32 weight)"),
    (["schedule", "show", "/no/file.json"], "no such file"),
    # Each names the option as typed (helper-82): "the iterations must be …", "iteration cap must be …"
    (["range-test", "--data", SAMPLE, "--iters", "0"], "--iters: must be a whole number from 2 to 100,000, got 0"),
    (["range-test", "--data", SAMPLE, "--repeats", "0"], "--repeats: must be a whole number from 1 to 100, got 0"),
    (["curvature", "--data", SAMPLE, "--max-iter", "1"], "--max-iter: must be a whole number from 2 to 100, got 1"),
    # The help to see is one a shell runs: `ctl RUN|ADDRESS set-lr --help` piped into a command named ADDRESS, and
    # `schedule show … --json` was sent to `schedule --help`, which does not list show's options (helper-82).
    (["ctl", "myrun", "set-lr", "abc"], "ctl RUN set-lr: argument LR: invalid float value: 'abc' (see `lrscope ctl RUN set-lr --help`)"),
    (["schedule", "show", "x.json", "--json"], "schedule show: unrecognized arguments: --json (see `lrscope schedule show --help`)"),
    (["range-test", "--data", ""], "range-test: argument --data: an empty path; give a folder or file"),  # read the cwd
    (["tune", "--data", SAMPLE, "--runs-dir", " "], "tune: argument --runs-dir: an empty path"),
    (["train", "--data", SAMPLE, "--image-size", "16", "--group-lr", "head"], "--group-lr: expected GROUP=MULTIPLIER such as head=10, got 'head'"),
    (["train", "--data", SAMPLE, "--image-size", "16", "--group-lr", "head=-1"], "--group-lr: head: must be at least 0"),
    (["train", "--data", SAMPLE, "--image-size", "16", "--group-lr", "stage9=0.1"],
     "--group-lr stage9: small_cnn has no such group; its groups are block1, block2, block3, head (or 'all' for every group)"),
    (["show", "nothing-like-this"], "no run named 'nothing-like-this'"),
    (["train", "--data", SAMPLE, "--export-schedule", "-"], "-: lrscope writes this to a file, not to standard output"),  # wrote "./-"
    (["resume", "nothing-like-this"], "no run named"),
    (["show", "/no/such/run"], "/no/such/run: no such folder; give a run's folder, or its id"),  # "no run named '/no/…'"
    (["ctl", "/tmp", "pause"], "/tmp: is not an lrscope run (no run.sqlite)"),
])
def test_usage_and_data_errors_exit_2_with_one_line(capsys, args, message):
    code, _, err = cli(capsys, *args)
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("lrscope: error:")]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in err


def test_a_hostile_schedule_file(capsys, tmp_path):
    path = tmp_path / "evil.json"
    path.write_text('{"format": "lrscope.schedule", "version": 1, "timeline": [{"start": 0, "origin": 0, "segments": '
                    '[{"kind": "constant", "steps": 1e400, "lr": 0.1}]}], "param_groups": []}')
    code, _, err = cli(capsys, "schedule", "show", path)
    assert code == 2 and "lrscope: error:" in err and "too large" in err


def test_the_console_script_runs_without_a_display():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run([sys.executable, str(ROOT / "main.py")], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "no display found" in done.stderr and "xvfb-run" in done.stderr
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), "--help"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "range-test" in done.stdout


def test_lrscope_with_a_folder_that_is_not_there_says_so_not_that_a_command_is_mistyped(tmp_path):
    """`lrscope DIR` opens DIR in the window; a missing one said "invalid choice: '/path/…' (choose from 'gui', …)"."""
    missing, a_file = tmp_path / "digts", tmp_path / "notes.txt"
    a_file.write_text("not a dataset")
    for path, what in ((missing, "no such folder"), (a_file, "not a folder")):
        done = lrscope(path)
        assert done.returncode == 2 and done.stderr.startswith(f"lrscope: error: {what}: {path}; check the path"), done.stderr
        assert len(done.stderr.splitlines()) == 1 and "invalid choice" not in done.stderr
    mistyped = lrscope("trian")  # a bare word is still taken for a command
    assert mistyped.returncode == 2 and "invalid choice: 'trian'" in mistyped.stderr


def test_every_command_prints_its_help(capsys):
    """`lrscope range-test --help` once died with a traceback: a help text said "10% of the run", and argparse reads
    "% o" as a format."""
    lines = command_lines(build_parser())
    assert ("range-test",) in lines and ("ctl", "x", "set-lr") in lines and ("schedule", "plot") in lines
    for line in lines:
        with pytest.raises(SystemExit) as exit:
            run_cli([*line, "--help"])
        out = capsys.readouterr().out
        assert exit.value.code == 0 and out.startswith("usage: lrscope"), line


def test_a_tune_whose_budget_pays_for_no_trial_is_refused_up_front_with_the_smallest_that_does(capsys, tmp_path):
    """--budget 1.5 of a short run spent it on the range test, then said "no trial finished"; --minutes could convert to
    a budget as small, and the JSON said nothing of why."""
    folders = [part for name in ("runs", "tunes", "library", "cache") for part in (f"--{name}-dir", tmp_path / name)]
    code, out, err = cli(capsys, "tune", "--data", SAMPLE, *QUICK, "--budget", "1.5", "--json", *folders)
    message = json.loads(out)["message"]
    said = re.fullmatch(r"a budget of 1\.5 full runs has no room for a trial of (\d+) training steps after the range test's 30; "
                        r"give at least ([\d.]+) full runs", message)
    assert code == 2 and said and err.splitlines()[-1] == f"lrscope: error: {message}", err
    assert not (tmp_path / "tunes").exists() and not (tmp_path / "runs").exists()  # refused before anything was spent
    code, out, err = cli(capsys, "tune", "--data", SAMPLE, *QUICK, "--budget", said.group(2), "--json", *folders)
    assert code == 0 and [t["state"] for t in json.loads(out)["trials"]] == ["complete"], err  # the smallest said is enough
    code, out, _ = cli(capsys, "tune", "--data", SAMPLE, *QUICK, "--minutes", "0.0001", "--json", *folders)
    message = json.loads(out)["message"]
    assert code == 2 and re.fullmatch(r"0\.0001 minutes pay for about \d+ training steps here: no room for a trial of \d+ "
                                      r"training steps after the range test's 30; give at least [\d.e-]+ minutes", message), message


@pytest.mark.parametrize("command, result_key", [("train", "val_accuracy"), ("range-test", "recommended"), ("tune", "trials")])
def test_a_schedule_file_that_cannot_be_written_after_the_work_keeps_the_result(capsys, tmp_path, monkeypatch, command, result_key):
    """The disk fills while the run trains: the schedule goes to the library, the result is printed, the status is 4.
    The exception once reached run_cli, which printed only an error: the run's result, or the search record, was lost."""
    import errno

    from engine.schedules import schedule_file

    save = schedule_file.save_schedule

    def full(path, document):  # the user's file only: the library is on another disk
        if path == tmp_path / "s.json":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return save(path, document)

    monkeypatch.setattr(schedule_file, "save_schedule", full)
    names = {"train": ("runs", "library", "cache"), "range-test": ("library", "cache"), "tune": ("runs", "tunes", "library", "cache")}
    folders = [part for name in names[command] for part in (f"--{name}-dir", tmp_path / name)]
    # One repeat of the range test: the file is refused after the work, however many repeats the work had.
    extra = {"tune": ["--budget", "2.5", "--shape", "one_cycle"], "range-test": ["--repeats", "1"]}.get(command, [])
    code, out, err = cli(capsys, command, "--data", SAMPLE, *QUICK, *extra, "--json", "--export-schedule", tmp_path / "s.json", *folders)
    printed = json.loads(out)
    assert code == 4 and printed["exit_status"] == 4 and printed[result_key], err
    assert printed["export_error"].startswith(f"the {'winning' if command == 'tune' else ''}")
    assert f"could not be written to {tmp_path / 's.json'} (No space left on device); it is kept in the library at" in printed["export_error"]
    assert os.path.exists(printed["library_file"]) and "schedule_file" not in printed
    assert err.strip().splitlines()[-1] == f"lrscope: error: {printed['export_error']}"


def test_amp_on_the_cpu_is_said_not_silently_dropped(capsys, tmp_path):
    code, _, err = cli(capsys, "train", "--data", SAMPLE, *QUICK, "--amp", "--device", "cpu", "--runs-dir", tmp_path / "runs",
                       "--cache-dir", tmp_path / "cache")
    assert code == 0 and "warning: --amp (mixed precision) works on CUDA GPUs only; this run trains in float32 on the CPU" in err


def test_messages_count_list_and_name_values_in_plain_words():
    from engine.text import counted, expected_kind, kind_of, listed, percent

    assert [counted(1, "step"), counted(2, "step"), counted(1, "class"), counted(3, "class")] == ["1 step", "2 steps", "1 class", "3 classes"]
    assert [counted(2, "batch"), counted(40, "epoch"), counted(1, "epoch")] == ["2 batches", "40 epochs", "1 epoch"]  # not "epoches"
    assert listed(list("abcdefg")) == "a, b, c, d, e, … (7 in all)" and listed(["a", "b"]) == "a, b"
    assert percent(0.5) == "50.00%" and percent(float("nan")) == "–"
    assert expected_kind((int, float)) == "a number" and expected_kind((dict,)) == "an object"
    assert [kind_of(v) for v in ([], {}, None, True, "x", 1)] == ["an array", "an object", "null", "a boolean", "text", "a whole number"]


def test_a_schedule_file_from_a_tune_that_searched_the_weight_decay_trains_with_it(capsys, tmp_path):
    from engine.store import read_meta

    code, _, err = cli(capsys, "train", "--data", SAMPLE, "--image-size", "16", "--epochs", "1", "--export-schedule", tmp_path / "s.json")
    assert code == 0, err
    document = json.loads((tmp_path / "s.json").read_text())
    document["search"] = {"winner": {"params": {"lr": 0.2, "weight_decay": 9.8e-05}}}  # as `lrscope tune --search lr weight_decay` writes it
    (tmp_path / "tuned.json").write_text(json.dumps(document))

    code, out, _ = cli(capsys, "schedule", "show", tmp_path / "tuned.json")
    assert code == 0 and "tuned       weight decay 9.8e-05 (lrscope train --schedule uses it)" in out
    code, out, err = cli(capsys, "train", "--data", SAMPLE, "--image-size", "16", "--epochs", "1", "--schedule", tmp_path / "tuned.json", "--json")
    assert code == 0 and "weight decay 9.8e-05, as the tune recorded in" in err
    assert json.loads(read_meta(json.loads(out)["run_dir"])["config"])["weight_decay"] == 9.8e-05
    code, out, err = cli(capsys, "train", "--data", SAMPLE, "--image-size", "16", "--epochs", "1", "--schedule", tmp_path / "tuned.json",
                         "--weight-decay", "0.001", "--batch-size", "32", "--json")
    assert code == 0 and json.loads(read_meta(json.loads(out)["run_dir"])["config"])["weight_decay"] == 0.001
    # The batch the LR was tuned for is said when it differs; a 2-process file said "batch 16" of a global batch of 32.
    assert "; tuned at a global batch of 64, this run's is 32: the LR that fits a batch changes with it" in err, err
    assert document["context"]["processes"] == 1
    document["context"] |= {"batch_size": 32, "processes": 2}
    (tmp_path / "two.json").write_text(json.dumps(document))
    code, out, _ = cli(capsys, "schedule", "show", tmp_path / "two.json")
    assert code == 0 and "batch 32 × 2 processes (global batch 64), " in out, out
    # The file's image size and length, unless told otherwise: a file tuned at 16 px was refused at the default 32, and
    # one of 1 epoch stretched over the default 5 (helper-74).
    code, out, err = cli(capsys, "train", "--data", SAMPLE, "--schedule", tmp_path / "s.json", "--json")
    assert code == 0 and f"image size 16 px, as {tmp_path / 's.json'} was tuned at (--image-size overrides)" in err, err
    assert "1 epoch, as" in err and "schedule from " in err and ": 22 steps\n" in err, err
    assert {k: json.loads(read_meta(json.loads(out)["run_dir"])["config"])[k] for k in ("image_size", "epochs")} == {"image_size": 16, "epochs": 1}
    # The same images at another resolution are another dataset to the LR: asked about, as a dataset mismatch is.
    # 8 px, not the default 32: any other resolution is the case, and this one trains in a quarter of the time.
    code, _, err = cli(capsys, "train", "--data", SAMPLE, "--image-size", "8", "--epochs", "2", "--schedule", tmp_path / "s.json")
    assert code == 2 and "resolution: tuned at 16 px, this run trains at 8 px" in err and "--accept-mismatch" in err
    code, _, err = cli(capsys, "train", "--data", SAMPLE, "--image-size", "8", "--epochs", "2", "--schedule", tmp_path / "s.json",
                       "--accept-mismatch")
    assert code == 0 and "schedule from " in err and ": 44 steps (tuned over 22 steps, stretched to this run)" in err
    # A length no run takes, edited by hand: the default stands, and is said to (it trained 5 epochs without a word).
    edited = json.loads((tmp_path / "s.json").read_text())
    edited["context"]["epochs"] = 10**9
    (tmp_path / "edited.json").write_text(json.dumps(edited))
    code, out, err = cli(capsys, "train", "--data", SAMPLE, "--image-size", "8", "--schedule", tmp_path / "edited.json",
                         "--accept-mismatch", "--json")
    assert code == 0 and (f"warning: {tmp_path / 'edited.json'}: context.epochs 1000000000 is not one a run takes (must be at "
                          "least 1 and at most 100,000); this run keeps epochs 5\n") in err, err
    assert json.loads(read_meta(json.loads(out)["run_dir"])["config"])["epochs"] == 5


def test_a_schedule_file_trains_at_the_global_batch_it_was_tuned_at_unless_told(capsys, tmp_path):
    """A file tuned at batch 16 was trained again at the default 64, squeezed into a quarter of its steps (helper-80)."""
    from engine.store import read_meta

    runs = ["--runs-dir", tmp_path / "runs"]
    code, out, err = cli(capsys, "train", "--data", SAMPLE, *QUICK, "--batch-size", "16", "--export-schedule", tmp_path / "s.json",
                         "--json", *runs)
    assert code == 0, err
    tuned_steps = json.loads(out)["steps"]
    code, out, err = cli(capsys, "train", "--data", SAMPLE, "--schedule", tmp_path / "s.json", "--json", *runs)
    assert code == 0 and f"global batch 16, as {tmp_path / 's.json'} was tuned at (--batch-size overrides)" in err, err
    assert f": {tuned_steps} steps\n" in err and "stretched" not in err and "tuned at a global batch" not in err, err
    assert json.loads(read_meta(json.loads(out)["run_dir"])["config"])["batch_size"] == 16
    code, out, err = cli(capsys, "train", "--data", SAMPLE, "--schedule", tmp_path / "s.json", "--batch-size", "32", "--json", *runs)
    assert code == 0 and "global batch 16, as" not in err and "; tuned at a global batch of 16, this run's is 32" in err, err
    assert json.loads(read_meta(json.loads(out)["run_dir"])["config"])["batch_size"] == 32


def test_lr_scales_a_schedule_file_and_the_options_it_replaces_are_refused(capsys, tmp_path):
    """`train --schedule F --lr 0.05 --shape cosine --group-lr head=10` trained F's schedule as it was, every group
    alike, and the run's record said lr 0.05 and cosine (helper-92); a file whose LR is 0 throughout trained a whole run
    at 0."""
    from engine.schedules import Constant, OneCycle, RunSchedule, Schedule, Timeline, save_schedule, schedule_document
    from engine.store import read_meta

    def hand_written(name, schedule):
        return save_schedule(tmp_path / name, schedule_document(RunSchedule(Timeline.of(schedule))))

    path = hand_written("one-cycle.lrschedule.json", Schedule((OneCycle(steps=22, max_lr=0.2),)))
    train = ["train", "--data", SAMPLE, *QUICK, "--accept-mismatch", "--runs-dir", tmp_path / "runs", "--schedule"]
    code, _, err = cli(capsys, *train, path, "--shape", "cosine", "--group-lr", "head=10")
    assert code == 2 and err.startswith("lrscope: error: --shape, --group-lr: not used with --schedule, whose file sets "), err
    code, out, err = cli(capsys, *train, path, "--lr", "0.05", "--json")
    assert code == 0 and f"peak LR 0.05 (--lr): {path}'s schedule scaled from its peak of 0.2" in err, err
    result = json.loads(out)
    assert max(group["peak_lr"] for group in result["groups"]) == pytest.approx(0.05, rel=0.02)
    assert json.loads(read_meta(result["run_dir"])["config"])["lr"] == pytest.approx(0.05)
    code, _, err = cli(capsys, *train, hand_written("zero.lrschedule.json", Schedule((Constant(steps=22, lr=0.0),))))
    assert code == 2 and "zero.lrschedule.json: its LR is 0 at every step, so the run would learn nothing" in err, err


def test_a_schedule_file_that_names_no_dataset_says_so_where_it_is_shown_and_used(capsys, tmp_path):
    """Written by hand from the format doc: `schedule show` printed "? (fingerprint ?, ? images, 0 classes, ? px)", and
    `train` called it "tuned for another dataset or model" (helper-76)."""
    from engine.schedules import Constant, RunSchedule, Schedule, Timeline, save_schedule, schedule_document

    path = tmp_path / "hand.lrschedule.json"
    save_schedule(path, schedule_document(RunSchedule(Timeline.of(Schedule((Constant(steps=22, lr=0.05),))))))
    code, out, _ = cli(capsys, "schedule", "show", path)
    assert code == 0 and "\ndataset     not recorded (train --schedule asks before using it, or takes --accept-mismatch)\n" in out, out
    code, _, err = cli(capsys, "train", "--data", SAMPLE, *QUICK, "--schedule", path, "--runs-dir", tmp_path / "runs")
    assert code == 2 and "warning: this schedule may not fit this run:\n  - the schedule file does not say which dataset" in err, err
    assert "pass --accept-mismatch to use it anyway" in err and "another dataset or model" not in err


def test_a_tuned_schedule_that_could_not_be_written_anywhere_is_exported_later_from_the_stored_run(capsys, tmp_path, monkeypatch):
    """The disk holding both the file and the library filled: the schedule was lost, and no command could export it."""
    import errno
    import shlex

    from engine.schedules import library, schedule_file

    save = schedule_file.save_schedule
    disk_full = [True]

    def full(path, document):
        if disk_full[0]:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return save(path, document)

    monkeypatch.setattr(schedule_file, "save_schedule", full)
    monkeypatch.setattr(library, "save_schedule", full)
    folders = [part for name in ("runs", "library", "cache") for part in (f"--{name}-dir", tmp_path / name)]
    target = tmp_path / "s.json"
    code, out, err = cli(capsys, "train", "--data", SAMPLE, *QUICK, "--json", "--export-schedule", target, *folders)
    printed = json.loads(out)
    assert code == 4 and "library_file" not in printed and not target.exists(), err
    advice = re.search(r"once they can be written, `lrscope (show [^`]+)` writes it from the stored run$", printed["export_error"])
    assert advice, printed["export_error"]
    disk_full[0] = False
    code, out, err = cli(capsys, *shlex.split(advice.group(1)), "--json")  # as given: its library, its file, its run
    assert code == 0 and f"tuned schedule written to {target} and added to the library" in err
    assert json.loads(out)["best_val_accuracy"] == printed["best_val_accuracy"]  # and what else was asked
    from engine.schedules import load_schedule

    exported = load_schedule(target)
    assert exported.metrics["best_val_accuracy"] == printed["best_val_accuracy"]
    assert exported.dataset["fingerprint"] == printed["dataset"]["fingerprint"]
    assert len(list((tmp_path / "library").rglob("*.json"))) == 1


def test_show_exports_the_schedule_the_end_of_the_run_exported(capsys, tmp_path):
    folders = [part for name in ("runs", "library", "cache") for part in (f"--{name}-dir", tmp_path / name)]
    code, out, _ = cli(capsys, "train", "--data", SAMPLE, *QUICK, "--json", "--export-schedule", tmp_path / "end.json", *folders)
    assert code == 0
    run = json.loads(out)["run_dir"]
    assert cli(capsys, "show", run, "--export-schedule", tmp_path / "later.json", "--library-dir", tmp_path / "library")[0] == 0
    at_end, later = (json.loads((tmp_path / name).read_text()) for name in ("end.json", "later.json"))
    assert {key: value for key, value in at_end.items() if key != "created"} == {key: value for key, value in later.items() if key != "created"}
    code, _, err = cli(capsys, "show", run, "--export-schedule", tmp_path / "missing" / "x.json")
    assert code == 2 and "its folder" in err and "does not exist" in err


def test_a_schedule_from_a_run_stopped_before_its_first_validation_says_it_has_no_metrics(capsys, tmp_path):
    """`schedule show` printed "metrics     best_val_accuracy None, val_loss None, val_accuracy None"."""
    folders = [part for name in ("runs", "library", "cache") for part in (f"--{name}-dir", tmp_path / name)]
    code, _, err = cli(capsys, "train", "--data", SAMPLE, "--image-size", "16", "--epochs", "1", "--lr", "100", "--shape", "constant",
                       "--on-fault", "stop", "--export-schedule", tmp_path / "f.json", *folders)
    assert code == 3
    # Said as it is written, not only when read: it went into the library without a word (helper-75).
    assert re.search(r"^note: its run ended after \d+ steps?, before its first validation: nothing measured says how this "
                     r"schedule trains", err, re.M), err
    code, out, _ = cli(capsys, "schedule", "show", tmp_path / "f.json")
    assert code == 0 and re.search(r"^metrics     none: the run ended before its first validation, after \d+ steps$", out, re.M)
    assert "None" not in out
    run = next((tmp_path / "runs").iterdir()).name  # the file names its run (two runs of one schedule read alike)
    assert f"\nfrom run    {run}\n" in out


def test_a_rollback_skips_an_epoch_end_whose_validation_loss_had_blown_up(capsys, tmp_path):
    """Its first epoch ended at a validation loss of 172 (guessing: 0.69) with a sound training loss, and was kept as the
    last good state: each rollback returned there and met a loss of 10 at its first step, at LR ×0.1, ×0.01 and ×0.001,
    until the run stopped. Over 4 validation images the run at 100% was also told it learned nothing."""
    write_two_classes(tmp_path / "d")
    code, out, err = cli(capsys, "train", "--data", tmp_path / "d", "--image-size", "8", "--epochs", "3", "--batch-size", "2",
                         "--lr", "0.5", "--json", "--runs-dir", tmp_path / "runs", "--cache-dir", tmp_path / "cache")
    first_epoch = float(re.search(r"epoch 1/3: .*val loss ([\d.]+)", err)[1])
    assert first_epoch > 10 * math.log(2), err  # the case: damaged weights at the epoch's end, not a fault of its own
    # and it is said, not only acted on (an LR 50 rolled back to 5 printed "val loss 1314" beside the epoch and no more)
    assert re.search(r"warning: after epoch 1 the validation loss \([\d.e+]+, against 0.69 for guessing\) and accuracy "
                     r"\([\d.]+%\) say the weights are damaged", err), err
    assert code == 0 and json.loads(out)["state"] == "finished", err
    assert "rolling back (1 of" in err and "step 0 (rollback): scaled the rest ×0.1" in err and "rolling back (2" not in err
    assert json.loads(out)["val_accuracy"] > 0.5 and "learning nothing" not in err
    assert err.count("warning: the validation set (4 images) is too small to tell a model that learned from one") == 1
    # Stopped at the fault, the run resumes from step 0, not from that epoch end (each resume met the same loss there),
    # nor from a step checkpoint written on the way to it (the steps of the first epoch, whose end says they are damaged).
    code, out, err = cli(capsys, "train", "--data", tmp_path / "d", "--image-size", "8", "--epochs", "3", "--batch-size", "2",
                         "--lr", "0.5", "--on-fault", "stop", "--checkpoint-every", "1", "--json", "--runs-dir", tmp_path / "runs",
                         "--cache-dir", tmp_path / "cache")
    assert code == 3 and json.loads(out)["resume_step"] == 0, err
    assert "(a resume continues from step 0)" in cli(capsys, "show", json.loads(out)["run_dir"])[1]
    listed = cli(capsys, "runs", "--runs-dir", tmp_path / "runs")[1]  # it read as a run stopped on purpose
    assert listed.count("  fault at step") == 1 and "The loss is exploding" in listed, listed
    # as `train --json` gives it: kind and step apart (a string said them in words only)
    [left] = [run["fault"] for run in json.loads(cli(capsys, "runs", "--json", "--runs-dir", tmp_path / "runs")[1]) if run["fault"]]
    assert left["kind"] == json.loads(out)["fault"]["kind"] == "exploding_loss" and left["step"] == json.loads(out)["fault"]["step"]


def test_a_run_that_ends_on_weights_its_last_validation_says_are_damaged_exits_3(capsys, tmp_path):
    """It exited 0, "finished" and no more, below its own warning that the weights it ended on were damaged. That
    warning blamed the LR of the last step, the 0.0381 a cosine had decayed to, for damage done at its peak of 1."""
    code, out, err = cli(capsys, "train", "--data", write_two_classes(tmp_path / "d"), "--image-size", "8", "--epochs", "1",
                         "--batch-size", "2", "--lr", "1", "--shape", "cosine", "--json", "--runs-dir", tmp_path / "runs",
                         "--cache-dir", tmp_path / "cache")
    assert "say the weights are damaged" in err, err  # the case: the last epoch's validation (66 against 0.69 for guessing)
    result = json.loads(out)
    assert code == result["exit_status"] == 3 and result["fault"]["kind"] == "damaged_weights", err
    assert result["resume_step"] is None and "do not use them" in result["message"]  # it finished: nothing to resume
    assert err.rstrip().splitlines()[-1].startswith("lrscope: error: the run ended on damaged weights"), err
    assert result["groups"][0]["last_lr"] < 0.05 and result["fault"]["lr"] == pytest.approx(1.0)
    assert "The LR (up to 1 since step 0, the last good state) is probably too high" in err, err
    assert result["message"].endswith("start again with an LR below the 1 it trained at since"), result["message"]


def test_a_run_that_ends_on_damaged_weights_exports_no_schedule_and_adds_none_to_the_library(capsys, tmp_path):
    """`train --export-schedule` wrote the schedule that wrecked the weights and added it to the library, where it was
    offered as the dataset's tuned schedule, with the run's best accuracy beside it."""
    export, library = tmp_path / "tuned.lrschedule.json", tmp_path / "library"
    code, out, err = cli(capsys, "train", "--data", write_two_classes(tmp_path / "d"), "--image-size", "8", "--epochs", "1",
                         "--batch-size", "2", "--lr", "1", "--shape", "cosine", "--export-schedule", export, "--library-dir", library,
                         "--json", "--runs-dir", tmp_path / "runs", "--cache-dir", tmp_path / "cache")
    result = json.loads(out)
    assert code == 3 and result["fault"]["kind"] == "damaged_weights", err
    assert not export.exists() and not list(library.rglob("*.json")) and "schedule_file" not in result, err
    assert "tuned schedule written to" not in err and "nothing written to" in result["export_skipped"] and result["export_skipped"] in err
    # the way to write it all the same, as said
    anyway = re.search(r"`lrscope (show [^`]+)` writes its schedule all the same", result["export_skipped"])
    code, _, err = cli(capsys, *shlex.split(anyway[1]))
    assert code == 0 and export.exists() and len(list(library.rglob("*.json"))) == 1, err


def test_show_lists_each_rollback_after_its_fault_and_marks_the_edit_a_later_rollback_undid(capsys, tmp_path):
    """Stored in one write, both faults were listed before both rollbacks' edits, and the header counted the one edit in
    force above two edit lines."""
    runs = ["--runs-dir", tmp_path / "runs", "--cache-dir", tmp_path / "cache"]
    code, out, err = cli(capsys, "train", "--data", SAMPLE, "--image-size", "8", "--batch-size", "16", "--epochs", "2", "--lr", "100",
                         "--shape", "constant", "--on-fault", "rollback", "--max-rollbacks", "5", "--json", *runs)
    assert code == 0 and "rolling back (2 of" in err and "rolling back (3" not in err, err
    shown = cli(capsys, "show", json.loads(out)["run_dir"])[1]
    assert "(as it started; then 1 edit in force and 1 a rollback undid, listed below)" in shown, shown
    # (the second fault's step depends on the threads' arithmetic: 48 on one, 53 on another)
    history = [re.sub(r"\d+", "N", line.split(": ")[0].strip()) for line in shown.splitlines() if line.startswith(("  fault", "  edit"))]
    # The edit in force is numbered as the schedule numbers it (an undo names "edit #N"); the undone one has no number.
    assert history == ["fault (exploding loss) at step N", "edit at step N (rollback)",
                       "fault (exploding loss) at step N", "edit #N at step N (rollback)"], shown
    assert "scaled the rest ×0.1 (undone by a rollback)\n" in shown and "scaled the rest ×0.01\n" in shown
    edits = json.loads(cli(capsys, "show", json.loads(out)["run_dir"], "--json")[1])["edits"]
    assert [edit["undone"] for edit in edits] == [True, False] and edits[0]["id"] is None and isinstance(edits[1]["id"], int)


def test_show_names_the_schedule_a_run_started_with_after_a_rollback_to_step_0(capsys, tmp_path):
    """The rollback's edit at step 0 replaced the first piece, and `show` said "constant 10 … (as it started …)" of a run
    started at LR 100."""
    runs = ["--runs-dir", tmp_path / "runs", "--cache-dir", tmp_path / "cache"]
    code, out, _ = cli(capsys, "train", "--data", SAMPLE, "--image-size", "16", "--epochs", "2", "--lr", "100", "--shape", "constant",
                       "--on-fault", "stop", "--json", *runs)
    assert code == 3
    run = json.loads(out)["run_dir"]
    assert cli(capsys, "resume", run, "--on-fault", "rollback", "--max-rollbacks", "5", *runs)[0] in (0, 3)
    code, out, _ = cli(capsys, "show", run)
    assert "schedule   constant 100 over 44 steps (as it started; then" in out and re.search(r"edit (#\d+ )?at step 0 \(rollback\)", out)


def test_show_lists_the_dataset_warnings_the_run_started_with(capsys, tmp_path, tiny_folder):
    """An image skipped as unreadable was said when the run started, and `show RUN` later said nothing of it."""
    (tiny_folder / "cat" / "broken.png").write_bytes(b"not an image")
    code, out, err = cli(capsys, "train", "--data", tiny_folder, "--image-size", "8", "--epochs", "1", "--batch-size", "4",
                         "--runs-dir", tmp_path / "runs", "--no-cache", "--json")
    assert code == 0, err[-2000:]
    [said] = [line.removeprefix("warning: ") for line in err.splitlines() if "could not be read" in line]
    assert said.startswith("1 image could not be read and was skipped: cat/broken.png"), said
    run_dir = json.loads(out)["run_dir"]
    code, shown, err = cli(capsys, "show", run_dir)
    assert code == 0 and f"  warning (dataset): {said}\n" in shown, shown
    code, shown, err = cli(capsys, "show", run_dir, "--json")
    notes = [(note["kind"], note["step"], note["message"]) for note in json.loads(shown)["notes"]]
    assert ("warning:dataset", None, said) in notes, notes
