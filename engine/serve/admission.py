"""What a served run accepts from a client: commands checked before they reach the job, stamped with their sender."""

from __future__ import annotations

import dataclasses
import math

from ..commands import Command, EditSchedule, RollBack, StartRangeTest, Stop
from ..protocol import ProtocolError


def checked(command: Command) -> Command:
    """``command`` if the job can act on it; ProtocolError names what is wrong (schedule edits are checked by the
    job itself, which refuses an invalid one with EditRefused and goes on)."""
    if isinstance(command, StartRangeTest) and command.settings is not None:
        try:
            command.settings.resolved()
        except (ValueError, TypeError) as error:
            raise ProtocolError(f"command.settings: {error}") from None
    if isinstance(command, RollBack) and not (math.isfinite(command.lr_factor) and 0 < command.lr_factor <= 1e3):
        raise ProtocolError(f"command.lr_factor: must be a positive number up to 1000, got {command.lr_factor!r}")
    # A fault stop is the run's own fault policy's (in its process): a client naming one made every watcher exit 3.
    if isinstance(command, Stop) and command.fault:
        raise ProtocolError("command.fault: a client stops a run as a person does, without naming a fault")
    return command


def stamped(command: Command, command_id: str, source: str) -> Command:
    """``command`` with the id its sender chose and the sender the server saw (whatever the client claimed)."""
    if isinstance(command, EditSchedule):
        command = dataclasses.replace(command, edit=dataclasses.replace(command.edit, source=source))
    return dataclasses.replace(command, id=command_id, source=source)
