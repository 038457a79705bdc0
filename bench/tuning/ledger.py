"""A JSON file of finished measurements, written after each one, so an interrupted study resumes where it stopped."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


class Ledger:
    """Measurements by key; ``get(key, measure)`` runs ``measure()`` only when the key is new (a read-only
    ledger raises KeyError instead, so a report can be written while the study still runs)."""

    def __init__(self, path: Path, read_only: bool = False):
        self.path, self.read_only = Path(path), read_only
        self.entries: dict[str, Any] = json.loads(self.path.read_text()) if self.path.exists() else {}

    def get(self, key: str, measure: Callable[[], Any]) -> Any:
        """The stored value of ``key``, measured and saved first if it is missing."""
        if key not in self.entries and self.read_only:
            raise KeyError(key)
        if key not in self.entries:
            self.entries[key] = measure()
            self._save()
        return self.entries[key]

    def _save(self) -> None:
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps(self.entries, indent=0, sort_keys=True))
        os.replace(partial, self.path)
