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
    # The duty window (savings.py): its start and end (epoch seconds), hours billed in it.
    window_start: float | None = None
    window_end: float | None = None
    window_hours: float | None = None

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
            None if event.window_start is None else event.window_start.timestamp(),
            None if event.window_end is None else event.window_end.timestamp(),
            event.window_hours,
        )
