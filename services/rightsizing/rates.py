"""Each instance's effective hourly cost, learned from completed CUR deliveries.

The CUR topic is keyed by account; an instance's utilisation state lives on
the partition of its instance id. So the line items of one ingest attempt are
summed per instance here and, once the attempt's ``DeliveryCompleted`` arrives,
published as one ``InstanceRate`` per instance on a topic keyed by instance id,
which the same consumer group reads back into the instance's state.

Only completed attempts count (DESIGN.md's restatement rule), and only those
whose ``DeliveryStarted`` this replica saw: after a restart or a rebalance the
attempt in flight is partly behind the committed offset, so its sums would be
short. That attempt is skipped; AWS redelivers month-to-date files several
times a day, and the next one gives the rate. Pending sums are therefore never
persisted, and a crash can only delay a rate, never publish a wrong one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from shared.events import CostLineItem, DeliveryCompleted, DeliveryStarted, Event, stable_id
from shared.events.rates import InstanceRate

# Line items that are an instance's running hours, whatever paid for them
# (CUR ``lineItem/LineItemType``; FOCUS ``ChargeCategory`` is "Usage").
COMPUTE_LINE_TYPES = frozenset({"Usage", "DiscountedUsage", "SavingsPlanCoveredUsage"})
# ``lineItem/UsageType`` of instance hours: ``BoxUsage`` (shared), ``DedicatedUsage``;
# "HostUsage" (Dedicated Hosts) is billed per host, not per instance, so it is left out.
COMPUTE_USAGE_MARKERS = ("BoxUsage", "DedicatedUsage")
# The rate averages over the last days billed, so an RI that expired or a
# Savings Plan bought mid-month shows within a week rather than at month end.
RATE_WINDOW_DAYS = 7
SECONDS_PER_DAY = 86_400


def is_instance_hour(item: CostLineItem) -> bool:
    """Whether ``item`` is running hours of one EC2 instance."""
    return (
        item.resource_id is not None
        and item.resource_id.startswith("i-")
        and item.instance_type is not None
        and item.line_item_type in COMPUTE_LINE_TYPES
        and item.usage_type is not None
        and any(m in item.usage_type for m in COMPUTE_USAGE_MARKERS)
        and (item.usage_amount or 0.0) > 0.0
    )


@dataclass
class _DaySums:
    effective: float = 0.0
    on_demand: float = 0.0
    on_demand_known: bool = True
    hours: float = 0.0
    reserved_hours: float = 0.0
    savings_plan_hours: float = 0.0


@dataclass
class _InstanceSums:
    """One instance (and type) over one attempt, per usage day."""

    account_id: str
    through: datetime
    days: dict[int, _DaySums] = field(default_factory=lambda: defaultdict(_DaySums))
    reservations: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    savings_plans: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, item: CostLineItem) -> None:
        hours = item.usage_amount or 0.0
        day = self.days[int(item.usage_start.timestamp()) // SECONDS_PER_DAY]
        day.effective += item.amortized_cost if item.amortized_cost is not None else 0.0
        day.hours += hours
        if item.list_cost is None:
            day.on_demand_known = False
        else:
            day.on_demand += item.list_cost
        if item.reservation_arn is not None:
            day.reserved_hours += hours
            self.reservations[item.reservation_arn] += hours
        if item.savings_plan_arn is not None:
            day.savings_plan_hours += hours
            self.savings_plans[item.savings_plan_arn] += hours
        self.through = max(self.through, item.usage_end)


@dataclass
class _Attempt:
    delivery_id: str
    billing_period: date
    partition: int
    # (instance id, instance type) -> sums; a type change mid-month keeps both apart.
    instances: dict[tuple[str, str], _InstanceSums] = field(default_factory=dict)
    end: datetime | None = None  # the latest instance hour's end, over every instance


def _rate(
    resource_id: str,
    instance_type: str,
    sums: _InstanceSums,
    attempt_id: str,
    period: date,
    end: datetime,
) -> InstanceRate | None:
    newest = max(sums.days)
    recent = [d for day, d in sums.days.items() if day > newest - RATE_WINDOW_DAYS]
    hours = sum(d.hours for d in recent)
    # The duty window is the delivery's last days (not this instance's), so days it was
    # stopped at the end of the window count: a weekend-off schedule shows as one.
    last = (int(end.timestamp()) - 1) // SECONDS_PER_DAY
    first = max(min(sums.days), last - RATE_WINDOW_DAYS + 1)
    if hours <= 0:
        return None
    effective = max(0.0, sum(d.effective for d in recent))
    on_demand = (
        sum(d.on_demand for d in recent) / hours if all(d.on_demand_known for d in recent) else None
    )
    return InstanceRate(
        id=stable_id("instance-rate", resource_id, attempt_id),
        resource_id=resource_id,
        account_id=sums.account_id,
        instance_type=instance_type,
        billing_period=period,
        attempt_id=attempt_id,
        hours=hours,
        effective_hourly=effective / hours,
        on_demand_hourly=on_demand,
        reserved_share=min(1.0, sum(d.reserved_hours for d in recent) / hours),
        savings_plan_share=min(1.0, sum(d.savings_plan_hours for d in recent) / hours),
        reservation_arn=max(sums.reservations, key=sums.reservations.__getitem__, default=None),
        savings_plan_arn=max(sums.savings_plans, key=sums.savings_plans.__getitem__, default=None),
        through=sums.through,
        window_start=datetime.fromtimestamp(first * SECONDS_PER_DAY, UTC),
        window_end=end,
        window_hours=sum(d.hours for day, d in sums.days.items() if day >= first),
    )


class RateLearner:
    """Sums the attempts in flight on this replica's CUR partitions; rates on completion."""

    def __init__(self) -> None:
        # Per (account, attempt): one attempt spans a delivery's accounts, each
        # bracketed by its own markers, and completes account by account.
        self._attempts: dict[tuple[str, str], _Attempt] = {}
        # (account, delivery) -> its attempt in flight: a newer start supersedes it.
        self._current: dict[tuple[str, str], tuple[str, str]] = {}

    @property
    def attempts_in_flight(self) -> int:
        """How many attempts are being summed (bounded by accounts x deliveries)."""
        return len(self._attempts)

    def drop(self, partitions: Iterable[int]) -> None:
        """Forget the attempts of CUR partitions this replica no longer reads.

        Called on revocation and after a failed batch (whose records will be
        read again): sums that missed or would double-count records must not
        reach a rate.
        """
        gone = set(partitions)
        for attempt_id in [a for a, v in self._attempts.items() if v.partition in gone]:
            del self._attempts[attempt_id]
        self._current = {k: a for k, a in self._current.items() if a in self._attempts}

    def on_event(self, event: Event, partition: int) -> list[InstanceRate]:
        """Apply one CUR-topic event read from ``partition``; a completed attempt's rates."""
        if isinstance(event, DeliveryStarted):
            key = (event.account_id, event.attempt_id)
            previous = self._current.pop((event.account_id, event.delivery_id), None)
            if previous is not None:
                self._attempts.pop(previous, None)  # superseded before it completed
            self._current[(event.account_id, event.delivery_id)] = key
            self._attempts[key] = _Attempt(event.delivery_id, event.billing_period, partition)
        elif isinstance(event, CostLineItem):
            attempt = self._attempts.get((event.account_id, event.attempt_id))
            if attempt is not None and is_instance_hour(event):
                which = (event.resource_id or "", event.instance_type or "")
                sums = attempt.instances.get(which)
                if sums is None:
                    sums = attempt.instances[which] = _InstanceSums(
                        event.account_id, event.usage_end
                    )
                sums.add(event)
                if attempt.end is None or event.usage_end > attempt.end:
                    attempt.end = event.usage_end
        elif isinstance(event, DeliveryCompleted):
            attempt = self._attempts.pop((event.account_id, event.attempt_id), None)
            if attempt is None:
                return []  # started before this replica read the partition: sums incomplete
            self._current.pop((event.account_id, attempt.delivery_id), None)
            return self._rates(event.attempt_id, attempt)
        return []

    @staticmethod
    def _rates(attempt_id: str, attempt: _Attempt) -> list[InstanceRate]:
        """One rate per instance: the type it ran as last (its hours only)."""
        latest: dict[str, tuple[str, _InstanceSums]] = {}
        for (resource_id, itype), sums in attempt.instances.items():
            seen = latest.get(resource_id)
            if seen is None or sums.through > seen[1].through:
                latest[resource_id] = (itype, sums)
        rates = (
            _rate(
                resource_id,
                itype,
                sums,
                attempt_id,
                attempt.billing_period,
                attempt.end or sums.through,
            )
            for resource_id, (itype, sums) in sorted(latest.items())
        )
        return [r for r in rates if r is not None]
