"""CUR line items and the delivery markers that bracket each ingest attempt.

AWS rewrites month-to-date CUR files several times a day. Each ingest of a
delivery is an *attempt*; consumers count an attempt's line items only once its
``DeliveryCompleted`` marker has arrived, and a completed attempt supersedes
earlier ones for the same account and billing period. Markers are emitted per
account (the topic key) so they land on the same partition as that account's
line items, after them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from shared.events.base import Event, Int64

SourceFormat = Literal["legacy_cur", "cur2", "focus"]


class CostLineItem(Event):
    """One normalised billing line item, whatever format it came from.

    Costs are floats parsed from the file's decimal text; ``repr`` of such a
    float round-trips to the same decimal, so consumers that sum with
    ``Decimal(repr(x))`` reproduce file totals exactly.
    """

    event_type = "spendstream.cur.line-item"

    attempt_id: str
    delivery_id: str = Field(description="Stable id of the delivery (report + billing period).")
    billing_period: date = Field(description="First day of the billing month.")
    source_format: SourceFormat
    source_file: str
    source_row: Int64
    usage_start: datetime
    usage_end: datetime
    account_id: str
    payer_account_id: str | None = None
    service: str
    usage_type: str | None = None
    operation: str | None = None
    region: str | None = None
    resource_id: str | None = None
    instance_type: str | None = None
    line_item_type: str | None = None
    unblended_cost: float
    net_cost: float | None = None
    amortized_cost: float | None = None
    list_cost: float | None = None
    usage_amount: float | None = None
    reservation_arn: str | None = Field(
        None, description="The Reserved Instance that covered this usage (or whose fee this is)."
    )
    reservation_effective_cost: float | None = Field(
        None, description="The RI's amortised upfront plus recurring cost for this usage."
    )
    savings_plan_arn: str | None = Field(None, description="The Savings Plan that covered it.")
    savings_plan_effective_cost: float | None = Field(
        None, description="The Savings Plan's cost for this usage (its rate x usage)."
    )
    commitment_end: datetime | None = Field(
        None, description="When the covering RI's or Savings Plan's term ends (its EndTime)."
    )
    currency: str = "USD"
    tags: dict[str, str] = Field(default_factory=dict)


class DeliveryStarted(Event):
    """An ingest attempt has begun for one account of a delivery."""

    event_type = "spendstream.cur.delivery-started"

    attempt_id: str
    delivery_id: str
    billing_period: date
    account_id: str
    source_format: SourceFormat
    source_uri: str
    manifest_id: str | None = Field(None, description="assemblyId (CUR) or executionId (CUR 2.0).")
    started_at: datetime


class DeliveryCompleted(Event):
    """Every line item of this attempt for this account has been produced."""

    event_type = "spendstream.cur.delivery-completed"

    attempt_id: str
    delivery_id: str
    billing_period: date
    account_id: str
    row_count: Int64
    rejected_count: Int64 = 0
    cost_total: float = Field(description="Sum of unblended cost of the accepted rows.")
    completed_at: datetime


class CurShareDone(Event):
    """One ingestor replica finished its share of a delivery: the accounts on one partition.

    Replicas split a delivery by the line-items partition of each row's account
    (the consumer group on ``spendstream.ingestor.cur-shares.v1`` assigns the
    partitions); this record, on the share's own partition, is that share's
    delivered set. Its attempt's completed markers were acked before it was sent.
    """

    event_type = "spendstream.ingestor.cur-share-done"

    delivery_key: str
    partition: Int64
    attempt_id: str
    rows: Int64
    rejected: Int64
    cost_total: float
    completed_at: datetime


CurEvent = CostLineItem | DeliveryStarted | DeliveryCompleted
