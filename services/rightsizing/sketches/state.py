"""Per-instance state: inventory facts, a rolling set of day records, and what we last said.

Memory is bounded by the number of days kept (the longest lookback), never by
the number of datapoints. Days older than the retention are dropped as newer
days arrive; the lookback is measured in event time (the newest day seen), so
a replay or a backfill evaluates exactly as the live stream would.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from services.rightsizing.billed_rate import BilledRate
from services.rightsizing.savings import ImplementationRecord, RecommendationMemo
from services.rightsizing.sketches.compact import CompactSketch
from services.rightsizing.sketches.day import SECONDS_PER_DAY, DayRecord

CPU_METRICS = frozenset({"CPUUtilization"})
MEMORY_METRICS = frozenset({"mem_used_percent", "MemoryUtilization"})
NETWORK_METRICS = frozenset({"NetworkIn", "NetworkOut"})
# Compute Optimizer sizes on the 5-minute *maximum*; an Average series is used
# only for instances that send no Maximum (it understates peaks: said in the reason).
PREFERRED_STAT = "Maximum"
# Network counts bytes moved, so only the Sum statistic adds up to bytes per day.
NETWORK_STAT = "Sum"
# The idle rule's "MB" read as MiB, as the simulator's ground truth does.
BYTES_PER_MB = 1024 * 1024
# Lookbacks Compute Optimizer offers; the default is its default.
LOOKBACK_CHOICES = (14, 32, 93)


@dataclass
class Window:
    """Everything the recommender needs about one lookback, merged from the days."""

    cpu: CompactSketch
    mem: CompactSketch | None
    net_mb_per_day: float | None  # the busiest day's network in and out
    hours_observed: float
    cpu_stat: str | None
    days: dict[int, DayRecord]


@dataclass
class InstanceState:
    """Everything kept for one instance; pickles and has a compact binary codec."""

    resource_id: str
    account_id: str = ""
    region: str = ""
    instance_type: str | None = None
    architecture: str | None = None
    platform: str = "Linux/UNIX"
    tenancy: str = "default"  # EC2 Placement.Tenancy
    running: bool = True
    deleted: bool = False
    cpu_stat: str | None = None
    mem_stat: str | None = None
    days: dict[int, DayRecord] = field(default_factory=dict)
    changed: bool = False
    last_finding: str | None = None
    last_digest: str | None = None
    rightsized: bool = False
    recommended_types: list[str] = field(default_factory=list)
    rate: BilledRate | None = None  # from the CUR; None until a delivery completes
    memo: RecommendationMemo | None = None  # what was last published (savings.py)
    implementation: ImplementationRecord | None = None  # what inventory showed done

    @property
    def newest_day(self) -> int | None:
        """The latest UTC day (days since epoch) with data."""
        return max(self.days) if self.days else None

    @staticmethod
    def _accepts(current: str | None, stat: str) -> bool:
        """One statistic per metric: the first seen, until a Maximum supersedes it."""
        return current is None or stat in (current, PREFERRED_STAT)

    def accept(self, metric: str, stat: str) -> bool:
        """Whether points of ``metric``/``stat`` are used; records the statistic chosen.

        The bulk intake calls this before folding CPU points in with
        ``sketches.bulk.add_cpu_points`` (then sets ``changed`` itself).
        """
        if metric in CPU_METRICS:
            if not self._accepts(self.cpu_stat, stat):
                return False
            self.cpu_stat = stat
        elif metric in MEMORY_METRICS:
            if not self._accepts(self.mem_stat, stat):
                return False
            self.mem_stat = stat
        elif metric not in NETWORK_METRICS or stat != NETWORK_STAT:
            return False
        return True

    def add(
        self,
        metric: str,
        stat: str,
        timestamps: np.ndarray,
        values: np.ndarray,
        period_s: int = 300,
    ) -> bool:
        """Fold validated points of one metric in; return False if the metric is not used."""
        if not self.accept(metric, stat):
            return False
        day_of = timestamps // SECONDS_PER_DAY
        for day in np.unique(day_of):
            mask = day_of == day
            record = self.days.get(int(day))
            if record is None:
                record = self.days[int(day)] = DayRecord()
            if metric in CPU_METRICS:
                record.add_cpu(timestamps[mask], values[mask], period_s)
            elif metric in MEMORY_METRICS:
                record.add_memory(values[mask])
            else:
                record.add_network(float(values[mask].sum()))
        self.changed = True
        return True

    def trim(self, retention_days: int) -> None:
        """Drop days that fell out of the longest lookback."""
        newest = self.newest_day
        if newest is None:
            return
        for day in [d for d in self.days if d <= newest - retention_days]:
            del self.days[day]

    def window(self, lookback_days: int) -> Window:
        """Merge the days of the last ``lookback_days`` (ending at the newest day)."""
        newest = self.newest_day
        days = {
            d: r for d, r in self.days.items() if newest is not None and d > newest - lookback_days
        }
        net_days = [r.net_bytes for r in days.values() if r.net_bytes is not None]
        cpu = CompactSketch.merged([r.cpu for r in days.values()])
        mems = [r.mem for r in days.values() if r.mem is not None]
        mem = CompactSketch.merged(mems) if mems else None
        hours = sum(r.hours_observed for r in days.values())
        net = max(net_days) / BYTES_PER_MB if net_days else None
        return Window(cpu, mem, net, hours, self.cpu_stat, days)
