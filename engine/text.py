"""Text safe to print, store and show: what a hostile file or folder name cannot break."""

from __future__ import annotations

import math
import re
import unicodedata

# Lone surrogates (bytes of a file name that are not UTF-8, as os.fsdecode keeps them, or a "\ud800" in JSON)
# cannot be encoded to print or store; control characters would break a one-line message or drive the terminal.
_UNSHOWABLE = re.compile("[\ud800-\udfff\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with undecodable bytes and control characters shown as U+FFFD (the identity for ordinary text)."""
    return _UNSHOWABLE.sub("\ufffd", text)


def name_bytes(text: str) -> bytes:
    """The bytes of a file name as the OS gave them (``os.fsencode`` on POSIX), for hashing."""
    return text.encode("utf-8", "surrogateescape")


# What a value read from JSON is, in JSON's words: a message about a user's file or a client's message must not
# say "dict" or "NoneType".
_JSON_KINDS = {bool: "true or false", int: "a whole number", float: "a number", str: "text", dict: "an object",
               list: "an array", tuple: "an array", type(None): "null"}


def expected_kind(kinds: tuple[type, ...]) -> str:
    """What ``kinds`` allow, in words: (int, float) is "a number"."""
    if set(kinds) >= {int, float}:
        kinds = (float, *(k for k in kinds if k not in (int, float)))
    return " or ".join(dict.fromkeys(_JSON_KINDS.get(k, k.__name__) for k in kinds))


def kind_of(value: object) -> str:
    """What a JSON value is: "a boolean", "null", "an array", ..."""
    return "a boolean" if isinstance(value, bool) else _JSON_KINDS.get(type(value), type(value).__name__)


# Nouns whose plural the rule below gets wrong ("-ch" sounding like k: not "epoches").
PLURALS = {"epoch": "epochs"}


def counted(number: object, noun: str) -> str:
    """``1 step``, ``2 steps``, ``3 classes``, ``4 batches``, ``5 epochs``: a count with its noun, plural unless it is one."""
    plural = PLURALS.get(noun) or noun + ("es" if noun.endswith(("s", "x", "ch", "sh")) else "s")
    return f"{number} {noun if number == 1 else plural}"


def edits_in_effect(kept: int, made: int) -> str:
    """``2 edits``, or ``2 edits in effect, of 4 made`` when some were undos or undone: the edit history lists every one
    made, and "its 2 edits" beside a history of 4 read as two lost."""
    return counted(kept, "edit") + (f" in effect, of {made} made" if made > kept else "")


def whose(name: str) -> str:
    """The possessive of a name as a message writes it: ``digits'``, not ``digits's``; ``camera2's``."""
    return f"{name}'" if name.endswith(("s", "S")) else f"{name}'s"


def images_used(held: int, usable: int) -> str:
    """``1797 images``, or ``1793 of 1797 images (4 unreadable)`` when some of a folder's images cannot be read: what
    trains is said, beside what the folder holds (which is what identifies it)."""
    return counted(held, "image") if usable == held else f"{usable} of {counted(held, 'image')} ({held - usable} unreadable)"


def at_size(dataset: dict) -> str:
    """" at 16 px" for a run's dataset record that says the size its images were trained at ("" for one that does not:
    older, or damaged): an image size of 0 in the config means the images' median, said nowhere else."""
    size = dataset.get("resolution")
    return f" at {size} px" if isinstance(size, int) and not isinstance(size, bool) else ""


def percent(fraction: float) -> str:
    """``97.25%``, or ``–`` for a result that does not exist (a cancelled trial has no accuracy, not "nan%")."""
    return f"{100 * fraction:.2f}%" if math.isfinite(fraction) else "–"


def listed(names: list[str], most: int = 5, between: str = ", ") -> str:
    """``a, b, c`` of at most ``most`` names, with ``… (12 in all)`` when there are more: a cut list must say so."""
    shown = between.join(str(name) for name in names[:most])
    return f"{shown}{between}… ({len(names)} in all)" if len(names) > most else shown


def name_part(text: str, limit: int = 40) -> str:
    """``text`` as part of a file or run name: its letters without accents, other characters as "-", never starting with
    "-" (a command line reads that as an option). "ünï cödé dätä ✓" made "n-c-d-d-t" and a library file "-2026…"."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9_.]+", "-", plain)[:limit].strip("-.") or "dataset"


def duration_text(seconds: float) -> str:
    """"40 s", "7 min", "2 h 05 min": a duration rounded as an estimate deserves."""
    if seconds < 90:
        return f"{max(10, int(round(seconds / 10)) * 10)} s"
    minutes = int(round(seconds / 60))
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def estimate(seconds: float) -> str:
    """A time estimate in words, "about 3 min" or "under a minute": a search of seconds was said to take "about 0:00"
    (its fixed costs are estimated as a share of its training steps, which a few seconds are not)."""
    return f"about {duration_text(seconds)}" if seconds >= 60 else "under a minute"
