"""The run store's curvature and health tables: what the writer stores reads back; damaged rows and runs
stored before the tables existed are read without an error (issue 13's rule for every stored cell)."""

import json
import sqlite3

import numpy as np

from engine.events import CurvatureMeasured, HealthLogged, RolledBack
from engine.store import RunStore
from engine.store.reader import read_curvature, read_health


def measurement(step, lambda_max=2.0):
    return CurvatureMeasured(step, lambda_max, 3, True, 0.1, "batch", "sgd", "2/λ", 2.0, False, ("body", "head"),
                             np.array([0.05, 0.1]), np.array([0.5, 1.0]), np.array([0.0, np.nan]), 64)


def stored_run(tmp_path):
    store = RunStore.create(tmp_path, {"model": "small_cnn"}, {"name": "digits"})
    for step in (0, 10, 20):
        store.on_event(measurement(step, lambda_max=2.0 + step))
    rows = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    store.on_event(HealthLogged(np.array([0, 1, 2]), ("body", "head"), rows, rows / 1000))
    store.on_event(RolledBack(20, "rolled back"))
    assert store.sync()
    store.close()
    return store.run_dir


def test_what_the_writer_stores_reads_back_and_a_rollback_forgets_what_came_after(tmp_path):
    run_dir = stored_run(tmp_path)
    measured = read_curvature(run_dir)
    assert [m["step"] for m in measured] == [0, 10] and measured[1]["lambda_max"] == 12.0
    assert CurvatureMeasured.from_dict(measured[0]).groups == ("body", "head") and measured[0]["dead_relu"] == [0.0, None]
    health = read_health(run_dir)
    assert health["groups"] == ["body", "head"] and list(health["step"]) == [0, 1, 2]
    assert np.array_equal(health["update_ratio"][2], [0.005, 0.006])


def test_damaged_rows_are_left_out_and_an_old_run_has_none(tmp_path):
    run_dir = stored_run(tmp_path)
    with sqlite3.connect(run_dir / "run.sqlite") as db:
        db.executemany("INSERT INTO curvature VALUES (?,?,?,?)", [
            (11, 1.0, "{not json", 0), (12, 1.0, json.dumps({"step": 12}), 0), (13, 1.0, "[1, 2]", 0), (14, 1.0, None, 0),
            (15, 1.0, json.dumps({**measurement(15).to_dict(), "step": "15"}), 0)])
        db.executemany("INSERT INTO health VALUES (?,?,?,?)", [(3, '["body", "head"]', "garbage", "[1, 2]"), (4, "bad", "[1]", "[1]")])
    assert [m["step"] for m in read_curvature(run_dir)] == [0, 10]
    health = read_health(run_dir)
    assert list(health["step"]) == [0, 1, 2, 3] and np.isnan(health["grad_norm"][3]).all() and list(health["update_ratio"][3]) == [1, 2]
    with sqlite3.connect(run_dir / "run.sqlite") as db:
        db.execute("DROP TABLE curvature")
        db.execute("DROP TABLE health")
    assert read_curvature(run_dir) == [] and read_health(run_dir)["groups"] == []
