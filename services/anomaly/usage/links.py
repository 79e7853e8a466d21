"""The cost loop's view of an account's usage-metric incidents, to join the CUR to them.

The cost loop co-consumes the compacted ``usage-incidents`` topic (partitioned by
account, like the line items) into one :class:`UsageLinks` per account. When a
cost incident of the same usage type and time appears, :meth:`UsageLinks.join`
re-issues each of its events under the metric incident's id (``open`` becomes an
``update`` of it, at the next odd revision above the metric's latest: the usage
loop publishes even ones, so the two writers never collide), with the estimate's
error over the cost event's own window: the metric incident's cumulative priced
excess at the window's end minus at its start (from its hourly updates).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.anomaly.usage.link import IncidentLinker, estimate_error
from shared.events import AnomalyEvent

#: Usage incidents ended this long before the newest one are forgotten (CUR lands
#: 8-24 h late and restates for days; a week covers it).
KEEP_FOR = timedelta(days=7)


@dataclass
class UsageLinks:
    """One account's usage incidents (as the linker sees them) and the links made."""

    linker: IncidentLinker = field(default_factory=IncidentLinker)
    #: incident id -> [(window end, cumulative priced excess)], in time order.
    marks: dict[str, list[tuple[datetime, float]]] = field(default_factory=dict)
    revision: dict[str, int] = field(default_factory=dict)
    #: cost incident id -> the metric incident it joined.
    links: dict[str, str] = field(default_factory=dict)
    source_offset: int = -1

    def observe(self, event: AnomalyEvent) -> None:
        """Remember a usage incident's latest lifecycle event."""
        if not event.impact_estimated:
            return
        self.linker.observe_metric(event)
        marks = self.marks.setdefault(event.incident_id, [])
        if not marks or marks[-1][0] < event.window_end:
            marks.append((event.window_end, float(event.impact_usd or 0.0)))
        self.revision[event.incident_id] = max(
            self.revision.get(event.incident_id, -1), event.revision
        )
        horizon = event.window_end - KEEP_FOR
        for incident_id, inc in list(self.linker.incidents.items()):
            if inc.end < horizon:
                del self.linker.incidents[incident_id]
                self.marks.pop(incident_id, None)
                self.revision.pop(incident_id, None)
        known = set(self.linker.incidents)
        self.links = {c: m for c, m in self.links.items() if m in known}

    def estimate(self, incident_id: str, start: datetime, end: datetime) -> float:
        """The metric incident's priced excess inside ``[start, end)``."""
        marks = self.marks.get(incident_id, [])
        ends = [t for t, _ in marks]

        def at(t: datetime) -> float:
            i = bisect_right(ends, t)
            return marks[i - 1][1] if i else 0.0

        return at(end) - at(start)

    def join(self, cost: AnomalyEvent) -> AnomalyEvent:
        """``cost`` re-issued under the usage incident it confirms, or unchanged."""
        target = self.links.get(cost.incident_id)
        if target is None:
            found = self.linker.confirm(cost)
            if found.incident_id == cost.incident_id:
                return cost
            target = self.links[cost.incident_id] = found.incident_id
        revision = self.revision.get(target, -1) + 1
        revision += 1 - revision % 2  # odd: the usage loop publishes the even ones
        self.revision[target] = revision
        estimate = self.estimate(target, cost.window_start, cost.window_end)
        return cost.model_copy(
            update={
                "incident_id": target,
                "linked_incident_id": cost.incident_id,
                "action": "update" if cost.action == "open" else cost.action,
                "revision": revision,
                "impact_estimate_error": estimate_error(estimate, float(cost.impact_usd or 0.0)),
            }
        )
