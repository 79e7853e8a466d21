"""What an instance costs an hour on the customer's bill, as kept in its state."""

from __future__ import annotations

from dataclasses import dataclass

from shared.events.rates import InstanceRate


@dataclass(frozen=True)
class BilledRate:
    """The latest completed delivery's effective rate of one instance (see ``rates.py``)."""

    instance_type: str
    effective_hourly: float
    on_demand_hourly: float | None
    reserved_share: float
    savings_plan_share: float
    reservation_arn: str | None
    through: float  # epoch seconds of the last billed hour's end
    hours: float | None = None  # usage hours the rate averages over
    window_start: float | None = None  # epoch seconds: the window's first day

    @classmethod
    def of(cls, event: InstanceRate) -> BilledRate:
        """The state's copy of a rate event."""
        return cls(
            event.instance_type,
            event.effective_hourly,
            event.on_demand_hourly,
            event.reserved_share,
            event.savings_plan_share,
            event.reservation_arn,
            event.through.timestamp(),
            event.hours,
            None if event.window_start is None else event.window_start.timestamp(),
        )
