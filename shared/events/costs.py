"""Aggregated cost series points and restatement notices.

A series is one of: an account, an account x service, or an account x service x
usage type, at daily or hourly granularity; or an account's spend carrying one
cost-allocation tag value (``daily/<account>#<key>=<value>``, see
:func:`tag_series_id`). The compacted topic is keyed by
``<series_id>@<period_start>`` so compaction keeps one (the latest) value per
series and period, and records are partitioned by ``series_id`` alone so one
consumer owns a whole series.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from urllib.parse import quote, unquote

from pydantic import Field

from shared.events.base import Event, Int64

Granularity = Literal["daily", "hourly"]
SeriesLevel = Literal["account", "service", "usage_type", "tag"]

# The tag series of spend whose tag value got no series of its own (the account
# already has the configured number of values for that key). ``*`` is not a
# character AWS allows in tag values, so no real value is confused with it.
OTHER_TAG_VALUE = "*"
_TAG_MARK = "#"


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


def tag_segment(key: str, value: str) -> str:
    """The ``<key>=<value>`` part of a tag series id, both percent-encoded.

    ``value`` is ``""`` for spend without the key, :data:`OTHER_TAG_VALUE` for values
    past the per-account cap. Encoding keeps ``/``, ``#`` and ``=`` (all legal in AWS
    tags) out of the id's structure.

    >>> tag_segment("cost-center", "R&D / EU")
    'cost-center=R%26D%20%2F%20EU'
    """
    encoded = value if value == OTHER_TAG_VALUE else quote(value, safe="")
    return f"{quote(key, safe='')}={encoded}"


def tag_series_id(granularity: Granularity, account_id: str, key: str, value: str) -> str:
    """The series of ``account_id``'s spend whose tag ``key`` is ``value`` (see tag_segment).

    >>> tag_series_id("daily", "111122223333", "team", "payments")
    'daily/111122223333#team=payments'
    """
    return f"{granularity}/{account_id}{_TAG_MARK}{tag_segment(key, value)}"


def series_tag(sid: str) -> tuple[str, str] | None:
    """(key, value) of a tag series id (value ``""``: untagged), None for other series.

    >>> series_tag("daily/111122223333#team=")
    ('team', '')
    >>> series_tag("daily/111122223333/AmazonEC2#team=x") is None  # only after the account
    True
    """
    account_part = [*sid.split("/", 2), ""][1]
    _, mark, segment = account_part.partition(_TAG_MARK)
    key, eq, value = segment.partition("=")
    if not mark or not eq:
        return None
    return unquote(key), value if value == OTHER_TAG_VALUE else unquote(value)


def series_parts(sid: str) -> tuple[Granularity | None, str, str | None, str | None]:
    """The inverse of :func:`series_id`: (granularity, account, service, usage type).

    Readers that get only a series id (restatement notices) recover the
    dimensions from it; a part the id does not have (or names ``-``) is None. A tag
    series names its account (its tag: :func:`series_tag`).

    >>> series_parts("daily/111122223333/AmazonEC2")
    ('daily', '111122223333', 'AmazonEC2', None)
    >>> series_parts("hourly/111122223333")
    ('hourly', '111122223333', None, None)
    >>> series_parts("daily/111122223333#team=payments")
    ('daily', '111122223333', None, None)
    """
    parts = sid.split("/", 3) + [""] * 3
    granularity, account, service, usage_type = parts[:4]
    account = account.split(_TAG_MARK, 1)[0]
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
