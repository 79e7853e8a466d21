"""Savings proven: a recommendation carried out, and what it saved on the bill.

Right-sizing publishes one ``Implementation`` per instance (compacted, key
instance id) when inventory shows a recommendation was acted on: the type
changed to one of its options, the instance stopped in a suggested schedule's
off-hours, or it was terminated. The same event is re-published once a later
completed CUR delivery measures the cost after the change (``realised_*``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.events.base import Event

ImplementationKind = Literal["type_change", "schedule", "terminated"]


class Implementation(Event):
    """One instance's implemented recommendation, its estimate and (once billed) its saving."""

    event_type = "spendstream.rightsizing.implementation"

    resource_id: str
    account_id: str
    region: str
    recommendation_id: str = Field(description="The Recommendation event acted on.")
    kind: ImplementationKind
    from_type: str
    to_type: str | None = Field(None, description="The option chosen (type changes only).")
    implemented_at: datetime = Field(description="When inventory first showed the change.")
    estimated_monthly_savings: float = Field(
        description="What the recommendation said this change saves a month."
    )
    before_monthly_cost: float | None = Field(
        None, ge=0, description="Billed cost a month before the change (CUR, effective rates)."
    )
    after_monthly_cost: float | None = Field(
        None, ge=0, description="Billed cost a month after it; None until a delivery shows it."
    )
    realised_monthly_savings: float | None = Field(
        None, description="before - after: what the bill shows the change saved a month."
    )
    measured_through: datetime | None = Field(
        None, description="End of the last billed hour the after-cost includes."
    )
    generated_at: datetime
