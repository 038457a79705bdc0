"""How long the run has left, in words (the estimate itself is engine.run.pace's: the command line shows it too)."""

from __future__ import annotations

from engine.text import duration_text


def remaining_text(seconds: float | None) -> str:
    """"about 40 s left", "about 7 min left", "about 2 h 05 min left"; "a few seconds left" at the very end (where the
    tens that round the rest would say "about 10 s" for the last second); "" while the speed is unknown."""
    if seconds is None:
        return ""
    return "a few seconds left" if seconds < 5 else f"about {duration_text(seconds)} left"
