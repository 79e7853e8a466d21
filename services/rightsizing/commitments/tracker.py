"""Commitment reports from completed CUR deliveries, per account (same rules as ``rates.py``).

Line items of an ingest attempt are summed per account and hour; when the
attempt's ``DeliveryCompleted`` arrives its billing period replaces any
earlier attempt's, and the account's report (over its kept periods, up to the
longest lookback) and alerts are produced. Attempts this replica did not see
start are skipped, as for rates: their sums would be short. Completed periods
(``PERIODS_KEPT`` per account) are kept in a ``Periods`` store: in the service
the changelog-backed ``CommitmentStore`` (closed months are not redelivered,
so they must survive restarts and rebalances), in tests and evaluations a dict.
A lookback longer than the history held is not computed rather than computed
on fewer days.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from services.rightsizing.commitments.recommend import unpriced_products
from services.rightsizing.commitments.report import CommitmentPolicy, alerts, build_report
from services.rightsizing.commitments.usage import AccountUsage
from shared.ec2_prices import PriceTable
from shared.events import CostLineItem, DeliveryCompleted, DeliveryStarted, Event
from shared.events.commitments import CommitmentAlert, CommitmentReport
from shared.logging import get_logger

log = get_logger(__name__)

# Three months cover the longest lookback (60 days) from any day of a month.
PERIODS_KEPT = 3


class Periods(Protocol):
    """Where completed periods live (``ChangelogStore`` has this shape)."""

    values: dict[str, AccountUsage]

    def put(self, key: str, partition: int, value: AccountUsage) -> None: ...  # noqa: D102

    def delete(self, key: str) -> None: ...  # noqa: D102


@dataclass
class MemoryPeriods:
    """Periods in a dict: for tests, evaluations and tools without a broker."""

    values: dict[str, AccountUsage] = field(default_factory=dict)

    def put(self, key: str, partition: int, value: AccountUsage) -> None:
        """Keep ``value`` under ``key``."""
        self.values[key] = value

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        self.values.pop(key, None)


def period_key(account_id: str, period: date) -> str:
    """The store key of one account's billing period."""
    return f"{account_id}|{period.isoformat()}"


@dataclass
class _Attempt:
    delivery_id: str
    billing_period: date
    partition: int
    usage: AccountUsage = field(default_factory=AccountUsage)


class CommitmentTracker:
    """Per account: attempts in flight, completed periods, and the reports they give."""

    def __init__(
        self,
        prices: PriceTable,
        policy: CommitmentPolicy | None = None,
        periods: Periods | None = None,
    ) -> None:
        self.prices = prices
        self.policy = policy or CommitmentPolicy()
        self.periods: Periods = periods if periods is not None else MemoryPeriods()
        self._unpriced = unpriced_products(prices)
        self._attempts: dict[tuple[str, str], _Attempt] = {}
        self._current: dict[tuple[str, str], tuple[str, str]] = {}

    def drop(self, partitions: Iterable[int]) -> None:
        """Forget attempts of CUR partitions no longer read (or of a failed batch)."""
        gone = set(partitions)
        for key in [k for k, a in self._attempts.items() if a.partition in gone]:
            del self._attempts[key]
        self._current = {k: a for k, a in self._current.items() if a in self._attempts}

    def on_event(self, event: Event, partition: int) -> list[CommitmentReport | CommitmentAlert]:
        """Apply one CUR-topic event; a completed attempt's report and alerts."""
        if isinstance(event, DeliveryStarted):
            key = (event.account_id, event.attempt_id)
            previous = self._current.pop((event.account_id, event.delivery_id), None)
            if previous is not None:
                self._attempts.pop(previous, None)
            self._current[(event.account_id, event.delivery_id)] = key
            self._attempts[key] = _Attempt(event.delivery_id, event.billing_period, partition)
        elif isinstance(event, CostLineItem):
            attempt = self._attempts.get((event.account_id, event.attempt_id))
            if attempt is not None:
                attempt.usage.add(event)
        elif isinstance(event, DeliveryCompleted):
            attempt = self._attempts.pop((event.account_id, event.attempt_id), None)
            if attempt is None:
                return []
            self._current.pop((event.account_id, attempt.delivery_id), None)
            try:
                return self._complete(event, attempt)
            except (ValueError, ArithmeticError) as exc:  # pydantic's ValidationError too
                # One account's odd bill must not stop the partition (and every other
                # account's rates and reports behind it): log it, skip this report.
                log.error("commitment report failed", account=event.account_id, error=repr(exc))
                return []
        return []

    def _complete(
        self, event: DeliveryCompleted, attempt: _Attempt
    ) -> list[CommitmentReport | CommitmentAlert]:
        account = event.account_id
        self.periods.put(period_key(account, attempt.billing_period), attempt.partition,
                         attempt.usage)  # fmt: skip
        prefix = f"{account}|"
        periods = {
            date.fromisoformat(k[len(prefix) :]): v
            for k, v in self.periods.values.items()
            if k.startswith(prefix)
        }
        for old in sorted(periods)[:-PERIODS_KEPT]:
            self.periods.delete(period_key(account, old))
            del periods[old]
        merged = AccountUsage()
        for period in sorted(periods):
            merged.merge(periods[period])
        report = build_report(
            event.account_id,
            event.attempt_id,
            merged,
            self.prices,
            self._unpriced,
            self.policy,
            event.completed_at,
        )
        newest = periods[max(periods)]
        raised = alerts(
            event.account_id, str(max(periods)), newest, self.policy, event.completed_at
        )
        return [*([report] if report is not None else []), *raised]
