"""Linking a CUR cost incident to the usage-metric incident that priced it first.

A usage-metric incident opens hours before any CUR delivery shows the cost. When the
CUR later shows an excess in the same account, the usage type the metric bills as
and an overlapping time, that cost event is the confirmation of the metric incident,
not a second incident: it is re-issued under the metric incident's id, with the
estimate's error recorded (``impact_estimate_error``).

>>> estimate_error(130.0, 100.0), estimate_error(5.0, 0.0)
(0.3, None)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.events import AnomalyEvent
from shared.usage_metrics import base_usage_type

#: A CUR day judged up to this long after the metric incident ended still confirms it
#: (a spike at 23:00 bills into the next day's first hour).
LINK_SLACK = timedelta(hours=2)


def estimate_error(estimate: float, confirmed: float) -> float | None:
    """(estimate - confirmed) / confirmed; None when nothing was confirmed."""
    if abs(confirmed) < 1e-9:
        return None
    return round((estimate - confirmed) / confirmed, 4)


@dataclass
class _Open:
    incident_id: str
    account_id: str
    usage_type: str
    start: datetime
    end: datetime
    estimate_usd: float


class IncidentLinker:
    """Usage-metric incidents of one account, awaiting their CUR confirmation."""

    def __init__(self) -> None:
        self.incidents: dict[str, _Open] = {}

    def observe_metric(self, event: AnomalyEvent) -> None:
        """Remember (or refresh) a priced usage-metric incident."""
        if not event.impact_estimated or event.usage_type is None:
            return
        known = self.incidents.get(event.incident_id)
        start = known.start if known else event.window_start
        self.incidents[event.incident_id] = _Open(
            event.incident_id,
            event.account_id,
            base_usage_type(event.usage_type),
            start,
            event.window_end,
            float(event.impact_usd or 0.0),
        )

    def confirm(self, cost: AnomalyEvent, estimate_usd: float | None = None) -> AnomalyEvent:
        """``cost`` under the metric incident it confirms (or unchanged if none).

        ``estimate_usd``: the metric incident's priced excess over the cost event's
        window, when the caller has it; else the incident's running estimate.
        """
        if cost.kind != "cost" or cost.usage_type is None or cost.action == "resolve":
            return cost
        base = base_usage_type(cost.usage_type)
        for inc in self.incidents.values():
            if inc.account_id != cost.account_id or inc.usage_type != base:
                continue
            if inc.start > cost.window_end or inc.end + LINK_SLACK < cost.window_start:
                continue
            guess = inc.estimate_usd if estimate_usd is None else estimate_usd
            return cost.model_copy(
                update={
                    "incident_id": inc.incident_id,
                    "linked_incident_id": cost.incident_id,
                    "impact_estimate_error": estimate_error(guess, float(cost.impact_usd or 0.0)),
                }
            )
        return cost
