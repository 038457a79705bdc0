"""Settings that persist between launches (last folder, recent folders, layout, configuration)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from platformdirs import user_config_dir
from PySide6.QtCore import QSettings

RECENT_LIMIT = 8


def open_settings() -> QSettings:
    """An INI file in $LRSCOPE_SETTINGS_DIR, or in the user config folder."""
    folder = Path(os.environ.get("LRSCOPE_SETTINGS_DIR") or user_config_dir("lrscope"))
    return QSettings(str(folder / "lrscope.ini"), QSettings.Format.IniFormat)


def recent_folders(settings: QSettings) -> list[str]:
    """Recently opened dataset folders, newest first."""
    value = settings.value("data/recent", "[]")
    try:
        folders = json.loads(value) if isinstance(value, str) else []
    except json.JSONDecodeError:
        folders = []
    return [f for f in folders if isinstance(f, str)]


def remember_folder(settings: QSettings, folder: str) -> list[str]:
    """Put ``folder`` first in the recent list and make it the last folder; returns the list."""
    folders = [folder] + [f for f in recent_folders(settings) if f != folder]
    settings.setValue("data/recent", json.dumps(folders[:RECENT_LIMIT]))
    settings.setValue("data/last", folder)
    return folders[:RECENT_LIMIT]


def saved_config(settings: QSettings) -> dict:
    """The configuration fields saved at the last start (or {})."""
    try:
        value = json.loads(settings.value("config/fields", "{}"))
    except (TypeError, json.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def save_config(settings: QSettings, fields: dict) -> None:
    """Remember the configuration fields."""
    settings.setValue("config/fields", json.dumps(fields))
