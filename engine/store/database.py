"""The run database: SQLite in WAL mode, so a reader never blocks the writer and a kill loses at most
the last uncommitted batch."""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS steps (step INTEGER PRIMARY KEY, epoch REAL, loss REAL, lrs TEXT, momentum REAL,
                                  samples_per_s REAL, time REAL);
CREATE TABLE IF NOT EXISTS epochs (epoch INTEGER PRIMARY KEY, step INTEGER, train_loss REAL, val_loss REAL,
                                   val_accuracy REAL, seconds REAL, time REAL);
CREATE TABLE IF NOT EXISTS edits (id INTEGER PRIMARY KEY AUTOINCREMENT, step INTEGER, reason TEXT, summary TEXT, time REAL,
                                  source TEXT DEFAULT '');
CREATE TABLE IF NOT EXISTS range_tests (id INTEGER PRIMARY KEY AUTOINCREMENT, step INTEGER, mode TEXT, result TEXT, time REAL);
CREATE TABLE IF NOT EXISTS events (time REAL, kind TEXT, step INTEGER, message TEXT);
CREATE TABLE IF NOT EXISTS curvature (step INTEGER, lambda_max REAL, measurement TEXT, time REAL);
CREATE TABLE IF NOT EXISTS health (step INTEGER PRIMARY KEY, groups TEXT, grad_norm TEXT, update_ratio TEXT);
"""

DB_NAME = "run.sqlite"
CHECKPOINTS = "checkpoints"  # the folder of a run's checkpoints


def connect(run_dir: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open a run's database (creating the schema unless read-only)."""
    path = Path(run_dir) / DB_NAME
    if readonly:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    else:
        connection = sqlite3.connect(path, timeout=10, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.executescript(SCHEMA)
        _add_missing_columns(connection)
    return connection


def _add_missing_columns(connection: sqlite3.Connection) -> None:
    """Runs stored by an older lrscope lack the columns added since (who sent an edit)."""
    columns = {row[1] for row in connection.execute("PRAGMA table_info(edits)")}
    if "source" not in columns:
        connection.execute("ALTER TABLE edits ADD COLUMN source TEXT DEFAULT ''")
