"""The tuning study's own runs (bench/tuning): what it records for a run that cannot finish."""

import json
import threading

from bench.tuning.ledger import Ledger
from bench.tuning.runs import train
from bench.tuning.variants import Variant


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
