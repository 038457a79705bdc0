"""The tuning study's own runs (bench/tuning): what it records for a run that cannot finish, and which grid point is best."""

import json
import threading

import numpy as np

from bench.tuning.ledger import Ledger
from bench.tuning.runs import grid_search, train
from bench.tuning.variants import Variant
from engine.tune.record import TrialRecord
from engine.tune.winner import smoothed_accuracies


def not_json(constant: str):
    raise ValueError(f"{constant} is not JSON")


def test_a_study_run_whose_loss_explodes_ends_at_zero_accuracy_instead_of_waiting_for_a_person(digits16, tmp_path):
    variant = Variant("digits-1-epoch", "digits", "digits, 1 epoch", {"epochs": 1})
    ledger = Ledger(tmp_path / "study.json")
    runs = []
    # Unanswered, the fault would pause the run for good: a limit for that hang, not a measurement.
    study = threading.Thread(target=lambda: runs.append(train(ledger, variant, digits16, 100.0, seed=0)), daemon=True)
    study.start()
    study.join(300)
    assert runs, "the run did not end: it waits for a person"
    run = runs[0]
    assert run["accuracy"] == 0.0 and run["state"] in ("nan_loss: stopped", "exploding_loss: stopped"), run
    stored = json.loads((tmp_path / "study.json").read_text(), parse_constant=not_json)  # no NaN in the ledger
    assert stored == {"digits-1-epoch|train|100|0": run}


def test_the_grids_best_point_has_all_its_seeds_even_when_it_was_not_among_the_first_top_points(tmp_path):
    """Three seeds everywhere put 0.1, 0.2 and 0.4 on top; their later seeds pull them below 0.05, which must then get
    its later seeds too (or the best would be a three-seed mean beside six-seed ones, its std of three runs)."""
    variant = Variant("toy", "digits", "a grid of stored runs", grid=(0.025, 0.05, 0.1, 0.2, 0.4, 0.8))
    first = {0.025: 0.90, 0.05: 0.95, 0.1: 0.96, 0.2: 0.97, 0.4: 0.96, 0.8: 0.90}
    runs = {(lr, seed): accuracy for lr, accuracy in first.items() for seed in range(3)}
    runs |= {(lr, seed): 0.80 for lr in (0.1, 0.2, 0.4) for seed in (3, 4, 5)}
    runs |= {(0.05, 3): 0.95, (0.05, 4): 0.94, (0.05, 5): 0.96}
    entries = {f"toy|train|{lr:.6g}|{seed}": {"accuracy": accuracy, "loss": 0.1, "steps": 10, "state": "finished"}
               for (lr, seed), accuracy in runs.items()}
    (tmp_path / "study.json").write_text(json.dumps(entries))
    ledger = Ledger(tmp_path / "study.json", read_only=True)  # every run is stored: nothing trains

    grid = grid_search(ledger, variant, dataset=None, seeds=6)

    assert grid["best_lr"] == 0.05 and grid["points"][0.05] == [0.95, 0.95, 0.95, 0.95, 0.94, 0.96]
    assert grid["steps"] == 10 * (6 * 3 + 4 * 2), "the compute is the grid's with five seeds at its best points"


def test_a_sweep_rule_is_screened_on_stored_suggestions_without_training(tmp_path):
    """The repeated sweep's one-cycle rules are compared on the grid alone: a pick is the median over the repeats that
    recommend (none when most do not, and the default is scored then), and it hits the plateau or not."""
    from bench.tuning.sweep_rules import RULES, pick, screen

    today, valley = (next(name for name in RULES if name.startswith(prefix)) for prefix in ("min_loss", "valley"))
    repeats = [{"min_loss": 0.4, "valley": 0.05, "steepest": 0.1, "min_loss/10": 0.04, "constant": 0.05},
               {"min_loss": 0.8, "valley": 0.1, "steepest": 0.2, "min_loss/10": 0.08, "constant": 0.1}, None]
    assert abs(pick(repeats, today) - (0.4 * 0.8) ** 0.5) < 1e-12 and pick([None, None, repeats[0]], today) is None
    # The horizon rule is today's for a run as long as the sweep, lower for a longer one: (1000/100)^-0.3 = 0.501.
    horizon = next(name for name in RULES if "horizon" in name)
    assert pick(repeats, horizon, 100) == pick(repeats, today) and abs(pick(repeats, horizon, 1000) / pick(repeats, today) - 10 ** -0.3) < 1e-12
    variant = Variant("toy", "digits", "a stored grid", grid=(0.025, 0.05, 0.1, 0.2, 0.4, 0.8))
    grid = {"points": {0.025: [0.8] * 3, 0.05: [0.95] * 3, 0.1: [0.96, 0.97, 0.95], 0.2: [0.9] * 3, 0.4: [0.7] * 3,
                       0.8: [0.5] * 3}, "best_lr": 0.1, "best_mean": 0.96, "best_std": 0.01}
    scores = screen(variant, grid, [repeats, [None, None, None]], 100)
    assert scores[valley][0] == 1 and scores[today][0] == 0  # the plateau is 0.035-0.14; no pick lands without a rule
    # valley: 0.071, half way (in log LR) from 0.05 to 0.1, scores 95.5%; the seed without a pick keeps the default 0.2 (90%)
    assert abs(scores[valley][1] - (96 - (95.5 + 90) / 2)) < 1e-9 and abs(scores[today][1] - (96 - (60 + 90) / 2)) < 1e-9


def test_what_choosing_among_a_tunes_trials_costs_is_screened_on_its_stored_trials(tmp_path):
    """The oracle takes the trial the grid scores best; today's rule reads the trials' own accuracies. Here a noisy
    trial at the best LR leaves your schedule in place (a point lost), where the grid's own means would have moved it."""
    from bench.tuning.winner_rules import RULES, local_linear, screen

    def trial(lr, accuracy):
        return {"params": {"lr": lr}, "state": "complete", "val_accuracy": accuracy, "val_loss": 0.1, "steps": 10}

    tune = {"trials": [trial(0.2, 0.96), trial(0.1, 0.95), trial(0.4, 0.95), {**trial(0.8, 0.2), "state": "pruned"}]}
    (tmp_path / "study.json").write_text(json.dumps({"toy|tune|0|v4": tune}))
    grid = {"points": {0.05: [0.95] * 3, 0.1: [0.97] * 3, 0.2: [0.96] * 3, 0.4: [0.90] * 3}, "best_lr": 0.1,
            "best_mean": 0.97, "best_std": 0.01}
    values = screen(Ledger(tmp_path / "study.json", read_only=True), Variant("toy", "digits", "a stored tune"), grid, seeds=1)

    today = next(iter(RULES))
    assert abs(values["oracle"]) < 1e-9 and abs(values[today] - 1.0) < 1e-9
    assert abs(values[f"{today}|no noise"]) < 1e-9, "on the grid's means the rule moves to 0.1"
    # A local line fits trials on a line exactly, edges included; a local mean pulls the edges toward the inside.
    on_a_line = [TrialRecord(n, {"lr": lr}, 0, "complete", 0.9 + 0.05 * n, 0.1, 10, "", []) for n, lr in enumerate((0.1, 0.2, 0.4))]
    assert np.allclose(local_linear(on_a_line), [0.9, 0.95, 1.0]) and not np.allclose(smoothed_accuracies(on_a_line), [0.9, 0.95, 1.0])
