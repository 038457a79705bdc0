"""The tuning study's own runs (bench/tuning): what it records for a run that cannot finish."""

import json

from bench.tuning.ledger import Ledger
from bench.tuning.runs import train
from bench.tuning.variants import Variant


def test_a_study_run_whose_loss_explodes_ends_at_zero_accuracy_instead_of_waiting_for_a_person(digits16, tmp_path):
    variant = Variant("digits-1-epoch", "digits", "digits, 1 epoch", {"epochs": 1})
    ledger = Ledger(tmp_path / "study.json")
    run = train(ledger, variant, digits16, 100.0, seed=0)
    assert run["accuracy"] == 0.0 and run["state"] in ("nan_loss: stopped", "exploding_loss: stopped"), run
    assert run["steps"] < 22 and run["loss"] is None  # stopped before the epoch's end
    assert json.loads((tmp_path / "study.json").read_text()) == {"digits-1-epoch|train|100|0": run}  # plain JSON
