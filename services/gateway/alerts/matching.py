"""Which subscriptions want which alert."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.gateway.alerts.model import Alert
from shared.events.anomalies import SEVERITY_ORDER


@dataclass(frozen=True)
class Filters:
    """A subscription's (or a stream's) filters; empty collections mean "any".

    ``sources`` picks the kinds of alert (``model.ALERT_SOURCES``); empty, the
    default, is every kind, so a subscription made before restatements were
    alerts receives them too, as it will any kind added later.
    ``allowed_accounts`` are the tenant's accounts: an alert outside them never
    matches, whatever the other filters say; an alert owned by a tenant
    (``Alert.tenant_id``) matches only that tenant's filters.
    """

    allowed_accounts: frozenset[str]
    tenant_id: str | None = None
    accounts: frozenset[str] = frozenset()
    services: frozenset[str] = frozenset()
    sources: frozenset[str] = frozenset()
    min_severity: str = "low"
    min_impact_usd: float = 0.0

    def matches(self, alert: Alert) -> bool:
        """True when the alert passes every filter.

        >>> from datetime import datetime, UTC
        >>> a = Alert("e", "anomaly", "i", "open", "111", "AmazonEC2", "high", 50.0,
        ...           "t", datetime(2025, 1, 1, tzinfo=UTC), {})
        >>> Filters(frozenset({"111"}), min_severity="medium").matches(a)
        True
        >>> Filters(frozenset({"111"}), min_impact_usd=100).matches(a)
        False
        >>> Filters(frozenset({"222"})).matches(a)
        False
        >>> Filters(frozenset({"111"}), sources=frozenset({"restatement"})).matches(a)
        False
        >>> from dataclasses import replace
        >>> owned = replace(a, account_id="*", tenant_id="t1")
        >>> Filters(frozenset({"111"}), tenant_id="t1").matches(owned)
        True
        >>> Filters(frozenset({"111"}), tenant_id="t2").matches(replace(owned, account_id="111"))
        False
        """
        if alert.tenant_id is not None:
            if alert.tenant_id != self.tenant_id:
                return False
        elif alert.account_id not in self.allowed_accounts:
            return False
        if self.accounts and alert.account_id not in self.accounts:
            return False
        if self.services and alert.service not in self.services:
            return False
        if self.sources and alert.source not in self.sources:
            return False
        if alert.severity_rank < SEVERITY_ORDER[self.min_severity]:
            return False
        # A resolve carries the incident's last impact, so a subscriber that heard
        # the open also hears the resolve; alerts without a dollar figure count as 0.
        return not (self.min_impact_usd > 0 and (alert.impact_usd or 0.0) < self.min_impact_usd)


def matching(alert: Alert, subscriptions: Iterable[tuple[str, Filters]]) -> list[str]:
    """The ids of the subscriptions that want ``alert``."""
    return [sub_id for sub_id, filters in subscriptions if filters.matches(alert)]
