"""Growing numpy buffers for live curves: appends are amortized O(1) and reading is a view, no copy."""

from __future__ import annotations

import numpy as np


class CurveBuffer:
    """Columns of float64 that grow by doubling; ``view()`` gives the filled part."""

    def __init__(self, columns: int = 1, capacity: int = 4096):
        self._data = np.empty((capacity, columns))
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def extend(self, rows: np.ndarray) -> None:
        """Append rows (shape (n,) for one column or (n, columns))."""
        if not len(rows):  # a run stopped before its first step was stored has none (Compare raised here)
            return
        rows = np.asarray(rows, dtype=float).reshape(len(rows), -1)
        needed = self.size + len(rows)
        if needed > len(self._data):
            grown = np.empty((max(needed, 2 * len(self._data)), self._data.shape[1]))
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size:needed] = rows
        self.size = needed

    def truncate(self, size: int) -> None:
        """Forget every row from ``size`` on."""
        self.size = min(self.size, max(0, size))

    def keep_before(self, value: float, column: int = 0) -> None:
        """Forget rows from the first whose ``column`` is at least ``value`` (rows are sorted by it)."""
        self.truncate(int(np.searchsorted(self.view(column), value, side="left")))

    def clear(self) -> None:
        """Forget every row."""
        self.size = 0

    def view(self, column: int | None = None) -> np.ndarray:
        """The filled rows (one column, or all)."""
        filled = self._data[: self.size]
        return filled if column is None else filled[:, column]


class TrailingMean:
    """Mean of the last ``window`` finite values at every point, kept incrementally with running sums."""

    def __init__(self):
        self._sums = CurveBuffer(2)
        self._total = np.zeros(2)

    def __len__(self) -> int:
        return len(self._sums)

    def extend(self, values: np.ndarray) -> None:
        """Append values (NaN and inf are left out of the means)."""
        values = np.asarray(values, dtype=float)
        finite = np.isfinite(values)
        rows = np.column_stack([np.where(finite, values, 0.0), finite.astype(float)])
        sums = self._total + np.cumsum(rows, axis=0)
        self._sums.extend(sums)
        self._total = sums[-1] if len(sums) else self._total

    def truncate(self, size: int) -> None:
        """Forget every value from ``size`` on."""
        self._sums.truncate(size)
        self._total = self._sums.view()[-1] if len(self._sums) else np.zeros(2)

    def means(self, window: int) -> np.ndarray:
        """The trailing mean at every point (NaN where the window holds no finite value)."""
        sums = self._sums.view()
        totals = sums.copy()
        window = max(1, int(window))
        if window < len(sums):
            totals[window:] -= sums[:-window]
        with np.errstate(invalid="ignore", divide="ignore"):
            return totals[:, 0] / totals[:, 1]

    def means_at(self, indices: np.ndarray, window: int) -> np.ndarray:
        """The trailing mean at the given points only (how a long run's smoothed curve is drawn)."""
        sums = self._sums.view()
        window = max(1, int(window))
        totals = sums[indices].copy()
        earlier = indices - window
        totals[earlier >= 0] -= sums[earlier[earlier >= 0]]
        with np.errstate(invalid="ignore", divide="ignore"):
            return totals[:, 0] / totals[:, 1]
