"""Right-sizing recommendations: the current one per resource (compacted)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.base import Event, Int64

Finding = Literal["idle", "overprovisioned", "underprovisioned", "optimized", "insufficient_data"]
# Which hourly rate the costs and savings use: the type's On-Demand list price,
# or the instance's effective rate on the bill (RI / Savings Plan coverage included).
PriceBasis = Literal["on_demand_list", "effective_cur"]


class RightsizeOption(BaseModel):
    """One candidate instance type, ranked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rank: Int64
    instance_type: str
    architecture: str | None = None
    vcpu: float
    memory_gib: float
    hourly_price: float
    projected_cpu_pct: float = Field(description="Projected CPU percentile on this type.")
    projected_memory_pct: float | None = None
    monthly_cost: float
    monthly_savings: float
    performance_risk: float = Field(ge=0.0, le=4.0)
    migration_effort: Literal["very_low", "low", "medium", "high"]
    platform_differences: list[str] = Field(
        default_factory=list,
        description="What changes besides size: architecture, CPU vendor, hypervisor.",
    )


class OffHoursSchedule(BaseModel):
    """A recurring stop schedule for a business-hours workload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = "UTC"
    run_hours: list[int] = Field(description="Hours of week (0 = Monday 00:00) to keep running.")
    stopped_hours_per_week: Int64
    monthly_savings: float
    consistency: float = Field(description="Share of weeks whose idle hours match the schedule.")


class Recommendation(Event):
    """The current recommendation for one instance."""

    event_type = "spendstream.recommendation"

    resource_id: str
    account_id: str
    region: str
    current_type: str
    finding: Finding
    reason: str
    lookback_days: Int64
    cpu_percentile: float
    cpu_peak_pct: float | None = None
    memory_measured: bool
    memory_peak_pct: float | None = None
    network_mb_per_day: float | None = None
    hours_observed: float
    current_monthly_cost: float | None = None
    options: list[RightsizeOption] = Field(default_factory=list)
    estimated_monthly_savings: float = 0.0
    price_basis: PriceBasis = Field(
        "on_demand_list", description="The rate behind the costs and savings."
    )
    reservation_at_risk: str | None = Field(
        None, description="The Reserved Instance acting on this would leave unused (its ARN)."
    )
    schedule: OffHoursSchedule | None = None
    previous_finding: Finding | None = None
    regression: bool = Field(False, description="Was right-sized, is now under-provisioned.")
    generated_at: datetime
