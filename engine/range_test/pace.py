"""How far a range test is and how long it has left, from the pace it has kept so far.

The announcement's estimate is timed on one step before the test runs; on a machine that gets busier
(another training job, a compile) it can be off several times over, so progress carries a running one.
"""

from __future__ import annotations

import math
import time

# Below this share of the test the pace is the slow first steps' (a warm-up, a cache filling): "1% done, about 6 min left"
# for a test that ended a minute later.
FIRST_ESTIMATE_AT = 0.05


class Pace:
    """Points done out of ``per_repeat`` × ``repeats``; the time left at the pace since ``begin()``."""

    def __init__(self, per_repeat: int, repeats: int):
        self.per_repeat = max(1, per_repeat)
        self.repeats = max(1, repeats)
        self.points = self.repeat = 0
        self.started = time.perf_counter()  # begin(0) sets it again, where the test's points begin

    def begin(self, repeat: int) -> None:
        """Repeat ``repeat`` starts (the first one starts the clock; a sweep that stopped early ended its repeat)."""
        if repeat == 0:
            self.started = time.perf_counter()
        self.repeat, self.points = repeat, 0

    def advance(self, points: int) -> tuple[float, float]:
        """``points`` more of the current repeat are done: (fraction of the whole test done, seconds left; NaN until
        FIRST_ESTIMATE_AT of it is done)."""
        self.points = min(self.per_repeat, self.points + points)
        fraction = (self.repeat + self.points / self.per_repeat) / self.repeats
        elapsed = time.perf_counter() - self.started
        return fraction, elapsed * (1 - fraction) / fraction if fraction >= FIRST_ESTIMATE_AT else math.nan
