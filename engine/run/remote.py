"""A run served by another process, here or on another machine: the same handle, over ZeroMQ.

``run()`` connects, presents the token, replays the stored history, then follows the live events until
the run ends, the handle detaches, or the server falls silent. Event numbers prove that nothing was
missed or doubled where the history meets the live stream.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

import zmq
from zmq.utils.monitor import recv_monitor_message

from ..commands import Command
from ..errors import LrscopeError
from ..events import Event, LogLine
from ..processes import process_alive
from ..protocol import ProtocolError, from_data, to_data
from ..serve.access import Access, ServeError
from ..serve.waker import Waker
from ..serve.wire import LOST_SECONDS, PROTOCOL, pack, unpack
from ..store.paths import run_argument
from ..store.reader import read_meta
from .handle import RunHandle, RunResult

MAX_SERVER_MESSAGE = 512 << 20


class RemoteRun(RunHandle):
    """A served run reached at ``access`` (address and token); ``client`` is how it names us in its records."""

    def __init__(self, access: Access | None, *, client: str = "lrscope", history: bool = True, connect_timeout: float = 10.0):
        super().__init__()
        self.access, self.client, self.wants_history, self.connect_timeout = access, client, history, connect_timeout
        self.connected = threading.Event()
        self.run_dir = ""
        self.status: dict = {}
        self.covered = self.missed = self.doubled = 0
        self._history: list[Event] = []
        self._next_look = 0.0  # when ended_without_a_word may next read the run's folder
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._waker = Waker()
        self._detach = threading.Event()

    def send(self, command: Command) -> None:
        """Queue ``command`` for the run; callable from any thread (the handle's thread sends it)."""
        command = replace(command, id=command.id or uuid.uuid4().hex)
        self._outbox.put(pack("command", id=command.id, command=to_data(command)))
        self._waker.wake()

    def history(self) -> list[Event]:
        """The history the run sent when this handle joined."""
        return list(self._history)

    def detach(self) -> None:
        """Stop following the run; it goes on training."""
        self._detach.set()
        self._waker.wake()

    def run(self) -> RunResult:
        """Connect and follow the run until it ends or ``detach()``; ServeError when refused or out of reach."""
        access = self.reach()
        context = zmq.Context()
        socket = context.socket(zmq.DEALER)
        for option, value in ((zmq.LINGER, 500), (zmq.MAXMSGSIZE, MAX_SERVER_MESSAGE), (zmq.RCVHWM, 0), (zmq.SNDHWM, 0)):
            socket.setsockopt(option, value)
        # Watched while connecting: ZeroMQ retries a refused connection quietly, so nothing listening looked like a
        # run too busy to answer, for the whole connect timeout.
        connecting = socket.get_monitor_socket(zmq.EVENT_CONNECTED | zmq.EVENT_CONNECT_RETRIED | zmq.EVENT_HANDSHAKE_SUCCEEDED)
        try:
            socket.connect(access.address)
            socket.send(pack("hello", token=access.token, client=self.client, protocol=PROTOCOL, history=self.wants_history))
            self._await_welcome(socket, connecting, access.address)
            return self._follow(socket, access.address)
        finally:
            connecting.close()
            socket.close()
            context.term()
            self._waker.close()

    def ended_without_a_word(self) -> str | None:
        """Why the run is known to be gone although it said nothing (None: not known; silence for LOST_SECONDS decides):
        a run of this machine whose process is gone (kill -9) is said to be at once, in those words, where the window
        said "nothing heard for 6 s". Its folder is read at most once a second."""
        if not self.run_dir or time.monotonic() < self._next_look:
            return None
        self._next_look = time.monotonic() + 1.0
        try:
            meta = read_meta(Path(self.run_dir))
            pid = int(meta.get("pid", ""))
        except (LrscopeError, ValueError, OSError):  # another machine's folder, or one being written: silence decides
            return None
        if process_alive(meta.get("host"), pid):
            return None
        return (f"the run's process (pid {pid}) ended at step {self.step} without a word (killed?): "
                f"`lrscope resume {run_argument(self.run_dir)} --serve` continues it from its last checkpoint")

    def reach(self) -> Access:
        """Where the run is (a subclass may first have to start it)."""
        if self.access is None:
            raise ServeError("no address to reach the run at")
        return self.access

    def _await_welcome(self, socket, connecting, address: str) -> None:
        if not self._answers_in_time(socket, connecting, address):
            raise ServeError(f"no answer from {address} within {self.connect_timeout:.0f} s: is the run still served? "
                             "(`lrscope runs` marks the served ones; an SSH tunnel may be down)")
        message = unpack(socket.recv())
        if message["op"] == "refused":
            reason = str(message.get("reason"))
            # Where the right token is: a user told "wrong token" had nowhere to look.
            hint = ("; give the token the run printed when it started (also in its folder's serve.token, readable by its "
                    "owner; attaching by the folder reads it)") if reason in ("wrong token", "no token") else ""
            raise ServeError(f"{address} refused this client: {reason}{hint}")
        if message["op"] != "welcome":
            raise ServeError(f"{address} answered {message['op']!r} instead of welcome: is it an lrscope run?")
        self.run_dir = str(message.get("run_dir", ""))
        status = message.get("status")
        self.status = status if isinstance(status, dict) else {}
        self.connected.set()

    def _answers_in_time(self, socket, connecting, address: str) -> bool:
        """Whether the run answers within the connect timeout; ServeError at once when the address refuses the
        connection (``connecting``: the socket's monitor) before it was ever made."""
        poller = zmq.Poller()
        poller.register(socket, zmq.POLLIN)
        poller.register(connecting, zmq.POLLIN)
        deadline, connected, greeted = time.monotonic() + self.connect_timeout, False, False
        while (left := deadline - time.monotonic()) > 0:
            ready = dict(poller.poll(max(1, int(left * 1000))))
            if socket in ready:
                return True
            if connecting in ready:
                event = recv_monitor_message(connecting)["event"]
                connected = connected or event == zmq.EVENT_CONNECTED
                greeted = greeted or event == zmq.EVENT_HANDSHAKE_SUCCEEDED
                if event == zmq.EVENT_CONNECT_RETRIED and not connected:
                    raise ServeError(f"nothing is listening at {address.removeprefix('tcp://')}: is the run served (--serve)? "
                                     "(`lrscope runs` marks the served ones; an SSH tunnel may be down)")
        if connected and not greeted and self.access.published:  # its process is alive: stopped (kill -STOP), or swamped
            raise ServeError(f"the run at {address.removeprefix('tcp://')} took the connection but did not greet within "
                             f"{self.connect_timeout:g} s: its process is there but not answering (stopped, or swamped); try "
                             "again once it runs")
        if connected and not greeted:  # a web server, say, on that port: it took the connection and said nothing
            raise ServeError(f"something at {address.removeprefix('tcp://')} took the connection but gave no greeting within "
                             f"{self.connect_timeout:g} s: is it the port the run printed? (an lrscope run greets at once)")
        return False

    def _follow(self, socket, address: str) -> RunResult:
        poller = zmq.Poller()
        poller.register(socket, zmq.POLLIN)
        poller.register(self._waker, zmq.POLLIN)
        heard = time.monotonic()
        while not self._detach.is_set():
            ready = dict(poller.poll(timeout=250))
            self._waker.clear()
            self._send_queued(socket)
            if socket in ready:
                heard = time.monotonic()
                if self._receive(socket):
                    return self.tracker.result()
            elif (ended := self.ended_without_a_word()) is not None and not socket.poll(1000):  # its last words may be in flight
                raise ServeError(ended)
            elif time.monotonic() - heard > LOST_SECONDS:
                run = self.tracker.run_id or "RUN"
                raise ServeError(f"lost contact with the run at {address} (nothing heard for {LOST_SECONDS:.0f} s, "
                                 f"last at step {self.step}): if its process stopped, `lrscope resume {run} --serve` "
                                 "continues it from its last checkpoint")
        socket.send(pack("bye"), zmq.NOBLOCK)
        return self.tracker.result()

    def _send_queued(self, socket) -> None:
        while True:
            try:
                frame = self._outbox.get_nowait()
            except queue.Empty:
                return
            socket.send(frame)

    def _receive(self, socket) -> bool:
        """Handle every message waiting; True when the run is over."""
        while True:
            try:
                message = unpack(socket.recv(zmq.NOBLOCK))
            except zmq.Again:
                return False
            except ProtocolError as error:
                self.deliver(LogLine(f"a message from the run could not be read: {error}", "warning"))
                continue
            if self._handle(message):
                return True

    def _handle(self, message: dict) -> bool:
        op = message["op"]
        if op == "event":
            self._event(message)
        elif op == "history":
            self._replay(message)
        elif op == "rejected":
            reason = str(message.get("reason"))
            self.answer(str(message.get("id")), ServeError(f"the run refused the command: {reason}"))
            self.deliver(LogLine(f"the run refused a command: {reason}", "warning"))
        elif op == "error":
            self.deliver(LogLine(f"the run says: {message.get('reason')}", "warning"))
        return op == "end"

    def _replay(self, message: dict) -> None:
        for index, data in enumerate(message.get("events", [])):
            event = from_data(data, Event, f"history[{index}]")
            self._history.append(event)
            self.deliver(event)
        self.covered = int(message.get("through", 0))

    def _event(self, message: dict) -> None:
        first, last = int(message["first"]), int(message["last"])
        if last <= self.covered:
            self.doubled += 1
            return
        if first > self.covered + 1:
            missing = first - self.covered - 1
            self.missed += missing
            self.deliver(LogLine(f"{missing} events did not reach this client (it fell behind); attach again to see all of the run",
                                 "warning"))
        self.covered = last
        self.deliver(from_data(message["event"], Event, "event"))
