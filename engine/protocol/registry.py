"""Which classes may cross a process boundary, under which name and version."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import LrscopeError


class ProtocolError(LrscopeError):
    """A message that cannot be read: malformed, of an unknown type or version, or with a field of the wrong type."""


@dataclass(frozen=True)
class Entry:
    """A registered class, the name it travels under and the version of its fields."""

    cls: type
    name: str
    version: int


_BY_NAME: dict[str, Entry] = {}
_BY_CLASS: dict[type, Entry] = {}


def add(cls: type, version: int) -> None:
    """Record ``cls`` under its class name; names are unique, so two classes cannot be confused."""
    name = cls.__name__
    known = _BY_NAME.get(name)
    if known is not None and known.cls is not cls:
        raise TypeError(f"{cls.__module__}.{name}: another class is registered as {name!r} ({known.cls.__module__})")
    entry = Entry(cls, name, version)
    _BY_NAME[name] = entry
    _BY_CLASS[cls] = entry


def entry_of(cls: type) -> Entry:
    """The entry of ``cls``; TypeError (a programming error) when it was never registered."""
    entry = _BY_CLASS.get(cls)
    if entry is None:
        raise TypeError(f"{cls.__module__}.{cls.__name__} is not registered with the protocol; add it to engine/protocol/catalog.py")
    return entry


def entry_named(name: object, version: object, path: str) -> Entry:
    """The entry a message names; ProtocolError for an unknown type or a version this lrscope does not speak."""
    entry = _BY_NAME.get(name) if isinstance(name, str) else None
    if entry is None:
        raise ProtocolError(f"{path}: unknown message type {str(name)[:60]!r}")
    if version != entry.version or isinstance(version, bool):
        raise ProtocolError(f"{path}: {entry.name} version {str(version)[:20]} is not understood here (this lrscope "
                            f"speaks version {entry.version}); use the same lrscope version on both ends")
    return entry


def is_registered(cls: type) -> bool:
    """Whether ``cls`` may cross a process boundary."""
    return cls in _BY_CLASS


def registered() -> tuple[type, ...]:
    """Every registered class."""
    return tuple(_BY_CLASS)
