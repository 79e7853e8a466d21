"""What each feedback verdict does to detection, in data time.

Verdicts (``shared.events.Feedback.verdict``):

- ``false_positive``: the open incident is resolved ("marked false positive"),
  and for ``fp_days`` after the flagged window the series' band is widened by
  ``fp_widen`` (or, with ``fp_mode="suppress"``, nothing opens on it at all).
- ``expected``: the change is real and intended: the incident is resolved
  ("expected by a person") and the series' detectors accept the current level
  as the new normal at once, instead of waiting for the level-shift rule.
- ``planned``: a window declared ahead (``window_start``..``window_end``):
  inside it no incident opens on the series (or its descendants) and the points
  are not learned, so the planned activity does not bend the baseline.
- ``true_positive``: the incident is marked confirmed; detection is unchanged.

Rules live in data time (the window of the points), never wall-clock time, so a
replay reaches the same decisions.

>>> from datetime import datetime, UTC
>>> book = FeedbackBook(FeedbackConfig())
>>> start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 3, tzinfo=UTC)
>>> book.add_planned("daily/1/AmazonEC2", start, end)
>>> book.planned("daily/1/AmazonEC2/BoxUsage", datetime(2024, 1, 2, tzinfo=UTC))
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal


@dataclass(frozen=True)
class FeedbackConfig:
    """How strongly a false positive quiets its series."""

    # A week covers a full weekly cycle, so the pattern that fooled the model
    # once is allowed to recur once before the normal band applies again.
    fp_days: float = 7.0
    # Twice the band: a repeat of the same size passes, a much larger one alerts.
    fp_widen: float = 2.0
    fp_mode: Literal["widen", "suppress"] = "widen"


@dataclass
class FeedbackBook:
    """Per-series feedback rules (rebuilt from the feedback topic)."""

    config: FeedbackConfig
    _fp_until: dict[str, datetime] = field(default_factory=dict)
    _planned: dict[str, list[tuple[datetime, datetime]]] = field(default_factory=dict)

    def add_false_positive(self, series_id: str, window_end: datetime) -> None:
        """Quiet ``series_id`` for ``fp_days`` after ``window_end``."""
        until = window_end + timedelta(days=self.config.fp_days)
        if until > self._fp_until.get(series_id, until - timedelta(seconds=1)):
            self._fp_until[series_id] = until

    def add_planned(self, series_id: str, start: datetime, end: datetime) -> None:
        """Declare a planned-activity window on ``series_id`` and its descendants."""
        windows = self._planned.setdefault(series_id, [])
        if (start, end) not in windows:
            windows.append((start, end))

    @property
    def active(self) -> bool:
        """Whether any rule is in the book (the hot path skips lookups when none is)."""
        return bool(self._fp_until or self._planned)

    def rules(self, series_id: str, at: datetime) -> tuple[float, bool, bool]:
        """(band multiplier, suppressed, planned) for one point, in one call."""
        if not self._fp_until and not self._planned:
            return 1.0, False, False  # the hot path: no feedback at all
        planned = self.planned(series_id, at)
        return self.widen(series_id, at), planned or self.suppressed(series_id, at), planned

    def _lineage(self, series_id: str) -> list[str]:
        parts = series_id.split("/")
        return ["/".join(parts[:i]) for i in range(len(parts), 0, -1)]

    def planned(self, series_id: str, at: datetime) -> bool:
        """True if ``at`` falls in a planned window of the series or an ancestor."""
        return any(
            start <= at <= end
            for sid in self._lineage(series_id)
            for start, end in self._planned.get(sid, ())
        )

    def widen(self, series_id: str, at: datetime) -> float:
        """The band multiplier in force for ``series_id`` at ``at``."""
        until = self._fp_until.get(series_id)
        if until is not None and at <= until and self.config.fp_mode == "widen":
            return self.config.fp_widen
        return 1.0

    def suppressed(self, series_id: str, at: datetime) -> bool:
        """True if no incident may open on ``series_id`` at ``at``."""
        if self.planned(series_id, at):
            return True
        until = self._fp_until.get(series_id)
        return self.config.fp_mode == "suppress" and until is not None and at <= until
