"""The editor's draft schedule, kept per dataset across launches: a plan not yet run is work too (issue 12)."""

from __future__ import annotations

import json

from PySide6.QtCore import QSettings

from engine.errors import LrscopeError
from engine.schedules import Timeline
from engine.schedules.codec import timeline_from_dict, timeline_to_dict


def _key(fingerprint: str) -> str:
    return f"drafts/{fingerprint}"


def save_draft(settings: QSettings, fingerprint: str, timeline: Timeline) -> None:
    """Remember the editor's plan (schedule, group settings, plateau rule; a run's edits, when it holds a run's
    schedule) for the dataset ``fingerprint``."""
    settings.setValue(_key(fingerprint), json.dumps(timeline_to_dict(timeline)))


def load_draft(settings: QSettings, fingerprint: str) -> Timeline | None:
    """The plan last drafted for ``fingerprint``, or None (none saved, or unreadable: a draft is not worth an error)."""
    text = settings.value(_key(fingerprint), "")
    if not isinstance(text, str) or not text:
        return None
    try:
        data = json.loads(text)
        return timeline_from_dict(data, "draft") if isinstance(data, dict) else None
    except (ValueError, TypeError, LrscopeError):
        return None
