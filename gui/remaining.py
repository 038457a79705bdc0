"""How long the run has left, in words (the estimate itself is engine.run.pace's: the command line shows it too)."""

from __future__ import annotations


def duration_text(seconds: float) -> str:
    """"40 s", "7 min", "2 h 05 min": a duration rounded as an estimate deserves."""
    if seconds < 90:
        return f"{max(10, int(round(seconds / 10)) * 10)} s"
    minutes = int(round(seconds / 60))
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def remaining_text(seconds: float | None) -> str:
    """"about 40 s left", "about 7 min left", "about 2 h 05 min left"; "a few seconds left" at the very end (where the
    tens that round the rest would say "about 10 s" for the last second); "" while the speed is unknown."""
    if seconds is None:
        return ""
    return "a few seconds left" if seconds < 5 else f"about {duration_text(seconds)} left"
