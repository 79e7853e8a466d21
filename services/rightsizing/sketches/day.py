"""One instance-day of utilisation: sketches plus an hour-of-day accumulator.

A day holds a DDSketch of the 5-minute maximum CPU, one of memory when the
CloudWatch agent reports it, the day's network bytes, and for each of the 24
hours the sum, count and maximum of CPU. Hours of day plus the date give the
hour of week, so schedules can be checked week by week without raw points.

>>> import numpy as np
>>> d = DayRecord()
>>> d.add_cpu(np.array([0, 3600 * 9]), np.array([10.0, 50.0]), period_s=300)
>>> d.hourly_mean()[[0, 9]].tolist(), d.hours_observed
([10.0, 50.0], 0.16666666666666666)
"""

from __future__ import annotations

import numpy as np

from services.rightsizing.sketches.compact import CompactSketch

HOURS_PER_DAY = 24
SECONDS_PER_DAY = 86_400
_SUM, _COUNT, _MAX = 0, 1, 2
# What a pickled day holds: cpu, mem, network bytes, cpu seconds, hourly.
_State = tuple[CompactSketch, CompactSketch | None, float | None, float, np.ndarray]


class DayRecord:
    """Bounded state for one instance and one UTC day; size independent of point count."""

    # The hour-of-day accumulator is row ``_row`` of ``_block``: the bulk path
    # gives a batch's records one shared block, so each record carries no
    # array object of its own for it (~100 B less per instance-day).
    __slots__ = ("_block", "_row", "cpu", "cpu_seconds", "mem", "net_bytes")

    def __init__(self) -> None:
        self.cpu = CompactSketch()
        self.mem: CompactSketch | None = None
        self.net_bytes: float | None = None
        self.cpu_seconds = 0.0
        # rows: CPU sum, count, max per hour of day; float32 is plenty for percentages.
        self._block = np.zeros((1, 3, HOURS_PER_DAY), dtype=np.float32)
        self._row = 0

    @classmethod
    def from_cpu(
        cls, cpu: CompactSketch, block: np.ndarray, row: int, cpu_seconds: float
    ) -> DayRecord:
        """A day built from already-summarised CPU; its hours are ``block[row]`` (the bulk path)."""
        record = cls.__new__(cls)
        record.cpu, record._block, record._row = cpu, block, row
        record.cpu_seconds, record.mem, record.net_bytes = cpu_seconds, None, None
        return record

    @property
    def hourly(self) -> np.ndarray:
        """``3 x 24`` float32: CPU sum, count and max per hour of day (a writable view)."""
        view: np.ndarray = self._block[self._row]
        return view

    @hourly.setter
    def hourly(self, value: np.ndarray) -> None:
        self._block, self._row = value.reshape(1, 3, HOURS_PER_DAY), 0

    def __getstate__(self) -> _State:
        # Pickle this day's own hours, not the whole shared block.
        return (self.cpu, self.mem, self.net_bytes, self.cpu_seconds, self.hourly.copy())

    def __setstate__(self, state: _State) -> None:
        self.cpu, self.mem, self.net_bytes, self.cpu_seconds, hourly = state
        self.hourly = hourly

    def add_cpu(self, timestamps: np.ndarray, values: np.ndarray, period_s: int) -> None:
        """Add CPU points (epoch seconds, percent) that all fall on this day."""
        self.cpu.add_many(values)
        self.cpu_seconds += float(period_s * values.size)
        hours = (timestamps % SECONDS_PER_DAY) // 3600
        self.hourly[_SUM] += np.bincount(hours, weights=values, minlength=HOURS_PER_DAY)
        self.hourly[_COUNT] += np.bincount(hours, minlength=HOURS_PER_DAY)
        maxima = np.zeros(HOURS_PER_DAY, dtype=np.float64)
        np.maximum.at(maxima, hours, values)
        np.maximum(self.hourly[_MAX], maxima, out=self.hourly[_MAX])

    def add_memory(self, values: np.ndarray) -> None:
        """Add memory-used percentages (only present with the CloudWatch agent)."""
        if self.mem is None:
            self.mem = CompactSketch()
        self.mem.add_many(values)

    def add_network(self, total_bytes: float) -> None:
        """Add network bytes (in + out) moved during the day."""
        self.net_bytes = (self.net_bytes or 0.0) + total_bytes

    @property
    def hours_observed(self) -> float:
        """Hours of CPU data this day holds."""
        return self.cpu_seconds / 3600.0

    def hourly_mean(self) -> np.ndarray:
        """Mean CPU per hour of day; NaN where the hour has no data."""
        counts = self.hourly[_COUNT]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, self.hourly[_SUM] / counts, np.nan).astype(np.float64)

    def hourly_max(self) -> np.ndarray:
        """Maximum CPU per hour of day; NaN where the hour has no data."""
        return np.where(self.hourly[_COUNT] > 0, self.hourly[_MAX], np.nan).astype(np.float64)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DayRecord):
            return NotImplemented
        return (
            self.cpu == other.cpu
            and self.mem == other.mem
            and self.net_bytes == other.net_bytes
            and self.cpu_seconds == other.cpu_seconds
            and np.array_equal(self.hourly, other.hourly)
        )
