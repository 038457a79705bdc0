"""Serve a run trained by this process: events out to every client, commands in, over ZeroMQ.

One thread owns the socket (a ROUTER: one conversation per client). The training thread only puts events
in a bounded queue and never waits: a slow or vanished client costs it nothing (see peer.py). A client
joining late gets the stored history (read on a helper thread), then the live events numbered after it.
"""

from __future__ import annotations

import hmac
import logging
import queue
import threading
import time
from collections import deque
from pathlib import Path

import zmq

from ..commands import Command
from ..events import CommandApplied, Event, FaultRaised, LogLine, RangeTestFinished, RangeTestStarted, RunStarted, StateChanged
from ..protocol import ProtocolError, from_data, to_data
from ..run.history import stored_history
from ..run.in_process import InProcessRun
from .access import Access, new_token, publish, withdraw
from .admission import checked, stamped
from .peer import Item, Peer
from .waker import Waker
from .wire import MAX_CLIENT_MESSAGE, MAX_TRANSPORT_MESSAGE, PROTOCOL, TICK_SECONDS, pack, tcp_address, unpack

log = logging.getLogger(__name__)

BACKLOG = 100_000
RING = 4096
MAX_PEERS = 64
MAX_IN_FLIGHT = 10_000
MAX_LOGGED_REFUSALS = 100
HISTORY_BLOCK = 200


