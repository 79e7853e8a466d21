"""Bounded per-series daily history, fed by CostPoints, with change tracking.

Only daily points of the configured levels are kept. A later value for the
same day supersedes the earlier one (that is the topic's contract), and a
series is marked changed only when a value actually changes, so redelivered
records cost nothing at refresh time.

>>> from datetime import date
>>> store = HistoryStore(max_days=3)
>>> for d in (1, 2, 3, 5):
...     _ = store.upsert("s", "a", None, date(2025, 1, d), 1.0)
>>> h = store.snapshot("s")
>>> (h.start.isoformat(), h.values.tolist())
('2025-01-03', [1.0, 0.0, 1.0])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from services.forecast.models.base import DailyHistory


@dataclass
class SeriesState:
    """The days kept for one series and who it belongs to."""

    account_id: str
    service: str | None
    days: dict[date, float] = field(default_factory=dict)


class HistoryStore:
    """Every series' bounded history plus the set changed since the last refresh."""

    def __init__(self, max_days: int) -> None:
        self.max_days = max_days
        self._series: dict[str, SeriesState] = {}
        self._changed: set[str] = set()

    def __len__(self) -> int:
        return len(self._series)

    def __contains__(self, series_id: object) -> bool:
        return series_id in self._series

    def series_ids(self) -> list[str]:
        """Every series held."""
        return list(self._series)

    def state(self, series_id: str) -> SeriesState:
        """One series' state (KeyError if unknown)."""
        return self._series[series_id]

    def upsert(
        self, series_id: str, account_id: str, service: str | None, day: date, cost: float
    ) -> bool:
        """Store one day's cost; True if the series changed."""
        state = self._series.get(series_id)
        if state is None:
            state = self._series[series_id] = SeriesState(account_id, service)
        if state.days.get(day) == cost:
            return False
        newest = max(state.days) if state.days else day
        if (newest - day).days >= self.max_days:
            return False  # older than the window we keep: nothing to learn from it
        state.days[day] = cost
        self._trim(state)
        self._changed.add(series_id)
        return True

    def _trim(self, state: SeriesState) -> None:
        cutoff = max(state.days) - timedelta(days=self.max_days - 1)
        for old in [d for d in state.days if d < cutoff]:
            del state.days[old]

    def pending(self) -> bool:
        """Whether any series changed since the last refresh."""
        return bool(self._changed)

    def take_changed(self) -> list[str]:
        """The series changed since the last call (and forget them)."""
        changed, self._changed = sorted(self._changed), set()
        return changed

    def mark_changed(self, series_ids: list[str]) -> None:
        """Put series back on the to-do list (a refresh that failed)."""
        self._changed.update(s for s in series_ids if s in self._series)

    def drop(self, series_ids: list[str]) -> None:
        """Forget series (their partition moved to another replica)."""
        for series_id in series_ids:
            self._series.pop(series_id, None)
            self._changed.discard(series_id)

    def snapshot(self, series_id: str) -> DailyHistory:
        """A contiguous copy of the series; missing days inside it cost 0."""
        days = self._series[series_id].days
        start, end = min(days), max(days)
        values = np.zeros((end - start).days + 1)
        for d, v in days.items():
            values[(d - start).days] = v
        return DailyHistory(start, values)
