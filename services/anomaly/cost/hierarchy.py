"""The account -> service -> usage type hierarchy of one day's cost series."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shared.events.costs import SeriesLevel, series_id

Leaf = tuple[str, str]  # (service, usage_type)


@dataclass(frozen=True)
class SeriesInfo:
    """A series' place in the hierarchy."""

    series_id: str
    level: SeriesLevel
    account_id: str
    service: str | None
    usage_type: str | None
    parent: str | None


def leaf_info(account_id: str, leaf: Leaf) -> list[SeriesInfo]:
    """The usage-type series of ``leaf`` and its service and account ancestors."""
    service, usage_type = leaf
    acct = series_id("account", "daily", account_id)
    svc = series_id("service", "daily", account_id, service)
    ut = series_id("usage_type", "daily", account_id, service, usage_type)
    return [
        SeriesInfo(ut, "usage_type", account_id, service, usage_type, svc),
        SeriesInfo(svc, "service", account_id, service, None, acct),
        SeriesInfo(acct, "account", account_id, None, None, None),
    ]


def roll_up(account_id: str, leaves: Mapping[Leaf, float]) -> dict[str, float]:
    """Cost per series id at every level from usage-type leaves."""
    totals: dict[str, float] = {}
    for leaf, cost in leaves.items():
        for info in leaf_info(account_id, leaf):
            totals[info.series_id] = totals.get(info.series_id, 0.0) + cost
    return totals
