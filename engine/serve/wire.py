"""What travels between a served run and its clients: one JSON object per message, with an ``op``.

Client → server: ``hello`` (token, client name, whether it wants the history), ``command`` (id, command), ``bye``.
Server → client: ``welcome`` or ``refused``; ``history`` blocks (the stored run, through event number ``through``);
``event`` (covering event numbers ``first``..``last``: consecutive step blocks are merged, a schedule change
supersedes an older one not yet sent; ``dropped`` counts events a slow client lost); ``accepted``/``rejected``
for each command; ``tick`` every second; ``end`` when the run is over.
"""

from __future__ import annotations

import json
import socket
from typing import Any

from ..protocol import ProtocolError, parse

PROTOCOL = 1
MAX_CLIENT_MESSAGE = 1 << 20  # commands are small; a schedule of thousands of segments still fits
MAX_TRANSPORT_MESSAGE = 16 << 20  # libzmq drops a connection that sends more, before Python sees it
TICK_SECONDS = 1.0
LOST_SECONDS = 6.0


def pack(op: str, **fields: Any) -> bytes:
    """A message as bytes."""
    return json.dumps({"op": op, **fields}, separators=(",", ":")).encode()


def unpack(frame: bytes, limit: int | None = None) -> dict[str, Any]:
    """A received message; ProtocolError when it is too large, not JSON, or not an object with an ``op``."""
    if limit is not None and len(frame) > limit:
        raise ProtocolError(f"a message of {len(frame):,} bytes is over the {limit:,}-byte limit")
    message = parse(frame)
    if not isinstance(message, dict) or not isinstance(message.get("op"), str):
        raise ProtocolError("a message must be a JSON object with an \"op\"")
    return message


def tcp_address(text: str) -> str:
    """``tcp://host:port`` from ``host:port`` or a tcp:// address; ValueError when it is neither."""
    rest = text[len("tcp://"):] if text.startswith("tcp://") else text
    host, _, port = rest.rpartition(":")
    if not host or not (port.isdigit() and int(port) <= 65535 or port == "*"):
        wrong = f": port {port} is out of range" if host and port.isdigit() else " is not an address"
        raise ValueError(f"{text!r}{wrong}; give HOST:PORT with a port from 0 to 65535 (for example 127.0.0.1:5555)")
    return f"tcp://{host}:{port}"


def is_local(address: str) -> bool:
    """Whether a tcp:// address listens on this machine only."""
    host = address[len("tcp://"):].rpartition(":")[0].strip("[]")
    return host in ("127.0.0.1", "localhost", "::1")


def client_name() -> str:
    """How this process names itself to a server (the server adds the peer's address)."""
    return f"{socket.gethostname()}"
