"""One account's EC2 usage and commitments per hour, summed from CUR line items.

What a commitment report needs from the bill, hour by hour (epoch hours):

* every instance hour's On-Demand-equivalent cost (``pricing/publicOnDemandCost``,
  or the unblended cost of an On-Demand ``Usage`` line when the CUR lacks it),
  and which part a Savings Plan or an RI covered — the coverage;
* the On-Demand hours still uncovered, per (region, OS, tenancy, type) — what a
  purchase could cover;
* per Savings Plan: its hourly commitment (``SavingsPlanRecurringFee``) and the
  part used (``SavingsPlanEffectiveCost`` of covered usage); per RI: its
  effective cost of covered usage and its unused fee (``RIFee``: unused
  amortised upfront + unused recurring) — the utilisation; and each one's
  term end (``EndTime``) for expiry alerts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from services.rightsizing.rates import is_instance_hour
from shared.ec2_platforms import OPERATIONS
from shared.events import CostLineItem

SECONDS_PER_HOUR = 3_600
# lineItem/Operation -> our OS key; a code not listed is an OS we hold no rates for.
OPERATION_OS = {code: os for os, code in OPERATIONS.items()}
UsageKey = tuple[str, str, str, str]  # region, os, tenancy, instance type


def usage_key(item: CostLineItem) -> UsageKey | None:
    """The price list an instance hour belongs to, or None when its OS is not one we price."""
    os = OPERATION_OS.get(item.operation or "RunInstances")
    if os is None or item.region is None or item.instance_type is None:
        return None
    tenancy = "dedicated" if "DedicatedUsage" in (item.usage_type or "") else "shared"
    return item.region, os, tenancy, item.instance_type


def _cost(value: float | None) -> float:
    """A cost or amount as summed here: missing, negative or non-finite count as nothing."""
    return value if value is not None and math.isfinite(value) and value > 0 else 0.0


def add(values: dict[int, float], hour: int, value: float) -> None:
    """``values[hour] += value`` on a plain dict (what the changelog codec restores)."""
    values[hour] = values.get(hour, 0.0) + value


def hour_of(when: datetime) -> int:
    """Epoch hour of a timestamp."""
    return int(when.timestamp()) // SECONDS_PER_HOUR


@dataclass
class HeldSums:
    """One commitment's billed hours: cost, used part, what it covered, its end."""

    kind: str
    fee: dict[int, float] = field(default_factory=dict)
    used: dict[int, float] = field(default_factory=dict)
    covered: dict[int, float] = field(default_factory=dict)
    end: datetime | None = None

    def merge(self, other: HeldSums) -> None:
        """Add another period's hours of the same commitment."""
        for mine, theirs in ((self.fee, other.fee), (self.used, other.used),
                             (self.covered, other.covered)):  # fmt: skip
            for hour, value in theirs.items():
                add(mine, hour, value)
        if other.end is not None:
            self.end = other.end


@dataclass
class AccountUsage:
    """One account's hours in one completed ingest attempt (one billing period)."""

    eligible: dict[int, float] = field(default_factory=dict)
    sp_covered: dict[int, float] = field(default_factory=dict)
    ri_covered: dict[int, float] = field(default_factory=dict)
    # Uncovered On-Demand: key -> hour -> [instance hours, On-Demand cost].
    on_demand: dict[UsageKey, dict[int, list[float]]] = field(default_factory=dict)
    unpriced_os: float = 0.0
    held: dict[str, HeldSums] = field(default_factory=dict)

    def merge(self, other: AccountUsage) -> None:
        """Add another billing period's hours (periods never share an hour)."""
        for mine, theirs in ((self.eligible, other.eligible), (self.sp_covered, other.sp_covered),
                             (self.ri_covered, other.ri_covered)):  # fmt: skip
            for hour, value in theirs.items():
                add(mine, hour, value)
        for key, cells in other.on_demand.items():
            ours = self.on_demand.setdefault(key, {})
            for hour, (n, od) in cells.items():
                cell = ours.setdefault(hour, [0.0, 0.0])
                cell[0] += n
                cell[1] += od
        self.unpriced_os += other.unpriced_os
        for arn, sums in other.held.items():
            self._held(arn, sums.kind, None).merge(sums)

    def _held(self, arn: str, kind: str, end: datetime | None) -> HeldSums:
        sums = self.held.get(arn)
        if sums is None:
            sums = self.held[arn] = HeldSums(kind)
        if end is not None:
            sums.end = end
        return sums

    def add(self, item: CostLineItem) -> None:
        """Fold one line item in (neither an EC2 hour nor a commitment fee: ignored)."""
        hour = hour_of(item.usage_start)
        kind = item.line_item_type
        if kind == "SavingsPlanRecurringFee" and item.savings_plan_arn:
            sums = self._held(item.savings_plan_arn, "savings_plan", item.commitment_end)
            add(sums.fee, hour, _cost(item.amortized_cost))
            return
        if kind == "RIFee" and item.reservation_arn:
            sums = self._held(item.reservation_arn, "reservation", item.commitment_end)
            add(sums.fee, hour, _cost(item.amortized_cost))  # the unused part
            return
        if not is_instance_hour(item):
            return
        od = item.list_cost if item.list_cost is not None else None
        if od is None and kind == "Usage":
            od = item.unblended_cost
        if od is None or not math.isfinite(od) or od < 0:
            # A covered hour without its On-Demand cost cannot be compared; a negative
            # or non-finite one is not usage (credits are their own line types).
            return
        add(self.eligible, hour, od)
        if kind == "SavingsPlanCoveredUsage" and item.savings_plan_arn:
            add(self.sp_covered, hour, od)
            sums = self._held(item.savings_plan_arn, "savings_plan", item.commitment_end)
            add(sums.used, hour, _cost(item.savings_plan_effective_cost))
            add(sums.covered, hour, od)
        elif kind == "DiscountedUsage" and item.reservation_arn:
            add(self.ri_covered, hour, od)
            sums = self._held(item.reservation_arn, "reservation", item.commitment_end)
            used = _cost(item.reservation_effective_cost)
            add(sums.used, hour, used)
            add(sums.fee, hour, used)  # an RI's cost is what it covered plus its unused fee
            add(sums.covered, hour, od)
        elif kind == "Usage":
            key = usage_key(item)
            if key is None:
                self.unpriced_os += od
                return
            cell = self.on_demand.setdefault(key, {}).setdefault(hour, [0.0, 0.0])
            cell[0] += _cost(item.usage_amount)
            cell[1] += od