class RunServer:
    """Serves ``run`` at ``bind`` (host:port; port 0 picks a free one) once ``start(run_dir)`` is called."""

    def __init__(self, run: InProcessRun, bind: str = "127.0.0.1:0"):
        self.run, self.bind = run, tcp_address(bind)
        self.token = new_token()
        self.access: Access | None = None
        self.lost_events = self.refusals = 0
        self.peers: dict[bytes, Peer] = {}
        self._inbound: queue.Queue = queue.Queue(maxsize=BACKLOG)
        self._histories: queue.SimpleQueue = queue.SimpleQueue()
        self._ring: deque[Item] = deque(maxlen=RING)
        self._in_flight: set[str] = set()
        self._waker, self._closing = Waker(), threading.Event()
        self._numbers = iter(range(1, 1 << 62))
        self._thread: threading.Thread | None = None
        self._run_dir: Path | None = None
        self._header: RunStarted | None = None  # the run's latest start, all a client that skips the history is sent
        # The range test in progress: the store keeps only finished ones, so a window attached during a probe showed it
        # as a sweep, its Cancel disabled.
        self._range_test: Item | None = None
        # The fault the run is paused on: the store keeps its words, not the event, so a window attached to a run paused
        # by `--on-fault pause` showed a plain pause, offered Resume at the LR that blew it up, and no rollback.
        self._fault: Item | None = None
        self.cpu_seconds = 0.0  # the server thread's CPU time, once closed (what serving costs the machine)
        run.bus.subscribe_numbered(self._on_event)  # before the run emits anything: the ring starts at event 1

    # -- any thread --------------------------------------------------------------------------

    def _on_event(self, seq: int, event: Event) -> None:
        """Called by the bus on the emitting thread: queue and wake the server, never wait."""
        try:
            self._inbound.put_nowait(Item(seq, seq, event))
        except queue.Full:
            self.lost_events += 1
        self._waker.wake()

    def listen(self) -> None:
        """Bind the address (before the run creates its folder, so that an address it cannot have costs nothing);
        ValueError says why not."""
        self._context = zmq.Context()
        self._socket = self._context.socket(zmq.ROUTER)
        for option, value in ((zmq.ROUTER_MANDATORY, 1), (zmq.SNDHWM, 256), (zmq.RCVHWM, 1000),
                              (zmq.MAXMSGSIZE, MAX_TRANSPORT_MESSAGE), (zmq.LINGER, 1000)):
            self._socket.setsockopt(option, value)
        host, port = self.bind[len("tcp://"):].rsplit(":", 1)
        try:
            if port in ("0", "*"):
                port = str(self._socket.bind_to_random_port(f"tcp://{host}"))
            else:
                self._socket.bind(self.bind)
        except zmq.ZMQError as error:
            self._socket.close(linger=0)
            self._context.term()
            raise ValueError(f"cannot listen at {host}:{port} ({error.strerror.split(' (addr=')[0]}); give an address of this machine and a "
                             "free port, or leave the address out to serve on 127.0.0.1 at a free port") from None
        self.access = Access(f"tcp://{host}:{port}", self.token)

    def start(self, run_dir: Path) -> Access:
        """Write the address and token into ``run_dir``, and serve on a thread; the address and token.

        Listens first unless ``listen`` was called already (a caller that must know the address is free before it
        creates the run's folder calls it early)."""
        if self.access is None:
            self.listen()
        self._run_dir = Path(run_dir)
        publish(self._run_dir, self.access)
        self._thread = threading.Thread(target=self._serve, name="lrscope-serve", daemon=True)
        self._thread.start()
        return self.access

    def close(self, timeout: float = 3.0) -> None:
        """Send what is queued and the end of the run to every client, then stop serving."""
        self._closing.set()
        self._waker.wake()
        if self._thread is not None:
            self._thread.join(timeout + 2)
        elif self.access is not None:  # listening, never started (the run failed to prepare): nobody to say goodbye to
            self._socket.close(linger=0)
            self._context.term()
        if self._run_dir is not None:
            withdraw(self._run_dir)
        self._waker.close()

    # -- the server thread ----------------------------------------------------------------------

    def _serve(self) -> None:
        poller = zmq.Poller()
        poller.register(self._socket, zmq.POLLIN)
        poller.register(self._waker, zmq.POLLIN)
        next_tick = time.monotonic() + TICK_SECONDS
        closing_since = None
        while True:
            ready = dict(poller.poll(timeout=250))
            try:
                self._waker.clear()
                self._take_events()
                if self._socket in ready:
                    self._receive()
                self._take_histories()
                self._flush()
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + TICK_SECONDS
                    self._tick()
            except Exception:  # a bug here must not end serving, let alone training
                log.exception("serving %s failed; serving goes on", self._run_dir)
            if self._closing.is_set():
                closing_since = closing_since or time.monotonic()
                if not any(p.pending for p in self.peers.values()) or time.monotonic() - closing_since > 2.0:
                    break
        self._say_goodbye()
        self.cpu_seconds = time.thread_time()

    def _say_goodbye(self) -> None:
        for peer in list(self.peers.values()):
            self._send(peer, pack("end", state=self.run.state))
        self._socket.close(linger=1000)
        self._context.term()

    def _take_events(self) -> None:
        while True:
            try:
                item = self._inbound.get_nowait()
            except queue.Empty:
                return
            self._ring.append(item)
            if isinstance(item.event, RunStarted):
                self._header = item.event
            elif isinstance(item.event, RangeTestStarted):
                self._range_test = item
            elif isinstance(item.event, RangeTestFinished):
                self._range_test = None
            elif isinstance(item.event, FaultRaised):
                self._fault = item
            elif isinstance(item.event, StateChanged) and item.event.state != "paused":  # resumed, rolled back or ended
                self._fault = None
            if isinstance(item.event, CommandApplied):
                self._in_flight.discard(item.event.command_id)
            for peer in self.peers.values():
                peer.push(item)

    def _flush(self) -> None:
        for peer in list(self.peers.values()):
            while peer.pending:
                try:
                    frame = peer.pending[0].frame()
                except TypeError:  # an event the protocol cannot write is a bug: skip it, say so in the log
                    log.exception("an event of %s cannot be sent", self._run_dir)
                    peer.pending.popleft()
                    continue
                if not self._send(peer, frame):
                    break
                peer.pending.popleft()

    def _send(self, peer: Peer, frame: bytes) -> bool:
        """Send without waiting; False when the client's queue is full (it is behind) or it is gone (forgotten)."""
        try:
            self._socket.send_multipart([peer.identity, frame], zmq.NOBLOCK)
            return True
        except zmq.Again:
            return False
        except zmq.ZMQError:  # EHOSTUNREACH: the client disconnected
            self.peers.pop(peer.identity, None)
            return False

    def _tick(self) -> None:
        last = self._ring[-1].last if self._ring else 0
        for peer in list(self.peers.values()):
            if peer.live and not peer.pending:
                self._send(peer, pack("tick", last=last))

    # -- what clients say -----------------------------------------------------------------------

    def _receive(self) -> None:
        for _ in range(1000):  # then let events and other clients have a turn
            try:
                frames = self._socket.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            identity = frames[0].bytes
            try:
                message = unpack(frames[-1].bytes, MAX_CLIENT_MESSAGE) if len(frames) == 2 else unpack(b"")
            except ProtocolError as error:
                self._answer_bad(identity, str(error), frames)
                continue
            self._handle(identity, message, _peer_address(frames[-1]))

    def _handle(self, identity: bytes, message: dict, address: str) -> None:
        op, peer = message["op"], self.peers.get(identity)
        if op == "hello":
            self._hello(identity, message, address)
        elif op == "bye":  # also from a client already let go (one this server stopped sending to): nothing to refuse or log
            self.peers.pop(identity, None)
        elif peer is None:
            self._refuse(identity, address, "say hello with the run's token first")
        elif op == "command":
            self._command(peer, message)
        else:
            self._send(peer, pack("error", reason=f"unknown op {op[:40]!r}"))

    def _answer_bad(self, identity: bytes, reason: str, frames) -> None:
        peer = self.peers.get(identity)
        if peer is None:
            self._refuse(identity, _peer_address(frames[-1]), reason)
        else:
            self._send(peer, pack("error", reason=reason))

    def _hello(self, identity: bytes, message: dict, address: str) -> None:
        token = message.get("token")
        if message.get("protocol") != PROTOCOL:
            self._refuse(identity, address, f"this run speaks protocol {PROTOCOL}, the client {str(message.get('protocol'))[:20]}; "
                                            "use the same lrscope version on both ends")
        elif not isinstance(token, str) or not hmac.compare_digest(token.encode(), self.token.encode()):
            self._refuse(identity, address, "wrong token" if token else "no token")
        elif len(self.peers) >= MAX_PEERS:
            self._refuse(identity, address, f"this run already has {MAX_PEERS} clients")
        else:
            name = str(message.get("client", "client"))[:80]
            peer = Peer(identity, next(self._numbers), name, address)
            self.peers[identity] = peer
            tracker = self.run.tracker
            status = {"state": tracker.state, "step": tracker.step, "total_steps": tracker.total_steps, "dataset": tracker.dataset,
                      "model": tracker.config.get("model"), "optimizer": tracker.config.get("optimizer")}
            self._send(peer, pack("welcome", run_dir=str(self._run_dir), session=self.run.bus.session, status=status))
            if message.get("history", True):
                threading.Thread(target=self._read_history, args=(peer,), name="lrscope-serve-history", daemon=True).start()
            else:  # from now on, after the run's header: a watcher needs its length and epochs to say where it is
                peer.live, peer.covered = True, self._ring[-1].last if self._ring else 0
                # And where the run is now: the header's step is where it (re)started, which a paused run's watcher
                # took for its step ("stopped watching at step 70" of a run paused at 269).
                joined = [self._header, StateChanged(tracker.state, tracker.step, fault=tracker.fault)] if self._header else []
                self._send_history(peer, joined + self._in_progress_before(peer.covered), peer.covered, True)

    def _refuse(self, identity: bytes, address: str, reason: str) -> None:
        """Tell the client why, and log it in the run (a bounded number of times: a flood must not fill the store)."""
        self.peers.pop(identity, None)
        try:
            self._socket.send_multipart([identity, pack("refused", reason=reason)], zmq.NOBLOCK)
        except zmq.ZMQError:
            pass
        self.refusals += 1
        if self.refusals <= MAX_LOGGED_REFUSALS:
            more = "; further refusals are not logged" if self.refusals == MAX_LOGGED_REFUSALS else ""
            self.run.bus.emit(LogLine(f"refused a client{f' from {address}' if address else ''}: {reason}{more}", "warning"))

    def _command(self, peer: Peer, message: dict) -> None:
        command_id = str(message.get("id", ""))[:64]
        try:
            command = checked(from_data(message.get("command"), Command, "command"))
        except ProtocolError as error:
            self._send(peer, pack("rejected", id=command_id, reason=str(error)))
            return
        if len(self._in_flight) >= MAX_IN_FLIGHT:
            self._send(peer, pack("rejected", id=command_id, reason=f"the run already has {MAX_IN_FLIGHT:,} commands waiting; try again later"))
            return
        if not command_id or command_id in self._in_flight:
            self._send(peer, pack("rejected", id=command_id, reason="each command needs an id of its own"))
            return
        self._in_flight.add(command_id)
        self.run.send(stamped(command, command_id, peer.source))
        self._send(peer, pack("accepted", id=command_id))

    # -- late joiners ----------------------------------------------------------------------------

    def _read_history(self, peer: Peer) -> None:
        """On a helper thread: read the store (slow for a long run), then hand the result to the server thread."""
        try:
            self._histories.put((peer, *stored_history(self._run_dir, self.run.bus.session), ""))
        except Exception as error:  # an unreadable store: the client is told, the run goes on
            self._histories.put((peer, [], 0, str(error)))
        self._waker.wake()

    def _take_histories(self) -> None:
        while True:
            try:
                peer, events, through, problem = self._histories.get_nowait()
            except queue.Empty:
                return
            if peer.identity not in self.peers:
                continue
            if problem:
                self._send(peer, pack("error", reason=f"the history cannot be read: {problem}"))
            events = events + self._in_progress_before(through)
            for start in range(0, len(events), HISTORY_BLOCK):
                block = events[start:start + HISTORY_BLOCK]
                self._send_history(peer, block, through, start + HISTORY_BLOCK >= len(events))
            if not events:
                self._send_history(peer, [], through, True)
            peer.live, peer.covered = True, through
            for item in self._ring:
                peer.push(item)

    def _in_progress_before(self, through: int) -> list[Event]:
        """The start of the range test in progress, and the fault the run is paused on, when older than event
        ``through`` (the live events after it bring them otherwise)."""
        return [item.event for item in (self._range_test, self._fault) if item is not None and item.last <= through]

    def _send_history(self, peer: Peer, events: list[Event], through: int, final: bool) -> None:
        # History is sent once, right after joining, when the client's queue is empty: wait for room rather than drop.
        frame = pack("history", through=through, final=final, events=[to_data(e) for e in events])
        for _ in range(200):
            if self._send(peer, frame) or peer.identity not in self.peers:
                return
            time.sleep(0.01)


def _peer_address(frame) -> str:
    """The client's IP address as the transport saw it ("" when it cannot say)."""
    try:
        return frame.get("Peer-Address") or ""
    except (zmq.ZMQError, AttributeError, UnicodeDecodeError):
        return ""

