"""One rank of the distributed tests' run, started by torchrun: `torchrun … tests/distributed_worker.py OUT`.

It trains the small CNN without BatchNorm and dropout (so that two processes can equal one) through the
engine's own wiring (``InProcessRun``), steers it through its handle on rank 0 — a schedule edit, then a
range test — then, to prove that the replica check is real, changes rank 1's schedule behind the sync's
back. Each rank writes what it saw to OUT/rank-N.json.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import torch
from helpers import SAMPLE
from torch import nn

EDITED_LR, DIVERGED_LR = 0.02, 0.03


def without_normalization(channels: int, classes: int, resolution: int) -> nn.Module:
    """The small CNN with its BatchNorm and dropout layers taken out (same layer indices, same groups)."""
    from engine.models import small_cnn

    model = small_cnn.build(channels, classes, resolution)
    for sequence in (model.features, model.head):
        for index, module in enumerate(sequence):
            if isinstance(module, (nn.BatchNorm2d, nn.Dropout)):
                sequence[index] = nn.Identity()
    return model


def use_model_without_normalization() -> None:
    """Make "small_cnn" build the normalization-free variant in this process."""
    from engine.models import registry

    registry.MODELS["small_cnn"] = replace(registry.MODELS["small_cnn"], build=without_normalization)


def config(world_size: int, per_process_batch: int):
    """The run both the 2-process run and its 1-process reference train (the same global batch)."""
    from engine.config import TrainConfig

    return TrainConfig(data=str(SAMPLE), epochs=2, batch_size=per_process_batch, world_size=world_size, image_size=16, lr=0.05,
                       shape="cosine", augment="none", device="cpu", momentum=0.9, explode_factor=0)


class Observer:
    """What one rank sees: its applied LRs, the (averaged) losses, the steps commands were applied at, range-test restore."""

    def __init__(self, run, world):
        self.run, self.world = run, world
        self.seen = {"rank": world.rank, "steps": [], "lrs": [], "losses": [], "applied": [], "faults": [], "restored": None}
        self._before = None
        self._sent = set()

    def __call__(self, event) -> None:
        from engine.events import CommandApplied, FaultRaised, StateChanged, StepsLogged
        from engine.training.state import capture

        if isinstance(event, StepsLogged):
            self.seen["steps"] += event.steps.tolist()
            self.seen["lrs"] += event.lrs.tolist()
            self.seen["losses"] += event.losses.tolist()
            self._steer(int(event.steps[-1]))
        elif isinstance(event, StateChanged) and event.state == "range_test":
            self._before = capture(self.run.job.session)
        elif isinstance(event, CommandApplied):
            self.seen["applied"].append([event.kind, event.step, event.applied])
            if event.kind == "StartRangeTest":
                self.seen["restored"] = same_state(self._before, capture(self.run.job.session))
        elif isinstance(event, FaultRaised):
            self.seen["faults"].append([event.kind, event.step, event.message])
            if self.world.leader:
                self._send("stop")

    def applied_at(self, kind: str) -> int | None:
        """The step this rank applied its first command of ``kind`` at (None: not yet)."""
        return next((step for name, step, _ in self.seen["applied"] if name == kind), None)

    def _steer(self, step: int) -> None:
        """Rank 0: the edit at the first block, the range test once the edit is in."""
        if self.world.leader:
            self._send("edit")
            if self.applied_at("EditSchedule") is not None:
                self._send("range test")

    def _send(self, what: str) -> None:
        from engine.commands import EditSchedule, StartRangeTest, Stop
        from engine.range_test.settings import RangeTestSettings
        from engine.schedules import SetConstant

        if what in self._sent:
            return
        self._sent.add(what)
        command = {"edit": lambda: EditSchedule(SetConstant(EDITED_LR)), "stop": Stop,
                   "range test": lambda: StartRangeTest(RangeTestSettings(iterations=12))}[what]()
        self.run.send(command)


def same_state(before, after) -> bool:
    """Whether two captures of a training state are exactly equal."""
    if isinstance(before, torch.Tensor):
        return isinstance(after, torch.Tensor) and before.shape == after.shape and bool(torch.equal(before, after))
    if isinstance(before, dict):
        return before.keys() == after.keys() and all(same_state(before[k], after[k]) for k in before)
    if isinstance(before, (list, tuple)):
        return len(before) == len(after) and all(same_state(a, b) for a, b in zip(before, after))
    return before == after


def diverging(observer: Observer):
    """A STEP_STARTED handler for rank 1 that changes its schedule alone (as a command applied on one rank only would)
    25 steps after the range test."""
    from engine.schedules import SetConstant

    def diverge(job, info) -> None:
        tested = observer.applied_at("StartRangeTest")
        if tested is not None and info.step == tested + 25:
            job.edit(SetConstant(DIVERGED_LR))
    return diverge


def main(out: Path) -> None:
    from engine.distributed.world import join, leave

    world = join("cpu")
    seen = train_and_steer(world, out)  # the run is gone by now: no process group outlives leave()
    (out / f"rank-{world.rank}.json").write_text(json.dumps(seen))
    leave()


def train_and_steer(world, out: Path) -> dict:
    """Train the shared run on this rank, steered as the module says; what this rank saw."""
    from engine.data import prepare_dataset
    from engine.distributed import replicas
    from engine.run import InProcessRun, NewRun
    from engine.schedules.history_codec import run_schedule_to_dict
    from engine.training.hooks import Hook

    use_model_without_normalization()
    # Blocks of 0.05 s instead of 0.5 s: the edit, the range test and rank 1's divergence each wait for a block, and all
    # must fall inside these 88 steps however fast the machine trains them.
    replicas.BLOCK_SECONDS = 0.05
    run = InProcessRun(NewRun(config(world.size, 16), prepare_dataset(SAMPLE, resolution=16), None, out / "runs"))
    observer = Observer(run, world)
    run.subscribe(observer)
    run.prepare()
    if world.rank == 1:
        run.job.add_handler(Hook.STEP_STARTED, diverging(observer))
    result = run.run()
    observer.seen.update(state=result.state, step=result.step, run_schedule=run_schedule_to_dict(run.job.run_schedule),
                         run_dir=str(run.run_dir or ""))
    return observer.seen


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main(Path(sys.argv[1]))
