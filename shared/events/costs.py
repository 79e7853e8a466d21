"""Aggregated cost series points and restatement notices.

A series is one of: an account, an account x service, or an account x service x
usage type, at daily or hourly granularity. The compacted topic is keyed by
``<series_id>@<period_start>`` so compaction keeps one (the latest) value per
series and period, and records are partitioned by ``series_id`` alone so one
consumer owns a whole series.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.events.base import Event, Int64

Granularity = Literal["daily", "hourly"]
SeriesLevel = Literal["account", "service", "usage_type"]


def series_id(
    level: SeriesLevel,
    granularity: Granularity,
    account_id: str,
    service: str | None = None,
    usage_type: str | None = None,
) -> str:
    """A readable, stable series id.

    >>> series_id("service", "daily", "111122223333", "AmazonEC2")
    'daily/111122223333/AmazonEC2'
    """
    parts = [granularity, account_id]
    if level in ("service", "usage_type"):
        parts.append(service or "-")
    if level == "usage_type":
        parts.append(usage_type or "-")
    return "/".join(parts)


def series_parts(sid: str) -> tuple[Granularity | None, str, str | None, str | None]:
    """The inverse of :func:`series_id`: (granularity, account, service, usage type).

    Readers that get only a series id (restatement notices) recover the
    dimensions from it; a part the id does not have (or names ``-``) is None.

    >>> series_parts("daily/111122223333/AmazonEC2")
    ('daily', '111122223333', 'AmazonEC2', None)
    >>> series_parts("hourly/111122223333")
    ('hourly', '111122223333', None, None)
    """
    parts = sid.split("/", 3) + [""] * 3
    granularity, account, service, usage_type = parts[:4]
    known: dict[str, Granularity] = {"daily": "daily", "hourly": "hourly"}
    return (
        known.get(granularity),
        account,
        service if service not in ("", "-") else None,
        usage_type if usage_type not in ("", "-") else None,
    )


class CostPoint(Event):
    """The cost of one series over one period, as of the latest completed delivery."""

    event_type = "spendstream.costs.point"

    series_id: str
    level: SeriesLevel
    granularity: Granularity
    period_start: datetime
    account_id: str
    service: str | None = None
    usage_type: str | None = None
    cost: float
    currency: str = "USD"
    line_items: Int64 = Field(0, description="Line items summed into this point.")
    attempt_id: str = Field(description="The completed ingest attempt this value comes from.")
    as_of: datetime


class CostRestated(Event):
    """A later delivery changed a past period by more than the configured threshold."""

    event_type = "spendstream.costs.restated"

    series_id: str
    period_start: datetime
    account_id: str
    previous_cost: float
    new_cost: float
    delta: float
    previous_attempt_id: str
    attempt_id: str
    detected_at: datetime
