"""What a served run keeps for a client that has not read yet: merged, superseded, bounded; never unbounded."""

import numpy as np

from engine.events import LogLine, ScheduleChanged, StepsLogged
from engine.schedules import RunSchedule, Timeline
from engine.schedules.presets import preset
from engine.serve import peer as peer_module
from engine.serve.peer import Item, Peer


def block(step):
    return StepsLogged(np.array([step]), np.array([1.0]), np.array([[0.1]]), np.array([0.9]), 100.0, 10, ("head",))


def live_peer():
    return Peer(b"id", 1, "test", "127.0.0.1", live=True)


def test_consecutive_step_blocks_merge_into_one_message_covering_their_numbers():
    peer = live_peer()
    for seq in range(1, 21):
        peer.push(Item(seq, seq, block(seq - 1)))
    assert len(peer.pending) == 1
    merged = peer.pending[0]
    assert (merged.first, merged.last) == (1, 20) and np.array_equal(merged.event.steps, np.arange(20))


def test_a_newer_schedule_change_supersedes_an_older_one_still_waiting():
    peer = live_peer()
    schedule = RunSchedule(Timeline.of(preset("cosine", 0.1, 100)))
    peer.push(Item(1, 1, ScheduleChanged(0, schedule, "a", "user")))
    peer.push(Item(2, 2, LogLine("between")))
    peer.push(Item(3, 3, ScheduleChanged(5, schedule, "b", "user")))
    assert [(i.first, i.last, type(i.event).__name__) for i in peer.pending] == [(1, 2, "LogLine"), (3, 3, "ScheduleChanged")]
    assert peer.pending[1].event.summary == "b"


def test_past_the_bound_the_oldest_messages_are_dropped_and_counted(monkeypatch):
    monkeypatch.setattr(peer_module, "MAX_PENDING", 5)
    peer = live_peer()
    for seq in range(1, 9):
        peer.push(Item(seq, seq, LogLine(f"line {seq}")))
    assert len(peer.pending) == 5 and peer.dropped == 3 and peer.pending[0].first == 4


def test_what_a_client_already_has_is_not_queued_again_and_nothing_before_it_joined():
    joining = Peer(b"id", 1, "test", "")
    joining.push(Item(1, 1, LogLine("before the history")))
    assert not joining.pending
    joining.live, joining.covered = True, 10
    joining.push(Item(9, 9, LogLine("in the history")))
    joining.push(Item(11, 11, LogLine("new")))
    assert [(i.first, i.last) for i in joining.pending] == [(11, 11)]
    assert joining.pending[0].frame().startswith(b'{"op":"event","first":11,"last":11,"event":{"type":"LogLine"')
