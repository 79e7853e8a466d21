"""One incident per (subject, month, kind): open -> update* -> resolve, like anomalies.

The book decides which lifecycle step a new observation is, so subscribers
hear about a breach once, then only about material changes, then its end.
It can be rebuilt by replaying the alerts it emitted (``restore``).

>>> from datetime import date
>>> book = IncidentBook()
>>> book.step("b1", date(2025, 1, 1), "projected_breach", True, 120.0, scale=100.0)
('open', 0)
>>> book.step("b1", date(2025, 1, 1), "projected_breach", True, 121.0, scale=100.0)
>>> book.step("b1", date(2025, 1, 1), "projected_breach", True, 140.0, scale=100.0)
('update', 1)
>>> book.step("b1", date(2025, 1, 1), "projected_breach", False, 90.0, scale=100.0)
('resolve', 2)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.events.base import stable_id

# An open incident is updated only when its figure moved by at least 5% of the
# budget (or expected spend): smaller moves are daily noise, not news.
UPDATE_MIN_RELATIVE_CHANGE = 0.05

Key = tuple[str, date, str]


def incident_id(subject: str, month: date, kind: str) -> str:
    """The deterministic incident id shared by every step of one incident."""
    return stable_id("budget-alert", subject, month.isoformat(), kind)


@dataclass
class Incident:
    """An open incident's last reported figure and revision."""

    revision: int
    reported: float


class IncidentBook:
    """Open incidents keyed by (subject, month, kind)."""

    def __init__(self) -> None:
        self._open: dict[Key, Incident] = {}

    def is_open(self, subject: str, month: date, kind: str) -> bool:
        """Whether that incident is currently open."""
        return (subject, month, kind) in self._open

    def open_keys(self) -> list[Key]:
        """Every open incident's key."""
        return list(self._open)

    def step(
        self, subject: str, month: date, kind: str, breached: bool, figure: float, scale: float
    ) -> tuple[str, int] | None:
        """The lifecycle action (and revision) this observation causes, if any."""
        key = (subject, month, kind)
        current = self._open.get(key)
        if current is None:
            if not breached:
                return None
            self._open[key] = Incident(revision=0, reported=figure)
            return "open", 0
        if not breached:
            del self._open[key]
            return "resolve", current.revision + 1
        if abs(figure - current.reported) < UPDATE_MIN_RELATIVE_CHANGE * max(abs(scale), 1e-9):
            return None
        current.revision += 1
        current.reported = figure
        return "update", current.revision

    def close(self, subject: str, month: date, kind: str) -> int | None:
        """Resolve an open incident unconditionally; its final revision, or None."""
        current = self._open.pop((subject, month, kind), None)
        return None if current is None else current.revision + 1

    def restore(
        self, subject: str, month: date, kind: str, action: str, revision: int, figure: float
    ) -> None:
        """Fold one previously emitted step back in (rebuild after a restart)."""
        key = (subject, month, kind)
        if action == "resolve":
            self._open.pop(key, None)
        else:
            self._open[key] = Incident(revision=revision, reported=figure)
