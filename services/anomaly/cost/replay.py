"""Run the service's cost engine over a daily cost frame, as deliveries would.

Each day is judged once it is complete (the service does this when a delivery
shows a later day); a restated day is first judged on its original value and
re-judged when the restating delivery lands two days later.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd

from services.anomaly.cost.engine import AccountCostEngine, CostEngineConfig
from services.anomaly.feedback.rules import FeedbackBook, FeedbackConfig
from shared.events import AnomalyEvent

Leaf = tuple[str, str]
# The simulator's restating delivery lands a couple of days after the first one.
RESTATEMENT_LAG_DAYS = 2


@dataclass(frozen=True)
class FoundIncident:
    """One incident as the scorer sees it (end exclusive)."""

    incident_id: str
    names: tuple[str, ...]
    start: date
    end: date
    top_usage_type: str | None = None
    top_usage_share: float = 0.0


def daily_leaves(frame: pd.DataFrame) -> dict[str, dict[date, dict[Leaf, float]]]:
    """Account -> day -> (service, usage type) -> cost."""
    grouped = frame.groupby(["account_id", "date", "service", "usage_type"], sort=True)[
        "cost"
    ].sum()
    out: dict[str, dict[date, dict[Leaf, float]]] = defaultdict(lambda: defaultdict(dict))
    for (account, day, service, usage_type), cost in grouped.items():
        out[str(account)][pd.Timestamp(day).date()][(str(service), str(usage_type))] = float(cost)
    return out


def daily_regions(
    frame: pd.DataFrame,
) -> dict[str, dict[date, dict[Leaf, dict[str, dict[str, float]]]]]:
    """Account -> day -> leaf -> {"region": {region: cost}}."""
    grouped = frame.groupby(["account_id", "date", "service", "usage_type", "region"])["cost"].sum()
    out: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(lambda: {"region": {}})))
    for (account, day, service, usage_type, region), cost in grouped.items():
        out[str(account)][pd.Timestamp(day).date()][(str(service), str(usage_type))]["region"][
            str(region)
        ] = float(cost)
    return out


def run_engine(
    frame: pd.DataFrame,
    originals: Mapping[tuple[str, str, str, date], float],
    config: CostEngineConfig | None = None,
) -> list[AnomalyEvent]:
    """All lifecycle events the engine emits over ``frame``.

    ``originals`` maps (account, service, usage type, day) to the value the first
    delivery showed for a day a later delivery restated.
    """
    leaves = daily_leaves(frame)
    regions = daily_regions(frame)
    book = FeedbackBook(FeedbackConfig())
    events: list[AnomalyEvent] = []
    for account, days in sorted(leaves.items()):
        engine = AccountCostEngine(account, config)
        pending: dict[date, date] = {}
        for day in sorted(days):
            values = dict(days[day])
            for (acct, service, usage_type, when), original in originals.items():
                if acct == account and when == day:
                    values[(service, usage_type)] = original
                    pending[day + timedelta(days=RESTATEMENT_LAG_DAYS)] = day
            now = datetime.combine(day + timedelta(days=1), time(), UTC)
            events += engine.evaluate_day(day, values, regions[account][day], book, now)
            if day in pending:
                restated = pending.pop(day)
                events += engine.restate_day(
                    restated, days[restated], regions[account][restated], book, now
                )
    return events


def _ceil_day(at: datetime) -> date:
    """The first midnight at or after ``at`` (a partial day's window ends mid-day)."""
    day = at.date()
    return day if at == datetime.combine(day, time(), at.tzinfo) else day + timedelta(days=1)


def to_incidents(events: list[AnomalyEvent]) -> list[FoundIncident]:
    """Fold lifecycle events into one scored incident per incident id."""
    by_id: dict[str, list[AnomalyEvent]] = defaultdict(list)
    for event in events:
        by_id[event.incident_id].append(event)
    out: list[FoundIncident] = []
    for incident_id, steps in by_id.items():
        first = steps[0]
        names = {first.series_id}
        for step in steps:
            names.update(step.related_series)
        usage = [rc for rc in first.root_cause if rc.dimension == "usage_type"]
        out.append(
            FoundIncident(
                incident_id=incident_id,
                names=tuple(sorted(names)),
                start=first.window_start.date(),
                end=_ceil_day(max(s.window_end for s in steps)),
                top_usage_type=usage[0].value if usage else first.usage_type,
                top_usage_share=usage[0].share if usage else (1.0 if first.usage_type else 0.0),
            )
        )
    return out
