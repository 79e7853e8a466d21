"""What each feedback verdict does to detection, in data time.

Verdicts (``shared.events.Feedback.verdict``):

- ``false_positive``: the open incident is resolved ("marked false positive"),
  and for ``fp_days`` after the incident's window (``window_end``, data time)
  the series' band is widened by ``fp_widen`` (or, with ``fp_mode="suppress"``,
  nothing opens on it at all).
- ``expected``: the change is real and intended: the incident is resolved
  ("expected by a person") and the series' detectors accept the current level
  as the new normal at once, instead of waiting for the level-shift rule. With
  a window it also quiets the series for that window, as ``planned`` does.
- ``planned``: a window declared ahead (``window_start``..``window_end``):
  inside it no incident opens on the series (or its descendants) and the points
  are not learned, so the planned activity does not bend the baseline.
- ``true_positive``: the incident is marked confirmed; detection is unchanged.

Rules live in data time (the time of the points), never wall-clock time, so a
replay reaches the same decisions. A window is half-open, ``[start, end)``,
and covers a point whose period overlaps it: a daily point (its time is the
day's midnight) is planned when any part of that day is. A window on a cost
series covers it at every granularity (``daily/1/AmazonEC2`` also quiets
``hourly/1/AmazonEC2``).

Every rule has an id (the feedback topic's key, which is compacted): a later
record with the same rule id replaces the earlier rule, so the book rebuilt
from the compacted topic equals the one that saw every record.

>>> from datetime import datetime, UTC
>>> book = FeedbackBook(FeedbackConfig())
>>> start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 3, tzinfo=UTC)
>>> book.add_planned("daily/1/AmazonEC2", start, end, rule_id="r1")
>>> book.planned("daily/1/AmazonEC2/BoxUsage", datetime(2024, 1, 2, tzinfo=UTC))
True
>>> book.planned("daily/1/AmazonEC2", end)  # the window ends before that day starts
False
>>> book.forget("r1")
>>> book.planned("daily/1/AmazonEC2", start)
False
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, TypeVar

T = TypeVar("T")

# How long a point of each cost granularity lasts; other keys (metric streams) are instants.
_PERIODS = {"daily": timedelta(days=1), "hourly": timedelta(hours=1)}
_NO_PERIOD = timedelta(0)


@dataclass(frozen=True)
class FeedbackConfig:
    """How strongly a false positive quiets its series."""

    # A week covers a full weekly cycle, so the pattern that fooled the model
    # once is allowed to recur once before the normal band applies again.
    fp_days: float = 7.0
    # Twice the band: a repeat of the same size passes, a much larger one alerts.
    fp_widen: float = 2.0
    fp_mode: Literal["widen", "suppress"] = "widen"


def _scope(series_id: str) -> tuple[str, timedelta]:
    """(the series without its granularity, how long one of its points lasts).

    >>> _scope("daily/1/AmazonEC2")
    ('1/AmazonEC2', datetime.timedelta(days=1))
    >>> _scope("i-1|CPUUtilization|Average")
    ('i-1|CPUUtilization|Average', datetime.timedelta(0))
    """
    head, _, rest = series_id.partition("/")
    period = _PERIODS.get(head)
    return (rest, period) if period is not None and rest else (series_id, _NO_PERIOD)


def _drop(index: dict[str, dict[str, T]], key: str, rule_id: str) -> None:
    rules = index.get(key, {})
    rules.pop(rule_id, None)
    if not rules:
        index.pop(key, None)


def _lineage(scope: str) -> list[str]:
    """The scope and its ancestors, most specific first."""
    parts = scope.split("/")
    return ["/".join(parts[:i]) for i in range(len(parts), 0, -1)]


@dataclass
class FeedbackBook:
    """Per-series feedback rules, each under its rule id (rebuilt from the feedback topic)."""

    config: FeedbackConfig
    # series id -> rule id -> end of the quieted period
    _fp_until: dict[str, dict[str, datetime]] = field(default_factory=dict)
    # series scope (no granularity) -> rule id -> window
    _planned: dict[str, dict[str, tuple[datetime, datetime]]] = field(default_factory=dict)
    # rule id -> (index, key) where it lives, so a replacement removes the old rule
    _where: dict[str, tuple[str, str]] = field(default_factory=dict)

    def add_false_positive(
        self, series_id: str, window_end: datetime, rule_id: str | None = None
    ) -> None:
        """Quiet ``series_id`` for ``fp_days`` after ``window_end`` (data time)."""
        rule = rule_id or f"fp:{series_id}:{window_end.isoformat()}"
        self.forget(rule)
        until = window_end + timedelta(days=self.config.fp_days)
        self._fp_until.setdefault(series_id, {})[rule] = until
        self._where[rule] = ("fp", series_id)

    def add_planned(
        self, series_id: str, start: datetime, end: datetime, rule_id: str | None = None
    ) -> None:
        """Declare a planned-activity window ``[start, end)`` on ``series_id`` and below."""
        rule = rule_id or f"planned:{series_id}:{start.isoformat()}:{end.isoformat()}"
        self.forget(rule)
        scope, _ = _scope(series_id)
        self._planned.setdefault(scope, {})[rule] = (start, end)
        self._where[rule] = ("planned", scope)

    def forget(self, rule_id: str) -> None:
        """Drop the rule (if any) recorded under ``rule_id``."""
        where = self._where.pop(rule_id, None)
        if where is None:
            return
        kind, key = where
        if kind == "fp":
            _drop(self._fp_until, key, rule_id)
        else:
            _drop(self._planned, key, rule_id)

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

    def planned(self, series_id: str, at: datetime) -> bool:
        """True if the point at ``at`` overlaps a planned window of the series or an ancestor."""
        if not self._planned:
            return False
        scope, period = _scope(series_id)
        return any(
            (start < at + period if period else start <= at) and at < end
            for sid in _lineage(scope)
            for start, end in self._planned.get(sid, {}).values()
        )

    def _quiet_until(self, series_id: str) -> datetime | None:
        rules = self._fp_until.get(series_id)
        return max(rules.values()) if rules else None

    def widen(self, series_id: str, at: datetime) -> float:
        """The band multiplier in force for ``series_id`` at ``at``."""
        until = self._quiet_until(series_id)
        if until is not None and at <= until and self.config.fp_mode == "widen":
            return self.config.fp_widen
        return 1.0

    def suppressed(self, series_id: str, at: datetime) -> bool:
        """True if no incident may open on ``series_id`` at ``at``."""
        if self.planned(series_id, at):
            return True
        until = self._quiet_until(series_id)
        return self.config.fp_mode == "suppress" and until is not None and at <= until
