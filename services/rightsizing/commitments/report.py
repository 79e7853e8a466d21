"""One account's commitment report and alerts from its billed hours (pure).

Coverage and utilisation are over the report window (the longest lookback,
ending at the newest billed hour). Alerts judge each commitment on the newest
billing period, month to date, as AWS Budgets' utilisation budgets do: an RI's
unused fee posts once per month (``RIFee``), so a shorter window would miss it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.rightsizing.commitments.recommend import recommend
from services.rightsizing.commitments.usage import SECONDS_PER_HOUR, AccountUsage, HeldSums
from shared.ec2_prices import PriceTable
from shared.events import stable_id
from shared.events.commitments import (
    CommitmentAlert,
    CommitmentReport,
    HeldCommitment,
    UnpricedProduct,
)


@dataclass(frozen=True)
class CommitmentPolicy:
    """Lookbacks and alert thresholds (``SPENDSTREAM_RIGHTSIZING_COMMITMENT_*``)."""

    lookbacks: tuple[int, ...] = (7, 30, 60)
    utilisation_threshold: float = 0.8
    expiry_days: float = 30.0


def _at(hour: int) -> datetime:
    return datetime.fromtimestamp(hour * SECONDS_PER_HOUR, UTC)


def _window_sum(values: dict[int, float], first: int, last: int) -> float:
    return sum(v for h, v in values.items() if first <= h <= last)


def _held(arn: str, sums: HeldSums, first: int, last: int) -> HeldCommitment | None:
    hours = {h for h in (*sums.fee, *sums.used) if first <= h <= last}
    if not hours:
        return None
    cost = max(0.0, _window_sum(sums.fee, first, last))
    used = max(0.0, _window_sum(sums.used, first, last))
    covered = _window_sum(sums.covered, first, last)
    return HeldCommitment(
        arn=arn,
        kind="savings_plan" if sums.kind == "savings_plan" else "reservation",
        hours=float(len(hours)),
        commitment_cost=cost,
        used_cost=min(used, cost) if cost > 0 else used,
        utilisation=min(1.0, used / cost) if cost > 0 else None,
        covered_on_demand=covered,
        net_savings=covered - cost,
        end=sums.end,
    )


def build_report(
    account_id: str,
    attempt_id: str,
    usage: AccountUsage,
    table: PriceTable,
    unpriced: list[UnpricedProduct],
    policy: CommitmentPolicy,
    generated_at: datetime,
) -> CommitmentReport | None:
    """The report over every kept period of the account; None without EC2 usage."""
    if not usage.eligible and not usage.held:
        return None
    hours = [*usage.eligible, *(h for s in usage.held.values() for h in (*s.fee, *s.used))]
    last = max(hours)
    first = max(min(hours), last - max(policy.lookbacks) * 24 + 1)
    eligible = _window_sum(usage.eligible, first, last)
    sp = _window_sum(usage.sp_covered, first, last)
    ri = _window_sum(usage.ri_covered, first, last)
    held = [h for arn, s in sorted(usage.held.items()) if (h := _held(arn, s, first, last))]
    paid = sum(h.commitment_cost for h in held)

    def share(part: float) -> float:
        return min(1.0, part / eligible) if eligible > 0 else 0.0

    return CommitmentReport(
        id=stable_id("commitment-report", account_id, attempt_id),
        account_id=account_id,
        attempt_id=attempt_id,
        window_start=_at(first),
        window_end=_at(last + 1),
        hours=sum(1 for h in usage.eligible if first <= h <= last),
        eligible_on_demand=eligible,
        savings_plan_coverage=share(sp),
        reservation_coverage=share(ri),
        coverage=share(sp + ri),
        utilisation=min(1.0, sum(h.used_cost for h in held) / paid) if paid > 0 else None,
        commitments=held,
        recommendations=recommend(usage, table, policy.lookbacks, last),
        unpriced=unpriced,
        generated_at=generated_at,
    )


def alerts(
    account_id: str,
    period: str,
    newest: AccountUsage,
    policy: CommitmentPolicy,
    detected_at: datetime,
) -> list[CommitmentAlert]:
    """Low month-to-date utilisation and near expiry, per commitment of the newest period."""
    out: list[CommitmentAlert] = []
    for arn, sums in sorted(newest.held.items()):
        hours = [*sums.fee, *sums.used]
        if not hours:
            continue
        kind = "savings_plan" if sums.kind == "savings_plan" else "reservation"
        cost, used = sum(sums.fee.values()), sum(sums.used.values())
        utilisation = min(1.0, max(0.0, used / cost)) if cost > 0 else None
        if utilisation is not None and utilisation < policy.utilisation_threshold:
            out.append(
                CommitmentAlert(
                    id=stable_id("commitment-alert", account_id, arn, "low_utilisation", period),
                    account_id=account_id,
                    arn=arn,
                    kind=kind,
                    reason="low_utilisation",
                    utilisation=utilisation,
                    threshold=policy.utilisation_threshold,
                    end=sums.end,
                    unused_cost=max(0.0, cost - used),
                    detected_at=detected_at,
                )
            )
        billed_to = _at(max(hours) + 1)
        if sums.end is not None and sums.end - billed_to <= timedelta(days=policy.expiry_days):
            out.append(
                CommitmentAlert(
                    id=stable_id("commitment-alert", account_id, arn, "expiring", sums.end),
                    account_id=account_id,
                    arn=arn,
                    kind=kind,
                    reason="expiring",
                    utilisation=utilisation,
                    end=sums.end,
                    days_left=max(0.0, (sums.end - billed_to).total_seconds() / 86_400),
                    detected_at=detected_at,
                )
            )
    return out
