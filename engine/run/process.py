"""A run trained by a child process (``lrscope train|resume … --serve``), followed through the same handle."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

from ..serve.access import Access, ServeError, parse_announcement
from .handle import RunResult
from .remote import RemoteRun

START_TIMEOUT = 180.0


class ProcessRun(RemoteRun):
    """Starts ``lrscope ARGV --serve`` in a child process and follows it; the child outlives a detached handle."""

    def __init__(self, argv: list[str], *, client: str = "lrscope", cwd: Path | None = None, env: dict | None = None):
        super().__init__(None, client=client)
        self.argv, self.cwd, self.env = [*argv, "--serve"], cwd, env
        self.process: subprocess.Popen | None = None
        self.run_id = ""
        self.output: deque[str] = deque(maxlen=200)
        self._announced = threading.Event()

    def reach(self) -> Access:
        """Start the child and wait for it to say where it is served."""
        if self.access is None:
            self.launch()
        return self.access

    def launch(self) -> None:
        """Start the child; ServeError (with its last words) when it ends or stays silent before serving."""
        self.process = subprocess.Popen([sys.executable, "-m", "engine.cli", *self.argv], cwd=self.cwd, env=self.env,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._read_output, name="lrscope-child-output", daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._announced.wait(0.1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                last = self.output[-1] if self.output else "no output"
                raise ServeError(f"the training process did not start serving ({last})")

    def _read_output(self) -> None:
        """Keep the child's stderr flowing (a full pipe would stall it) and catch its announcement."""
        with self.process.stderr:
            for line in self.process.stderr:
                self.output.append(line.rstrip())
                parsed = None if self._announced.is_set() else parse_announcement(line)
                if parsed is not None:
                    self.run_id, self.access = parsed
                    self._announced.set()

    def ended_without_a_word(self) -> str | None:
        """The child exited before its run said it ended (killed, crashed): known at once, not after seconds of silence."""
        if self.process is None or self.process.poll() is None:
            return None
        last = self.output[-1] if self.output else "no output"
        return f"the training process ended (exit status {self.process.returncode}) before its run did ({last})"

    def run(self) -> RunResult:
        """Follow the child's run to its end (or detach); the child is waited for only when the run ended."""
        result = super().run()
        if not self._detach.is_set() and self.process is not None:
            self.process.wait(60)
        return result
