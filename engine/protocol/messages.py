"""Messages: registered dataclasses written as JSON text, read back strictly."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from . import registry
from .registry import ProtocolError
from .values import check_supported, field_types, tagged, untagged


def register(cls: type, version: int = 1) -> type:
    """Let ``cls`` cross process boundaries as ``version`` (bump it when its fields change meaning).

    TypeError when a field's type cannot be written (``Any``, a live object): the catalog fails at import.
    """
    if not (dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen):
        raise TypeError(f"{cls.__name__}: only frozen dataclasses can be registered")
    for name, hint in field_types(cls).items():
        check_supported(hint, f"{cls.__name__}.{name}")
    registry.add(cls, version)
    return cls


def to_data(message: Any) -> dict[str, Any]:
    """A registered message as JSON data: {"type", "v", "fields"}."""
    return tagged(message)


def from_data(data: Any, expected: type = object, path: str = "message") -> Any:
    """The message ``data`` describes, which must be an ``expected`` (ProtocolError otherwise)."""
    return untagged(data, expected, path)


def encode(message: Any) -> bytes:
    """A registered message as UTF-8 JSON."""
    return json.dumps(to_data(message), separators=(",", ":")).encode()


def decode(text: bytes | str, expected: type = object) -> Any:
    """The message in ``text``, which must be an ``expected``; ProtocolError says what is wrong."""
    return from_data(parse(text), expected)


def parse(text: bytes | str) -> Any:
    """JSON text as data; ProtocolError when it is not JSON."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise ProtocolError(f"not a JSON message ({str(error)[:80]})") from None


__all__ = ["ProtocolError", "decode", "encode", "from_data", "parse", "register", "to_data"]
