"""Builders of CUR events for anomaly tests (small, deterministic)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np

from shared.events import CostLineItem, DeliveryCompleted, DeliveryStarted, stable_id

BILLING = date(2024, 1, 1)
NOW = datetime(2024, 2, 1, tzinfo=UTC)


def _item(
    attempt: str,
    period: date,
    account: str,
    leaf: tuple[str, str],
    start: datetime,
    cost: float,
    row: int,
    key: object,
    line_item_type: str = "Usage",
    tags: dict[str, str] | None = None,
) -> CostLineItem:
    """One hour-long usage line item of ``leaf`` (service, usage type) starting at ``start``."""
    service, usage_type = leaf
    return CostLineItem(
        id=stable_id(attempt, key, service, usage_type),
        attempt_id=attempt,
        delivery_id=f"d-{period}",
        billing_period=period,
        source_format="cur2",
        source_file="f.parquet",
        source_row=row,
        usage_start=start,
        usage_end=start + timedelta(hours=1),
        account_id=account,
        service=service,
        usage_type=usage_type,
        region="us-east-1",
        resource_id=f"i-{usage_type}",
        line_item_type=line_item_type,
        unblended_cost=cost,
        tags=tags or {},
    )


def delivery(
    account: str,
    attempt: str,
    days: dict[date, dict[tuple[str, str], float]],
    drop: int = 0,
    line_item_type: str = "Usage",
    tags: dict[tuple[str, str], dict[str, str]] | None = None,
) -> list:
    """DeliveryStarted, one hourly-ish line item per leaf and day, DeliveryCompleted.

    ``tags``: resource tags per leaf (default none).
    """
    items = []
    for day, leaves in sorted(days.items()):
        for (service, usage_type), cost in sorted(leaves.items()):
            start = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=3)
            leaf = (service, usage_type)
            items.append(
                _item(
                    attempt, BILLING, account, leaf, start, cost, len(items), day,
                    line_item_type, (tags or {}).get(leaf),
                )
            )  # fmt: skip
    started = DeliveryStarted(
        id=f"s-{attempt}",
        attempt_id=attempt,
        delivery_id=f"d-{BILLING}",
        billing_period=BILLING,
        account_id=account,
        source_format="cur2",
        source_uri="s3://b/k",
        started_at=NOW,
    )
    done = DeliveryCompleted(
        id=f"c-{attempt}",
        attempt_id=attempt,
        delivery_id=f"d-{BILLING}",
        billing_period=BILLING,
        account_id=account,
        row_count=len(items),
        cost_total=sum(i.unblended_cost for i in items),
        completed_at=NOW,
    )
    return [started, *items[: len(items) - drop], done]


def hourly_delivery(
    account: str,
    attempt: str,
    hours: dict[datetime, dict[tuple[str, str], float]],
    completed_at: datetime = NOW,
) -> list:
    """A month-to-date delivery of hourly line items (one per leaf and usage hour)."""
    period = min(hours).date().replace(day=1)
    items: list = []
    for start, leaves in sorted(hours.items()):
        for (service, usage_type), cost in sorted(leaves.items()):
            leaf = (service, usage_type)
            items.append(_item(attempt, period, account, leaf, start, cost, len(items), start))
    return bracketed(items, attempt, account, period, completed_at)


def bracketed(items: list, attempt: str, account: str, period: date, at: datetime) -> list:
    """``items`` as one complete delivery attempt: its start marker, the items, its end."""
    common = {"attempt_id": attempt, "delivery_id": f"d-{period}", "billing_period": period}
    started = DeliveryStarted(
        id=f"s-{attempt}",
        account_id=account,
        source_format="cur2",
        source_uri="s3://b/k",
        started_at=at,
        **common,
    )
    done = DeliveryCompleted(
        id=f"c-{attempt}",
        account_id=account,
        row_count=len(items),
        cost_total=round(sum(i.unblended_cost for i in items), 6),
        completed_at=at,
        **common,
    )
    return [started, *items, done]


def spike_hours(
    days: int,
    through_hours: int,
    spike_from: int,
    extra_per_hour: float,
    seed: int = 3,
    night: float = 10.0,
    daytime: float = 8.0,
) -> dict[datetime, dict[tuple[str, str], float]]:
    """``days`` whole days of a diurnal EC2 + flat S3 account, then ``through_hours`` of
    the next day; from hour ``spike_from`` of that day EC2 costs ``extra_per_hour`` more.

    EC2 costs ``night`` an hour, plus ``daytime`` from 08:00 to 20:00 UTC.
    """
    rng = np.random.default_rng(seed)
    start = datetime.combine(BILLING, datetime.min.time(), UTC)
    out: dict[datetime, dict[tuple[str, str], float]] = {}
    for h in range(days * 24 + through_hours):
        at = start + timedelta(hours=h)
        noise = 1 + rng.normal(0, 0.02)
        ec2 = (night + daytime * (8 <= at.hour < 20)) * noise
        if h >= days * 24 + spike_from:
            ec2 += extra_per_hour
        out[at] = {("AmazonEC2", "BoxUsage"): round(ec2, 4), ("AmazonS3", "TimedStorage"): 3.0}
    return out


# Leaves of the team fixtures: EC2 is the payments team's, S3 search's, Lambda untagged.
TEAM_TAGS = {
    ("AmazonEC2", "BoxUsage"): {"team": "payments"},
    ("AmazonS3", "TimedStorage"): {"team": "search"},
}


def tagged_month(
    spike_day: int | None, days: int, account: str = "1", extra_usd: float = 600.0
) -> list[list]:
    """Month-to-date deliveries of days 0..days-1 with TEAM_TAGS; payments' EC2 spikes once."""
    rng = np.random.default_rng(3)
    truth = {
        BILLING + timedelta(days=i): {
            ("AmazonEC2", "BoxUsage"): 300.0 * (1 + rng.normal(0, 0.02))
            + (extra_usd if i == spike_day else 0.0),
            ("AmazonS3", "TimedStorage"): 200.0 * (1 + rng.normal(0, 0.02)),
            ("AWSLambda", "Request"): 50.0 * (1 + rng.normal(0, 0.02)),
        }
        for i in range(days)
    }
    return [
        delivery(
            account,
            f"{account}-a{n}",
            {d: v for d, v in truth.items() if d <= BILLING + timedelta(days=n)},
            tags=TEAM_TAGS,
        )
        for n in range(days)
    ]
