"""The editor's draft schedule, kept per dataset across launches: a plan not yet run is work too (issue 12)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from PySide6.QtCore import QSettings

from engine.errors import LrscopeError
from engine.schedules import Timeline
from engine.schedules.codec import timeline_from_dict, timeline_to_dict
from engine.text import printable

MAX_ORIGIN = 500  # characters of where a draft came from: a settings file edited by hand is read as data


@dataclass(frozen=True)
class Draft:
    """A dataset's draft: the plan, and where it came from when it is a schedule tuned on another dataset ("" if not)."""

    timeline: Timeline
    tuned_on: str = ""


def _key(fingerprint: str) -> str:
    return f"drafts/{fingerprint}"


def save_draft(settings: QSettings, fingerprint: str, timeline: Timeline, tuned_on: str = "") -> None:
    """Remember the editor's plan (schedule, group settings, plateau rule; a run's edits, when it holds a run's
    schedule) for the dataset ``fingerprint``; ``tuned_on``: which other dataset's schedule it was imported from."""
    data = timeline_to_dict(timeline)
    if tuned_on:  # a relaunch showed another dataset's schedule as this one's own, without a word (helper-80)
        data["tuned_on"] = tuned_on
    settings.setValue(_key(fingerprint), json.dumps(data))


def load_draft(settings: QSettings, fingerprint: str) -> Draft | None:
    """The plan last drafted for ``fingerprint``, or None (none saved, or unreadable: a draft is not worth an error)."""
    text = settings.value(_key(fingerprint), "")
    if not isinstance(text, str) or not text:
        return None
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            return None
        tuned_on = data.get("tuned_on")
        return Draft(timeline_from_dict(data, "draft"), printable(tuned_on)[:MAX_ORIGIN] if isinstance(tuned_on, str) else "")
    except (ValueError, TypeError, LrscopeError):
        return None
