"""The knobs of a simulated AWS organisation (frozen, validated, JSON-able)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from simulator.catalogue import PLATFORM_USD_PER_VCPU_HOUR
from simulator.exceptions import SimConfigError

#: Detectors need about three weeks of clean history (three weekly cycles) before
#: the first injected anomaly, or their first alerts are warm-up noise, not misses.
DEFAULT_WARMUP_DAYS = 21
#: Compute Optimizer's default look-back: the expected findings use the last 14 days.
DEFAULT_LOOKBACK_DAYS = 14
#: Shares of the fleet per utilisation profile; they sum to 1.
DEFAULT_PROFILE_MIX: tuple[tuple[str, float], ...] = (
    ("steady", 0.35),
    ("business_hours", 0.15),
    ("idle", 0.10),
    ("bursty", 0.10),
    ("overprovisioned", 0.20),
    ("underprovisioned", 0.10),
)
PROFILES = tuple(name for name, _ in DEFAULT_PROFILE_MIX)
#: A fleet with every OS and licence we price (opt-in: ``SimConfig.platform_mix``).
PLATFORM_MIX: tuple[tuple[str, float], ...] = (
    ("Linux/UNIX", 0.50),
    ("Windows", 0.15),
    ("Red Hat Enterprise Linux", 0.08),
    ("SUSE Linux", 0.05),
    ("Windows with SQL Server Web", 0.04),
    ("Windows with SQL Server Standard", 0.08),
    ("Windows with SQL Server Enterprise", 0.03),
    ("Linux with SQL Server Web", 0.02),
    ("Linux with SQL Server Standard", 0.03),
    ("Linux with SQL Server Enterprise", 0.02),
)
#: Smallest window that fits the warm-up plus a persistent anomaly's evidence.
MIN_DAYS_WITH_ANOMALIES = DEFAULT_WARMUP_DAYS + 7
#: Days of datapoints a metric stream is learned over before an injected metric anomaly
#: may start, when only the last days of the window are written (``metric_window_days``):
#: a week, the horizon of the service's stream baseline (``MetricTrackerConfig``), so a
#: weekday is not judged against a weekend it has only seen.
METRIC_WINDOW_WARMUP_DAYS = 7


@dataclass(frozen=True)
class SimConfig:
    """Everything that decides a simulated organisation; same config, same data.

    Attributes:
        seed: Seed of ``numpy.random.default_rng``; every number derives from it.
        accounts: Member accounts (prod, dev, data, staging, security, ...), 1-12.
        days: Length of the simulated window in days.
        start: First simulated day (UTC).
        instances: EC2 instances in the fleet across all accounts.
        cost_anomalies: Injected cost anomalies (cycling through the kinds).
        metric_anomalies: Injected CloudWatch CPU anomalies.
        memory_agent_share: Share of instances running the CloudWatch agent.
        warmup_days: Clean days before the first anomaly may start.
        lookback_days: Window (ending on the last day) of the expected findings.
        profile_mix: (profile, share) pairs for the fleet.
        restatement: Whether one cost anomaly is a restatement (two deliveries).
        intraday: Realistic intra-day timing: cost anomalies start at a drawn UTC hour
            (their first day carries only the hours from then on) and CUR is delivered
            month-to-date up to three times a day with hours 8-24 h late and the newest
            hours restated (``simulator.deliveries``). False reproduces the original
            data and month-close deliveries exactly.
        platform_mix: (EC2 ``PlatformDetails``, share) pairs for the fleet's OSes and
            licences; empty (the default): every instance Linux/UNIX, as before.
            ``PLATFORM_MIX`` is a mix with every priced OS.
        open_spike_days: One more cost anomaly, a spike over the last N days, so an
            incident is still open when the data ends (0, the default: none, and the
            organisation is exactly as before).
        metric_window_days: Only the last this-many days get CloudWatch datapoints (the
            ``--cloudwatch-days`` of ``spendstream simulate``): metric anomalies then start
            inside them, after ``METRIC_WINDOW_WARMUP_DAYS`` of them (half of a shorter
            window; never before ``warmup_days``), so every injected one is in the data a
            consumer sees.
            None (the default): datapoints cover every day, anomalies as before.
    """

    seed: int = 1
    accounts: int = 4
    days: int = 120
    start: date = date(2026, 6, 1)
    instances: int = 200
    cost_anomalies: int = 8
    metric_anomalies: int = 4
    memory_agent_share: float = 0.5
    warmup_days: int = DEFAULT_WARMUP_DAYS
    lookback_days: int = DEFAULT_LOOKBACK_DAYS
    profile_mix: tuple[tuple[str, float], ...] = field(default=DEFAULT_PROFILE_MIX)
    restatement: bool = True
    intraday: bool = False
    platform_mix: tuple[tuple[str, float], ...] = ()
    open_spike_days: int = 0
    metric_window_days: int | None = None

    def __post_init__(self) -> None:
        """Reject values that would silently produce a meaningless organisation."""
        if not 1 <= self.accounts <= 12:
            raise SimConfigError(f"accounts={self.accounts}: use 1 to 12 member accounts")
        if self.days < 1:
            raise SimConfigError(f"days={self.days}: simulate at least one day")
        if self.instances < 0:
            raise SimConfigError(f"instances={self.instances}: must be 0 or more")
        if self.cost_anomalies < 0 or self.metric_anomalies < 0:
            raise SimConfigError("anomaly counts must be 0 or more")
        wants_anomalies = self.cost_anomalies > 0 or self.metric_anomalies > 0
        if wants_anomalies and self.days < self.warmup_days + 7:
            raise SimConfigError(
                f"days={self.days} leaves no room after the {self.warmup_days}-day warm-up; "
                f"use days >= {self.warmup_days + 7} or set cost_anomalies=metric_anomalies=0"
            )
        if not 0 <= self.open_spike_days <= max(self.days - self.warmup_days, 0):
            raise SimConfigError(
                f"open_spike_days={self.open_spike_days}: use 0 to the days after the warm-up"
            )
        if not 0.0 <= self.memory_agent_share <= 1.0:
            raise SimConfigError("memory_agent_share must be within [0, 1]")
        unknown = {name for name, _ in self.profile_mix} - set(PROFILES)
        if unknown:
            raise SimConfigError(f"unknown profiles {sorted(unknown)}; use some of {PROFILES}")
        total = sum(share for _, share in self.profile_mix)
        if abs(total - 1.0) > 1e-6:
            raise SimConfigError(f"profile_mix shares sum to {total}, not 1")
        bad = {name for name, _ in self.platform_mix} - set(PLATFORM_USD_PER_VCPU_HOUR)
        if bad:
            raise SimConfigError(
                f"unknown platforms {sorted(bad)}; use some of {sorted(PLATFORM_USD_PER_VCPU_HOUR)}"
            )
        if self.platform_mix and abs(sum(s for _, s in self.platform_mix) - 1.0) > 1e-6:
            raise SimConfigError("platform_mix shares must sum to 1")
        if self.metric_window_days is not None and self.metric_window_days < 1:
            raise SimConfigError("metric_window_days must be 1 or more (or None: every day)")

    def metric_anomaly_first_day(self) -> int:
        """Index of the first day a metric anomaly may start on."""
        if self.metric_window_days is None or self.metric_window_days >= self.days:
            return self.warmup_days
        first_written = self.days - self.metric_window_days
        # A window shorter than two weeks (a quick test) gives half of itself to the warm-up.
        learn = min(METRIC_WINDOW_WARMUP_DAYS, self.metric_window_days // 2)
        return max(self.warmup_days, first_written + learn)

    def to_json(self) -> dict[str, Any]:
        """The config as JSON-able values (for the ground-truth file)."""
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["profile_mix"] = [list(pair) for pair in self.profile_mix]
        if self.metric_window_days is None:
            del data["metric_window_days"]  # datapoints of every day: the truth reads as before
        if not self.platform_mix:
            del data["platform_mix"]  # the ground truth of a Linux-only fleet reads as before
        else:
            data["platform_mix"] = [list(pair) for pair in self.platform_mix]
        if not self.open_spike_days:
            del data["open_spike_days"]  # as before when unused
        return data
