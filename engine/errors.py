"""Errors a user can act on: their text is the one-line message shown to them."""

from .text import printable


class LrscopeError(Exception):
    """Base of every error whose message names what is wrong and what to do.

    The message is made printable here, once: it often quotes a file name, which may hold bytes that
    are not UTF-8 or a newline, and it must print on one line whatever the terminal's encoding.
    """

    def __init__(self, message: str = ""):
        super().__init__(printable(str(message)))


class DatasetError(LrscopeError):
    """A dataset folder that cannot be used as it is."""


class ConfigError(LrscopeError):
    """An invalid training setting; ``field`` names the setting."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class WeightsMissing(ConfigError):
    """Pretrained weights neither cached nor downloadable here: the message says which file, and where to put it. How
    else to start (a local weights file, random weights) is each interface's to say, as each offers its own way."""

    def __init__(self, message: str):
        super().__init__("pretrained", message)


class SettingError(ValueError):
    """An invalid setting of a range test or a measurement: the message says it in words ("the iterations must be …"),
    for the window; ``field`` names the setting and ``reason`` says what it must be, for a command line to name its own
    option (``--iters: must be …``)."""

    def __init__(self, field: str, words: str, reason: str):
        super().__init__(f"{words} {reason}")
        self.field = field
        self.reason = reason


class RankOutOfMemory(LrscopeError):
    """One process of a distributed run ran out of memory: the whole run stops (the others wait in its all-reduce)."""


class ScheduleFileError(LrscopeError):
    """A schedule file or schedule description that cannot be used."""


class RunStoreError(LrscopeError):
    """A run directory or runs root that cannot be read or written."""


def first_line(error: BaseException, limit: int = 160) -> str:
    """The first line of an exception's message (its type name when the message is empty)."""
    lines = str(error).strip().splitlines()
    return printable(lines[0] if lines else type(error).__name__)[:limit]


def cannot_write(path, error: OSError) -> str:
    """Why ``path`` could not be written, and what to do: "[Errno 1] Operation not permitted: '…'" said neither."""
    return f"{printable(str(path))}: cannot be written ({error.strerror or first_line(error)}); choose another folder or file"
