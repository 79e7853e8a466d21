"""The ground-truth records a simulated organisation exposes (plain frozen dataclasses)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Literal, NamedTuple

import numpy as np

AnomalyKind = Literal["spike", "level_shift", "new_service", "ramp", "restatement", "metric"]
Profile = Literal[
    "steady", "business_hours", "idle", "bursty", "overprovisioned", "underprovisioned"
]
Finding = Literal["idle", "overprovisioned", "underprovisioned", "optimized"]


@dataclass(frozen=True)
class InjectedAnomaly:
    """One anomaly the simulator put into the data, with its known root cause.

    Cost anomalies live in one daily series (account x service x usage type x region);
    ``magnitude`` is the extra USD per day at full strength. Metric anomalies live in
    one instance's CPUUtilization; ``magnitude`` is percentage points added.
    ``start``/``end`` are inclusive (dates for cost, datetimes for metric anomalies);
    persistent anomalies (level shift, ramp, new service) end on the last simulated day.
    """

    id: str
    kind: AnomalyKind
    level: str
    account_id: str
    service: str | None
    usage_type: str | None
    resource_id: str | None
    metric: str | None
    start: date | datetime
    end: date | datetime
    magnitude: float
    description: str
    region: str | None = None
    series_id: str | None = None
    #: Metric anomalies: "spike", "level_shift", "saturation" or "leak"; cost anomalies
    #: repeat ``kind``.
    shape: str | None = None
    #: Restatement only: the first delivery's value and the restated (final) value.
    original_value: float | None = None
    restated_value: float | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-able dict (dates and datetimes as ISO strings)."""
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["end"] = self.end.isoformat()
        return data


@dataclass(frozen=True)
class SimInstance:
    """One EC2 instance of the simulated fleet and what a right-sizer should say about it."""

    instance_id: str
    account_id: str
    region: str
    instance_type: str
    profile: Profile
    has_memory_agent: bool
    expected_finding: Finding
    schedulable: bool
    notes: str
    vcpu: int
    memory_gib: float
    usd_per_hour: float
    timezone_offset_h: int
    tags: dict[str, str] = field(default_factory=dict)
    #: CPU P99.5 of the 5-minute Maximum over the look-back (what decided the finding).
    cpu_p995: float = 0.0
    cpu_peak: float = 0.0
    mem_p995: float | None = None
    net_mb_per_day_max: float = 0.0
    #: EC2 ``PlatformDetails`` (its OS and licence); priced into ``usd_per_hour``.
    platform: str = "Linux/UNIX"

    def to_json(self) -> dict[str, Any]:
        """JSON-able dict (``platform`` only when not Linux, as before platforms existed)."""
        data = asdict(self)
        if self.platform == "Linux/UNIX":
            del data["platform"]
        return data


class Utilisation(NamedTuple):
    """5-minute CloudWatch series of one instance (``mem`` is NaN without the agent).

    ``timestamps`` are UTC ``datetime64[s]`` period starts; CPU in percent,
    network in bytes per 5-minute period (the ``Sum`` statistic).
    """

    timestamps: np.ndarray
    cpu_max: np.ndarray
    cpu_avg: np.ndarray
    mem: np.ndarray
    net_in: np.ndarray
    net_out: np.ndarray
