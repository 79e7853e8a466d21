"""Response bodies of ``/v1/commitments``: the rightsizing service's reports and alerts."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.events.commitments import (
    CommitmentKind,
    HeldCommitment,
    PurchaseRecommendation,
    UnpricedProduct,
)


class CommitmentReportOut(BaseModel):
    """One account's Savings Plan and RI coverage, utilisation and what to buy."""

    model_config = ConfigDict(extra="ignore")

    account_id: str
    window_start: datetime
    window_end: datetime
    hours: int
    eligible_on_demand: float
    savings_plan_coverage: float
    reservation_coverage: float
    coverage: float
    utilisation: float | None = None
    commitments: list[HeldCommitment]
    recommendations: list[PurchaseRecommendation]
    unpriced: list[UnpricedProduct]
    best_monthly_savings: float = Field(
        description="The largest estimated monthly savings among the recommendations."
    )
    generated_at: datetime


class CommitmentAlertOut(BaseModel):
    """A commitment used below the threshold, or ending soon."""

    model_config = ConfigDict(extra="ignore")

    id: str
    account_id: str
    arn: str
    kind: CommitmentKind
    reason: str
    utilisation: float | None = None
    threshold: float | None = None
    end: datetime | None = None
    days_left: float | None = None
    unused_cost: float
    detected_at: datetime
