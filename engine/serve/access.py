"""How to reach a served run: its address (serve.json) and its token (serve.token, readable by its owner only)."""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

from ..errors import LrscopeError, RunStoreError
from ..processes import process_alive
from ..store.lock import owner_of
from ..store.paths import run_argument
from ..store.reader import LIVE_STATES, effective_state, read_meta

ADDRESS_FILE = "serve.json"
TOKEN_FILE = "serve.token"


class ServeError(LrscopeError):
    """A served run that cannot be reached or refuses us: the message says why and what to do."""


@dataclass(frozen=True)
class Access:
    """An address to connect to and the token to present; ``published``: read from the run's folder, its process alive
    (silence there is the run's, not another program's on a port typed wrong)."""

    address: str
    token: str
    published: bool = False


ANNOUNCEMENT = re.compile(r"^serving run (?P<run>\S+) at (?P<address>tcp://\S+) with token (?P<token>\S+)")


def announcement(run_id: str, access: Access) -> str:
    """The line a served run prints when it starts (a parent process reads it with ``parse_announcement``)."""
    return f"serving run {run_id} at {access.address} with token {access.token}"


def parse_announcement(line: str) -> tuple[str, Access] | None:
    """(run id, access) from an announcement line, None from any other line."""
    found = ANNOUNCEMENT.match(line.strip())
    return (found["run"], Access(found["address"], found["token"])) if found else None


def new_token() -> str:
    """A random token (192 bits) in hex: one in 64 URL-safe tokens began with "-", and `--token -x…` read as an option
    ("argument --token: expected one argument")."""
    return secrets.token_hex(24)


def publish(run_dir: Path, access: Access) -> None:
    """Write where the run is served and its token into the run folder; the token file is private to its owner."""
    run_dir = Path(run_dir)
    _write_private(run_dir / TOKEN_FILE, access.token + "\n")
    info = {"address": access.address, "pid": os.getpid(), "host": socket.gethostname()}
    _write_private(run_dir / ADDRESS_FILE, json.dumps(info) + "\n", mode=0o644)


def withdraw(run_dir: Path) -> None:
    """The run is no longer served: remove its address and token."""
    for name in (ADDRESS_FILE, TOKEN_FILE):
        (Path(run_dir) / name).unlink(missing_ok=True)


def served_access(run_dir: Path) -> Access | None:
    """How to reach the run in ``run_dir`` if a live process serves it (None if not, or if its process is gone)."""
    try:
        info = json.loads((Path(run_dir) / ADDRESS_FILE).read_text())
        token = (Path(run_dir) / TOKEN_FILE).read_text().strip()
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or not isinstance(info.get("address"), str) or not _alive(info):
        return None
    return Access(info["address"], token, published=True)


def access_for(run_dir: Path, in_window: bool = False) -> Access:
    """How to reach the run in ``run_dir``; ServeError says why it cannot be reached (``in_window``: and what to do
    there, where Resume and Open read-only sit beside Attach)."""
    access = served_access(run_dir)
    if access is None:
        if (Path(run_dir) / ADDRESS_FILE).exists() and not (Path(run_dir) / TOKEN_FILE).exists():
            raise ServeError(f"{run_dir}: its token file is missing or not readable by you")
        raise ServeError(not_served(Path(run_dir), in_window))
    return access


def not_served(run_dir: Path, in_window: bool = False) -> str:
    """Why a run that is not served cannot be reached, and what to do, by its state (a finished run was told to
    `resume --serve`, which has nothing left to train); in the window, with its buttons rather than commands."""
    name = run_dir.name
    try:
        state = effective_state(read_meta(run_dir))
    except RunStoreError:
        state = "unknown"
    if state == "finished":
        show = "Open read-only shows it" if in_window else f"`lrscope show {run_argument(run_dir)}` prints it"
        return f"{name} finished and is not being served: {show}"
    if state in LIVE_STATES:
        # Which process holds it, and how to stop it there: a run paused in lrscope's window was said to train, and to
        # be stopped with Ctrl-C, which a window does not take.
        owner = owner_of(run_dir)
        pid, host = owner.get("pid", "?"), owner.get("host", "?")
        where = "" if host == socket.gethostname() else f" on {host}"
        doing = "is paused" if state == "paused" else "trains"
        then = "Resume continues it in this window" if in_window else f"`lrscope resume {run_argument(run_dir)} --serve` continues it served"
        return (f"{name} {doing} in process {pid}{where}, which does not serve it, so it cannot be reached from here: steer it "
                f"there, or stop it there (Stop in lrscope's window, Ctrl-C in a terminal), then {then}")
    go_on = "Resume continues it in this window" if in_window else f"`lrscope resume {run_argument(run_dir)} --serve` continues it and serves it"
    return f"{name} is {state} and not being served: {go_on}"


def _alive(info: dict) -> bool:
    pid = info.get("pid")
    return isinstance(pid, int) and process_alive(info.get("host"), pid)


def _write_private(path: Path, text: str, mode: int = 0o600) -> None:
    """Write ``text`` to a new file created with ``mode`` (never widening an old file's permissions), then rename it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)
