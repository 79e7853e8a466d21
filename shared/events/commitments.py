"""Commitments (Savings Plans, Reserved Instances): what is held, how well it is used, what to buy.

Right-sizing learns them from completed CUR deliveries, per usage account
(Cost Explorer's ``LINKED`` scope): a ``CommitmentReport`` per account and
delivery (compacted, key account id), and a ``CommitmentAlert`` when a
commitment's utilisation falls below the threshold or it expires soon.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.base import Event, Int64

CommitmentKind = Literal["savings_plan", "reservation"]
# What can be bought: Compute Savings Plans (any region, family, OS), EC2 Instance
# Savings Plans (one family in one region), standard Reserved Instances (one type).
Product = Literal["compute_sp", "ec2_instance_sp", "standard_ri"]
PaymentOption = Literal["no_upfront", "partial_upfront", "all_upfront"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HeldCommitment(_Frozen):
    """One Savings Plan or RI seen on the bill over the report's window."""

    arn: str
    kind: CommitmentKind
    hours: float = Field(ge=0, description="Billed hours of the window it was active.")
    commitment_cost: float = Field(
        ge=0, description="What it cost over the window (used + unused), amortised."
    )
    used_cost: float = Field(ge=0, description="The part that covered usage.")
    utilisation: float | None = Field(
        None, ge=0, le=1, description="used / cost; None when the CUR shows no cost for it."
    )
    covered_on_demand: float = Field(
        ge=0, description="On-Demand cost of the usage it covered (what it replaced)."
    )
    net_savings: float = Field(description="covered_on_demand - commitment_cost.")
    end: datetime | None = Field(None, description="When the term ends, if the CUR says.")


class PurchaseRecommendation(_Frozen):
    """The hourly commitment that maximised net savings on the lookback, for one product."""

    product: Product
    term_years: Int64 = Field(ge=1, le=3)
    payment_option: PaymentOption
    lookback_days: Int64
    region: str | None = Field(None, description="RIs and EC2 Instance SPs only.")
    instance_type: str | None = Field(None, description="RIs: the type; EC2 Instance SPs: family.")
    operating_system: str | None = None
    quantity: Int64 | None = Field(None, description="RIs: how many instances.")
    hourly_commitment: float = Field(ge=0, description="$/h committed.")
    discount: float = Field(description="Usage-weighted discount off On-Demand on the lookback.")
    on_demand_cost: float = Field(ge=0, description="Eligible On-Demand spend on the lookback.")
    unpriced_on_demand: float = Field(
        0.0, ge=0, description="On-Demand spend left out: its type has no rate for this product."
    )
    net_savings: float = Field(description="Net savings on the lookback, had it been held.")
    estimated_monthly_savings: float
    projected_coverage: float = Field(
        ge=0, le=1, description="Share of all eligible usage covered, held commitments included."
    )
    projected_utilisation: float = Field(ge=0, le=1)
    break_even_utilisation: float = Field(
        ge=0, le=1, description="Utilisation below which it would cost more than On-Demand."
    )


class UnpricedProduct(_Frozen):
    """A product, term or payment option with no known rate: no savings are invented."""

    product: Product
    term_years: Int64
    payment_option: PaymentOption
    reason: str


class CommitmentReport(Event):
    """One account's commitments over the newest completed delivery, and what to buy."""

    event_type = "spendstream.rightsizing.commitment-report"

    account_id: str
    attempt_id: str = Field(description="The completed ingest attempt it was computed on.")
    window_start: datetime
    window_end: datetime
    hours: Int64 = Field(ge=0, description="Hours of the window with EC2 usage.")
    eligible_on_demand: float = Field(
        ge=0, description="On-Demand-equivalent cost of all EC2 instance hours in the window."
    )
    savings_plan_coverage: float = Field(ge=0, le=1)
    reservation_coverage: float = Field(ge=0, le=1)
    coverage: float = Field(
        ge=0, le=1, description="Share of eligible cost any commitment covered."
    )
    utilisation: float | None = Field(None, ge=0, le=1, description="Over every held commitment.")
    commitments: list[HeldCommitment] = Field(default_factory=list)
    recommendations: list[PurchaseRecommendation] = Field(default_factory=list)
    unpriced: list[UnpricedProduct] = Field(default_factory=list)
    generated_at: datetime


class CommitmentAlert(Event):
    """A held commitment needs attention: used below the threshold, or ending soon."""

    event_type = "spendstream.rightsizing.commitment-alert"

    account_id: str
    arn: str
    kind: CommitmentKind
    reason: Literal["low_utilisation", "expiring"]
    utilisation: float | None = Field(None, ge=0, le=1)
    threshold: float | None = Field(None, ge=0, le=1)
    end: datetime | None = None
    days_left: float | None = None
    unused_cost: float = Field(0.0, ge=0, description="Commitment paid for but not used.")
    detected_at: datetime
