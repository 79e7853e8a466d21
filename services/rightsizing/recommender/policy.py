"""The sizing policy: Compute Optimizer's defaults, with its selectable alternatives.

>>> p = SizingPolicy()
>>> p.cpu_target_pct, p.cpu_quantile
(80.0, 0.995)
"""

from __future__ import annotations

from dataclasses import dataclass

from services.rightsizing.exceptions import RightsizingError

CPU_PERCENTILE_CHOICES = (90.0, 95.0, 99.5)
CPU_HEADROOM_CHOICES = (0.0, 20.0, 30.0)
# AWS bills and Compute Optimizer quotes a month as 730 hours (8,760 / 12).
HOURS_PER_MONTH = 730.0


@dataclass(frozen=True)
class SizingPolicy:
    """How we size; every default is Compute Optimizer's so results compare directly."""

    # P99.5 of the 5-minute maximum CPU: Compute Optimizer's default percentile.
    cpu_percentile: float = 99.5
    # 20% headroom: projected CPU on a candidate must stay under 80%.
    cpu_headroom_pct: float = 20.0
    # Same margin for memory, applied only when the CloudWatch agent reports it.
    memory_headroom_pct: float = 20.0
    lookback_days: int = 14
    # Below 30 hours Compute Optimizer gives no finding; neither do we.
    min_hours: float = 30.0
    # Compute Optimizer's idle rule: peak CPU under 5% and network under 5 MB/day.
    idle_cpu_pct: float = 5.0
    idle_network_mb_per_day: float = 5.0
    max_options: int = 3
    # Compute Optimizer's "CPU vendor and architecture" preference: CURRENT by
    # default (options keep the instance's architecture and CPU vendor). Opted
    # in (per account, SPENDSTREAM_RIGHTSIZING_OTHER_ARCHITECTURE_ACCOUNTS),
    # Graviton and other x86 vendors are offered too, with their platform
    # differences listed, never an architecture the instance's OS cannot run.
    other_architectures: bool = False
    # Opted in, Graviton's savings count this much more when ranking options
    # (it is usually the best price-performance; effort says "medium").
    graviton_rank_bonus: float = 0.10
    # Memory unmeasured: an option with less memory than now is still offered
    # when CPU fits (as Compute Optimizer does), at this much more risk.
    unmeasured_memory_risk: float = 1.0
    # Ignore options saving under 1% of the current cost: not worth a migration.
    min_savings_fraction: float = 0.01

    def __post_init__(self) -> None:
        if self.cpu_percentile not in CPU_PERCENTILE_CHOICES:
            raise RightsizingError(
                f"cpu_percentile {self.cpu_percentile} unsupported; choose one of "
                f"{CPU_PERCENTILE_CHOICES} (Compute Optimizer's choices)"
            )
        if self.cpu_headroom_pct not in CPU_HEADROOM_CHOICES:
            raise RightsizingError(
                f"cpu_headroom_pct {self.cpu_headroom_pct} unsupported; choose one of "
                f"{CPU_HEADROOM_CHOICES}"
            )

    @property
    def cpu_quantile(self) -> float:
        """The percentile as a quantile in [0, 1]."""
        return self.cpu_percentile / 100.0

    @property
    def cpu_target_pct(self) -> float:
        """The highest projected CPU percentile an option may have."""
        return 100.0 - self.cpu_headroom_pct

    @property
    def memory_target_pct(self) -> float:
        """The highest projected memory percentile an option may have."""
        return 100.0 - self.memory_headroom_pct
