"""Trial runs a tune ran again: not trials of the tune any more.

`lrscope tune --resume` runs again the trial its stop cut short: one stopped by Ctrl-C (recorded "cancelled") under a
new number, one a kill ended before its record was written under the same number. The old run stays on disk, as all
a tune's runs do: its steps were paid from the tune's budget, a cancelled trial's record names its folder, and
`lrscope delete --tune` removes it with the rest. It is no trial of the tune, though: the runs list counted it beside
its rerun ("4 trial runs" for a tune of 3 trials).
"""

from __future__ import annotations

from pathlib import Path

from .folders import read_record
from .record import TrialRecord, ran_again, trial_number, tune_of
from .resume import all_trials


def runs_again(runs: list, tunes_root: Path) -> dict[str, str]:
    """Each trial run in ``runs`` (``RunInfo``) whose tune, recorded under ``tunes_root``, ran its trial again, with the id
    of the run that did. A tune whose record is gone or damaged supersedes nothing."""
    records: dict[str, list[TrialRecord] | None] = {}
    again = {}
    for run in runs:
        tune = tune_of(run.purpose)
        if tune is None:
            continue
        if tune not in records:
            records[tune] = _trials(Path(tunes_root) / tune)
        rerun = _rerun_of(run.run_id, trial_number(run.purpose), records[tune] or [])
        if rerun is not None:
            again[run.run_id] = rerun
    return again


def _rerun_of(run_id: str, number: int, trials: list[TrialRecord]) -> str | None:
    """The id of the run that ran trial ``number`` (whose run is ``run_id``) again, or None while none did."""
    mine = next((t for t in trials if Path(t.run_dir).name == run_id), None)
    if mine is None:  # a kill came before its record: going on ran the trial of its number again
        rerun = next((t for t in trials if t.number == number), None)
    else:  # recorded: run again only where Ctrl-C cut it short (going on ran its parameters again first, numbered on)
        rerun = ran_again(mine, trials)
    return Path(rerun.run_dir).name if rerun is not None else None


def _trials(folder: Path) -> list[TrialRecord] | None:
    try:
        return all_trials(read_record(folder))
    except (OSError, ValueError, KeyError, TypeError):
        return None
