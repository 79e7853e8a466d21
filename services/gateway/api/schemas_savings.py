"""Response bodies of ``/v1/savings``: recommendations carried out, estimate beside the bill."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.events.savings import ImplementationKind


class ImplementationOut(BaseModel):
    """One instance's implemented recommendation: what was estimated, what the CUR shows."""

    model_config = ConfigDict(extra="ignore")

    resource_id: str
    account_id: str
    region: str
    recommendation_id: str
    kind: ImplementationKind
    from_type: str
    to_type: str | None = None
    implemented_at: datetime
    estimated_monthly_savings: float
    before_monthly_cost: float | None = None
    after_monthly_cost: float | None = None
    realised_monthly_savings: float | None = Field(
        None, description="None until a completed CUR delivery bills time after the change."
    )
    measured_through: datetime | None = None
    generated_at: datetime


class SavingsTotalsOut(BaseModel):
    """The tenant's implemented recommendations summed: the estimate next to the bill."""

    implemented: int
    measured: int = Field(description="Implementations whose cost after is on the bill.")
    estimated_monthly_savings: float = Field(description="Over every implementation.")
    measured_estimated_monthly_savings: float = Field(
        description="The estimate over the measured implementations only (compare with realised)."
    )
    realised_monthly_savings: float = Field(description="What the bill shows, measured ones.")
