"""Builders of CUR events for anomaly tests (small, deterministic)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from shared.events import CostLineItem, DeliveryCompleted, DeliveryStarted, stable_id

BILLING = date(2024, 1, 1)
NOW = datetime(2024, 2, 1, tzinfo=UTC)


def delivery(
    account: str,
    attempt: str,
    days: dict[date, dict[tuple[str, str], float]],
    drop: int = 0,
    line_item_type: str = "Usage",
) -> list:
    """DeliveryStarted, one hourly-ish line item per leaf and day, DeliveryCompleted."""
    items = []
    for day, leaves in sorted(days.items()):
        for (service, usage_type), cost in sorted(leaves.items()):
            start = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=3)
            items.append(
                CostLineItem(
                    id=stable_id(attempt, day, service, usage_type),
                    attempt_id=attempt,
                    delivery_id=f"d-{BILLING}",
                    billing_period=BILLING,
                    source_format="cur2",
                    source_file="f.parquet",
                    source_row=len(items),
                    usage_start=start,
                    usage_end=start + timedelta(hours=1),
                    account_id=account,
                    service=service,
                    usage_type=usage_type,
                    region="us-east-1",
                    resource_id=f"i-{usage_type}",
                    line_item_type=line_item_type,
                    unblended_cost=cost,
                )
            )
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
