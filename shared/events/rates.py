"""What one instance really costs an hour, as the bill shows it (RI and Savings Plans included).

Right-sizing learns it from the CUR (keyed by account) and re-keys it by
instance id, so the replica that owns an instance's utilisation also gets its
rate. Only completed deliveries produce one (DESIGN.md's restatement rule).
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.events.base import Event


class InstanceRate(Event):
    """An instance's effective hourly cost over its latest billed days."""

    event_type = "spendstream.rightsizing.instance-rate"

    resource_id: str
    account_id: str
    instance_type: str = Field(description="The type the billed hours ran as.")
    billing_period: date
    attempt_id: str = Field(description="The completed ingest attempt it was learned from.")
    hours: float = Field(gt=0, description="Usage hours the rate averages over.")
    effective_hourly: float = Field(ge=0, description="Amortised cost per usage hour.")
    on_demand_hourly: float | None = Field(
        None, description="Public On-Demand cost per hour from the same lines, when the CUR has it."
    )
    reserved_share: float = Field(0.0, ge=0, le=1, description="Share of hours an RI covered.")
    savings_plan_share: float = Field(0.0, ge=0, le=1, description="Share a Savings Plan covered.")
    reservation_arn: str | None = Field(None, description="The RI that covered most hours.")
    savings_plan_arn: str | None = None
    through: datetime = Field(description="End of the latest billed hour included.")
    window_start: datetime | None = Field(
        None, description="Start (UTC midnight) of the duty window: the delivery's last days."
    )
    window_end: datetime | None = Field(
        None, description="End of the delivery's billed time (all the account's instances)."
    )
    window_hours: float | None = Field(
        None, ge=0, description="This instance's usage hours in the window (its duty cycle)."
    )


class UsageUnitRate(BaseModel):
    """What one account pays per CUR usage unit of one usage type in one region."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    usage_type: str = Field(description="CUR usage type, region prefix stripped.")
    region: str
    cost_usd: float = Field(ge=0, description="Summed cost of the priced Usage line items.")
    usage_amount: float = Field(gt=0, description="Summed usage amount of those line items.")

    @property
    def usd_per_unit(self) -> float:
        """The effective unit rate."""
        return self.cost_usd / self.usage_amount


class AccountUnitRates(Event):
    """An account's effective unit rates, learnt from its CUR, after a completed delivery.

    The anomaly service's cost loop publishes it (compacted, keyed by account) and its
    usage-metric loop prices metric deviations with it; usage types absent here are
    priced at the catalogue's list price, and the resulting estimate says so.
    """

    event_type = "spendstream.anomaly.unit-rates"

    account_id: str
    rates: list[UsageUnitRate] = Field(default_factory=list)
    as_of: datetime = Field(description="When the delivery that last changed them completed.")
