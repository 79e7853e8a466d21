"""Incident windows per cost series, and the history with those days imputed.

A cost anomaly (a spike the anomaly service opened) or a restated day (a late
credit) is not the series' usual behaviour: fitted as if it were, it drags the
level, the trend and the calibrated intervals of every forecast after it. The
forecast service therefore keeps, per series, the windows of open and recent
cost incidents from the anomalies topic and the days named on the restatements
topic, and before a refresh replaces those days by a robust local baseline (the
median of the same weekday in the weeks around, or of earlier months' first days
for a 1st). Models, backtests and calibration all see the imputed history; the
month-to-date actual and every alert keep the real costs.

An incident on a usage-type series moves its service and account series too
(they are sums), so windows are filed under the series and its ancestors, and
under ``related_series``. Hourly series ids map to their daily ones.

>>> from datetime import date
>>> h = DailyHistory(date(2025, 1, 1), np.array([10.0] * 21 + [90.0] + [10.0] * 6))
>>> w = IncidentWindow("inc-1", "anomaly", date(2025, 1, 22), date(2025, 1, 22))
>>> fixed, days = impute(h, (w,))
>>> (float(fixed.values[21]), days)
(10.0, 1)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

import numpy as np

from services.forecast.models.base import DailyHistory
from shared.events import AnomalyEvent, CostRestated
from shared.events.costs import series_parts

IncidentSource = Literal["anomaly", "restatement"]


@dataclass(frozen=True)
class ImputeConfig:
    """How incident days are replaced (chosen on the validation families)."""

    # Same-weekday neighbours on each side used for the baseline (weeks).
    weeks: int = 4
    # A window longer than this is a new level, not an incident: left as it is.
    max_window_days: int = 21


@dataclass(frozen=True)
class IncidentWindow:
    """Days of one incident on one series; ``end`` None while it is open."""

    incident_id: str
    source: IncidentSource
    start: date
    end: date | None

    def days(self, last: date) -> tuple[date, date]:
        """First and last day covered, an open window running to ``last``."""
        return self.start, self.end if self.end is not None else max(last, self.start)


def _last_day(start: datetime, end: datetime) -> date:
    # Windows end exclusive at a period boundary: the last day is the one before it.
    return (end - timedelta(microseconds=1)).date() if end > start else start.date()


def affected_series(series_id: str, related: list[str] | tuple[str, ...] = ()) -> set[str]:
    """The daily series an incident on ``series_id`` moves: it, its ancestors, related.

    >>> sorted(affected_series("hourly/111/AmazonEC2/BoxUsage"))
    ['daily/111', 'daily/111/AmazonEC2', 'daily/111/AmazonEC2/BoxUsage']
    """
    out: set[str] = set()
    for sid in (series_id, *related):
        granularity, account, service, usage_type = series_parts(sid)
        if granularity is None or "#" in sid:  # tag series: not forecast by level
            continue
        out.add(f"daily/{account}")
        if service:
            out.add(f"daily/{account}/{service}")
            if usage_type:
                out.add(f"daily/{account}/{service}/{usage_type}")
    return out


class IncidentBook:
    """Every series' incident windows, bounded to the history the service keeps."""

    def __init__(self, keep_days: int) -> None:
        self.keep_days = keep_days
        self._windows: dict[str, dict[str, IncidentWindow]] = {}

    def on_anomaly(self, event: AnomalyEvent) -> set[str]:
        """Fold in one cost incident's lifecycle step; returns the series it changed."""
        if event.kind != "cost":
            return set()
        window = IncidentWindow(
            event.incident_id,
            "anomaly",
            event.window_start.date(),
            _last_day(event.window_start, event.window_end) if event.action == "resolve" else None,
        )
        return self._file(affected_series(event.series_id, event.related_series), window)

    def on_restatement(self, event: CostRestated) -> set[str]:
        """A restated day is filed as a one-day window of its series and ancestors."""
        day = event.period_start.date()
        window = IncidentWindow(event.id, "restatement", day, day)
        return self._file(affected_series(event.series_id), window)

    def _file(self, series: set[str], window: IncidentWindow) -> set[str]:
        changed = set()
        for sid in series:
            held = self._windows.setdefault(sid, {})
            before = held.get(window.incident_id)
            if before is not None:  # an update keeps the incident's first day
                window = IncidentWindow(
                    window.incident_id, window.source, min(before.start, window.start), window.end
                )
            if before != window:
                held[window.incident_id] = window
                changed.add(sid)
            self._prune(held, window.end or window.start)
        return changed

    def _prune(self, held: dict[str, IncidentWindow], newest: date) -> None:
        cutoff = newest - timedelta(days=self.keep_days)
        for key in [k for k, w in held.items() if w.end is not None and w.end < cutoff]:
            del held[key]

    def windows(self, series_id: str) -> tuple[IncidentWindow, ...]:
        """The series' windows, oldest first."""
        return tuple(sorted(self._windows.get(series_id, {}).values(), key=lambda w: w.start))

    def drop(self, series_ids: list[str]) -> None:
        """Forget series another replica now owns."""
        for sid in series_ids:
            self._windows.pop(sid, None)


def incident_mask(
    history: DailyHistory, windows: tuple[IncidentWindow, ...], config: ImputeConfig
) -> np.ndarray:
    """True on the history's days inside an incident window short enough to impute."""
    mask = np.zeros(len(history), dtype=bool)
    if not len(history):
        return mask
    for w in windows:
        first, last = w.days(history.last_date)
        if (last - first).days + 1 > config.max_window_days:
            continue
        lo = max((first - history.start).days, 0)
        hi = min((last - history.start).days + 1, len(history))
        if lo < hi:
            mask[lo:hi] = True
    return mask


def _baseline(
    values: np.ndarray, mask: np.ndarray, i: int, firsts: np.ndarray, weeks: int
) -> float:
    if firsts[i]:  # a 1st carries month-start charges: compare with earlier 1sts
        same = [j for j in np.flatnonzero(firsts) if j != i and not mask[j]]
        if same:
            return float(np.median(values[same]))
    near = [i + 7 * k for k in range(-weeks, weeks + 1) if k and 0 <= i + 7 * k < len(values)]
    near = [j for j in near if not mask[j] and not firsts[j]]
    if near:
        return float(np.median(values[near]))
    return float(values[i])


def impute(
    history: DailyHistory,
    windows: tuple[IncidentWindow, ...],
    config: ImputeConfig | None = None,
) -> tuple[DailyHistory, int]:
    """The history with incident days replaced by their local baseline; days replaced."""
    config = config or ImputeConfig()
    mask = incident_mask(history, windows, config)
    if not mask.any():
        return history, 0
    firsts = np.array([d.day == 1 for d in history.dates()])
    values = history.values.astype(float).copy()
    for i in np.flatnonzero(mask):
        values[i] = _baseline(history.values, mask, int(i), firsts, config.weeks)
    return DailyHistory(history.start, values), int(mask.sum())
