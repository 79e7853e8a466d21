"""A commitment world's hours as CUR line items: one completed ingest attempt per period.

Each instance hour becomes the line AWS writes for it: ``DiscountedUsage``
(an RI: unblended 0, its rate as effective cost), ``SavingsPlanCoveredUsage``
plus its ``SavingsPlanNegation`` (a plan, split where it runs out), or
``Usage``; each plan bills a ``SavingsPlanRecurringFee`` every hour and each
RI one ``RIFee`` per period carrying its unused part as the amortised cost.
Costs carry 10 decimals, as in CUR files.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from shared.ec2_platforms import OPERATIONS, os_from_platform_details
from shared.events import CostLineItem, DeliveryCompleted, DeliveryStarted, stable_id
from simulator.commitments import CommitmentWorld, Held, Line, apply_hour
from simulator.fleet import FleetMember


def delivery_events(
    world: CommitmentWorld,
    account_id: str,
    first_hour: int,
    last_hour: int,
    attempt_id: str,
) -> list[CostLineItem | DeliveryStarted | DeliveryCompleted]:
    """One account's billing period ``[first_hour, last_hour)`` as one completed ingest attempt."""
    period_start = world.start + timedelta(hours=first_hour)
    period = date(period_start.year, period_start.month, 1)
    delivery = stable_id("commitment-sim", account_id, period)
    rows: list[CostLineItem] = []
    ctx = {
        "attempt_id": attempt_id,
        "delivery_id": delivery,
        "billing_period": period,
        "source_format": "cur2",
        "source_file": f"sim/{period}.parquet",
        "account_id": account_id,
        "payer_account_id": account_id,
        "service": "AmazonEC2",
    }
    held_used: dict[str, float] = {}
    for h in range(first_hour, last_hour):
        start = world.start + timedelta(hours=h)
        for line in apply_hour(world, h):
            m = world.members[line.group]
            if m.account_id != account_id:
                continue
            rows += _lines(world, line, start, m, ctx, len(rows))
            if line.held is not None:
                held_used[line.held.arn] = held_used.get(line.held.arn, 0.0) + line.amount
        for held in world.held:
            if held.account_id == account_id and held.kind == "savings_plan" and held.end > start:
                rows.append(
                    _fee(
                        held,
                        start,
                        ctx,
                        len(rows),
                        "SavingsPlanRecurringFee",
                        held.hourly,
                        held.hourly,
                    )
                )
    n_hours = last_hour - first_hour
    for held in world.held:
        if held.account_id == account_id and held.kind == "reservation":
            unused = max(0.0, (n_hours - held_used.get(held.arn, 0.0)) * held.hourly)
            rows.append(
                _fee(held, period_start, ctx, len(rows), "RIFee", held.hourly * n_hours, unused)
            )
    now = world.start + timedelta(hours=last_hour)
    started = DeliveryStarted(
        id=stable_id(attempt_id, account_id, "start"),
        attempt_id=attempt_id,
        delivery_id=delivery,
        billing_period=period,
        account_id=account_id,
        source_format="cur2",
        source_uri=f"s3://sim/{period}",
        started_at=now,
    )
    done = DeliveryCompleted(
        id=stable_id(attempt_id, account_id, "done"),
        attempt_id=attempt_id,
        delivery_id=delivery,
        billing_period=period,
        account_id=account_id,
        row_count=len(rows),
        cost_total=sum(r.unblended_cost for r in rows),
        completed_at=now,
    )
    return [started, *rows, done]


def _lines(
    world: CommitmentWorld,
    line: Line,
    start: datetime,
    m: FleetMember,
    ctx: dict[str, object],
    n: int,
) -> list[CostLineItem]:
    od = round(float(world.on_demand[line.group]) * line.amount, 10)  # CUR: 10 decimals
    os = os_from_platform_details(m.platform) or "linux"
    base = {
        **ctx,
        "usage_start": start,
        "usage_end": start + timedelta(hours=1),
        "usage_type": f"BoxUsage:{m.instance_type.name}",
        "operation": OPERATIONS[os],
        "region": m.region,
        "resource_id": m.instance_id,
        "instance_type": m.instance_type.name,
        "usage_amount": line.amount,
        "list_cost": od,
    }
    held = line.held
    if line.kind == "Usage":
        return [_item(base, n, "Usage", od, amortized=od)]
    assert held is not None
    end = {"commitment_end": held.end}
    if line.kind == "DiscountedUsage":
        return [
            _item(
                base,
                n,
                "DiscountedUsage",
                0.0,
                amortized=held.hourly,
                reservation_arn=held.arn,
                reservation_effective_cost=held.hourly,
                **end,
            )
        ]
    cost = round(float(world.sp_rate[1][line.group]) * line.amount, 10)
    covered = _item(
        base,
        n,
        "SavingsPlanCoveredUsage",
        od,
        amortized=cost,
        savings_plan_arn=held.arn,
        savings_plan_effective_cost=cost,
        **end,
    )
    negation = _item(
        base, n + 1, "SavingsPlanNegation", -od, amortized=0.0, savings_plan_arn=held.arn, **end
    )
    return [covered, negation]


def _fee(
    held: Held,
    start: datetime,
    ctx: dict[str, object],
    n: int,
    kind: str,
    unblended: float,
    amortized: float,
) -> CostLineItem:
    base = {
        **ctx,
        "usage_start": start,
        "usage_end": start + timedelta(hours=1),
        "usage_type": "ComputeSP:1yrNoUpfront" if kind != "RIFee" else "HeavyUsage",
        "usage_amount": 1.0,
        "commitment_end": held.end,
    }
    arn = {"savings_plan_arn" if held.kind == "savings_plan" else "reservation_arn": held.arn}
    return _item(base, n, kind, unblended, amortized=amortized, **arn)


def _item(
    base: dict[str, object], n: int, kind: str, unblended: float, amortized: float, **more: object
) -> CostLineItem:
    return CostLineItem(
        id=stable_id(base["attempt_id"], base["account_id"], n),
        source_row=n,
        line_item_type=kind,
        unblended_cost=round(unblended, 10),
        amortized_cost=round(amortized, 10),
        **base,
        **more,
    )
