"""The protocol: every event and command as a typed, versioned message that can cross a process boundary.

``encode(message)`` writes JSON; ``decode(text, expected)`` reads it back strictly (ProtocolError names the
field at fault, an unknown type or version is refused). The catalog registers every type.
"""

from . import catalog  # noqa: F401  (registers every type)
from .messages import ProtocolError, decode, encode, from_data, parse, register, to_data
from .registry import is_registered, registered

__all__ = ["ProtocolError", "decode", "encode", "from_data", "is_registered", "parse", "register", "registered", "to_data"]
