"""The classes the usage loop (and the cost loop's links) keep on changelogs."""

from __future__ import annotations

from services.anomaly.usage.link import IncidentLinker, _Open
from services.anomaly.usage.links import UsageLinks
from services.anomaly.usage.rates import UnitRateBook
from services.anomaly.usage.resource_state import UsageGroupState, UsageStream

#: Held by the cost loop beside each account: its unit rates and usage-incident links.
COST_LINK_TYPES: tuple[type, ...] = (UnitRateBook, UsageLinks, IncidentLinker, _Open)
USAGE_STATE_TYPES: tuple[type, ...] = (UsageGroupState, UsageStream, UnitRateBook)
