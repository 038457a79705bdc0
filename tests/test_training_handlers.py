"""Handlers attached to a job: hooks, cadence, the gradients between backward and the update, state in checkpoints."""

import pytest
import torch
from helpers import Events, tiny_config

from engine.commands import Stop
from engine.events import EpochEnded, StepsLogged
from engine.training.hooks import Hook, StepInfo
from engine.training.job import TrainingJob


def job_with(digits16, **changes):
    job = TrainingJob(tiny_config(**changes), digits16)
    events = Events()
    job.bus.subscribe(events)
    return job, events


def test_every_hook_fires_at_its_point_with_its_cadence(digits16):
    job, _ = job_with(digits16)
    seen = []
    for hook, every in [(Hook.RUN_STARTED, 1), (Hook.STEP_STARTED, 1), (Hook.STEP_COMPLETED, 5), (Hook.BLOCK_FLUSHED, 1),
                        (Hook.EPOCH_COMPLETED, 1), (Hook.RUN_ENDED, 1)]:
        job.add_handler(hook, lambda j, payload, hook=hook: seen.append((hook, payload, j.step)), every=every)
    job.run()
    by_hook = {hook: [(p, s) for h, p, s in seen if h is hook] for hook in Hook}
    assert by_hook[Hook.RUN_STARTED] == [(None, 0)] and by_hook[Hook.RUN_ENDED] == [("finished", 22)]
    assert [p.step for p, _ in by_hook[Hook.STEP_STARTED]] == list(range(22))
    assert [(p.step, s) for p, s in by_hook[Hook.STEP_COMPLETED]] == [(4, 5), (9, 10), (14, 15), (19, 20)]
    assert all(isinstance(p, StepInfo) and p.loss is not None and p.samples == 64 for p, _ in by_hook[Hook.STEP_COMPLETED])
    assert all(isinstance(p, StepsLogged) for p, _ in by_hook[Hook.BLOCK_FLUSHED]) and by_hook[Hook.BLOCK_FLUSHED]
    assert [(type(p), p.epoch) for p, _ in by_hook[Hook.EPOCH_COMPLETED]] == [(EpochEnded, 0)]
    assert [h for h, _, _ in seen].index(Hook.RUN_STARTED) == 0 and seen[-1][0] is Hook.RUN_ENDED


def test_after_backward_sees_the_gradients_before_the_weights_move_and_changes_nothing(digits16):
    reference, reference_events = job_with(digits16)
    reference.run()
    job, events = job_with(digits16)
    weights, norms = {}, []

    def before(j, info):
        weights[info.step] = [p.detach().clone() for p in j.session.model.parameters()]

    def after_backward(j, info):
        params = list(j.session.model.parameters())
        assert all(p.grad is not None for p in params)
        assert all(torch.equal(p, w) for p, w in zip(params, weights[info.step]))  # not updated yet
        norms.append(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params])))  # stays on the device

    def after(j, info):
        assert not all(torch.equal(p, w) for p, w in zip(j.session.model.parameters(), weights[info.step]))

    job.add_handler(Hook.STEP_STARTED, before, every=3)
    job.add_handler(Hook.AFTER_BACKWARD, after_backward, every=3)
    job.add_handler(Hook.STEP_COMPLETED, after, every=3)
    job.run()
    assert len(norms) == 7 and all(float(n) > 0 for n in norms)
    assert torch.equal(torch.as_tensor(events.steps()[1]), torch.as_tensor(reference_events.steps()[1]))


@pytest.mark.parametrize("hook, every, message", [
    (Hook.STEP_COMPLETED, 0, "every must be a whole number from 1"),
    (Hook.STEP_COMPLETED, 2.5, "every must be a whole number from 1"),
    (Hook.RUN_ENDED, 3, "RUN_ENDED comes once per run"),
])
def test_a_bad_cadence_is_refused(digits16, hook, every, message):
    job, _ = job_with(digits16)
    with pytest.raises(ValueError, match=message):
        job.add_handler(hook, lambda j, p: None, every=every)


def test_a_failing_handler_fails_the_run_with_its_message(digits16):
    job, events = job_with(digits16)

    def broken(j, info):
        raise RuntimeError("the probe broke")

    job.add_handler(Hook.STEP_COMPLETED, broken, every=7)
    outcome = job.run()
    assert outcome.state == "failed" and outcome.step == 7 and "RuntimeError: the probe broke" in outcome.message
    assert events.states()[-1] == "failed"


class Counter:
    """A stateful handler: how many steps it saw, kept in checkpoints."""

    state_key = "counter"

    def __init__(self):
        self.count = 0

    def __call__(self, job, info):
        self.count += 1

    def state_dict(self):
        return {"count": self.count}

    def load_state_dict(self, state):
        self.count = state["count"]


def test_a_handlers_state_is_checkpointed_and_restored_on_resume(digits16):
    job, _ = job_with(digits16, epochs=2)
    counter = Counter()
    job.add_handler(Hook.STEP_COMPLETED, counter)
    job.add_handler(Hook.EPOCH_COMPLETED, lambda j, e: j.send(Stop()))
    assert job.run().state == "stopped" and counter.count == 22
    payload = job.checkpoint_payload()
    resumed = TrainingJob(tiny_config(epochs=2), digits16, resume=payload)
    again = Counter()
    resumed.add_handler(Hook.STEP_COMPLETED, again)
    assert again.count == 22
    resumed.run()
    assert again.count == 44
