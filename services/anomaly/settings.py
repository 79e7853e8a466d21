"""The anomaly service's settings: the only place that knows its environment names.

State that hostile or churning input could grow is evicted on data time:
unfinished ingest attempts after ``anomaly_pending_attempt_hours`` (48) of the
account's delivery markers, metric streams after ``anomaly_metric_idle_days``
(7) without a point.

All names are ``SPENDSTREAM_ANOMALY_*`` except the shared connection settings
inherited from :class:`shared.settings.SpendstreamSettings`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from services.anomaly.cost.account_state import CostStateConfig
from services.anomaly.cost.engine import CostEngineConfig
from services.anomaly.cost.intraday import IntradayConfig
from services.anomaly.cost.seasonal import CostDetectorConfig
from services.anomaly.cost.tags import TagConfig
from services.anomaly.feedback.rules import FeedbackConfig
from services.anomaly.fleet.budget import BudgetConfig
from services.anomaly.fleet.resource_tracker import FleetConfig
from services.anomaly.metric.tracker import MetricTrackerConfig
from services.anomaly.usage.detector import STEPS_PER_DAY, UsageDetectorConfig
from shared.settings import SpendstreamSettings

# Without a detector-provided threshold: a score of 0.99 is rare enough that a
# 5-minute stream pages about once a day at most.
DEFAULT_THRESHOLD = 0.99


class AnomalySettings(SpendstreamSettings):
    """Which loops run, how hard they batch, and every detection knob."""

    service_name: str = "anomaly"

    # Consumer groups: replicas share line-item partitions (so accounts) and
    # datapoint partitions (so resources) independently.
    anomaly_cost_group_id: str = "anomaly-costs"
    anomaly_metric_group_id: str = "anomaly-metrics"
    anomaly_run_costs: bool = True
    anomaly_run_metrics: bool = True
    # Usage metrics priced in dollars (services/anomaly/usage): its own group, since
    # its input (cloudwatch.usage, keyed by account) is partitioned unlike datapoints.
    anomaly_usage_group_id: str = "anomaly-usage"
    anomaly_run_usage: bool = True
    # Days of 5-minute usage a stream needs before it may alert (every hour of the
    # week seen twice); the detector's validated default.
    anomaly_usage_warmup_days: float = 14.0
    # Records per poll: big enough to amortise a state flush, small enough that
    # one batch is processed well inside the rebalance timeout.
    anomaly_max_poll_records: int = 2000
    # State snapshots and offset commits happen together at most this often: a
    # crash replays at most this much input (the per-key offsets skip what was
    # applied), and a stream's state is encoded at most once per interval.
    anomaly_commit_interval_s: float = 1.0
    # Write a changed state as a delta on its last full write (only the new points of
    # its rolling windows); false writes every changed state in full, as before.
    anomaly_state_deltas: bool = True
    # Diagnosis only: log tracemalloc growth every this many seconds (0 = off).
    anomaly_tracemalloc_s: float = 0.0

    # Cost detection (AWS lets users set both floors).
    anomaly_min_impact_usd: float = 25.0
    anomaly_min_pct: float = 0.10
    anomaly_k_sigma: float = 5.0
    anomaly_warmup_days: int = 21
    anomaly_level_shift_days: int = 3
    anomaly_group_share: float = 0.8
    anomaly_restatement_min_usd: float = 10.0
    anomaly_restatement_min_pct: float = 0.05
    # Intra-day judgement of the day CUR is still delivering (cost/intraday.py):
    # on/off, days of hourly history before a series' hour profile is trusted, the
    # hours of the next day a delivery must cover before a day counts as complete,
    # and how much wider the band is for a part of a day (fraction ** -exponent).
    anomaly_intraday: bool = True
    anomaly_intraday_profile_days: int = IntradayConfig().profile_days
    anomaly_intraday_settle_hours: int = IntradayConfig().settle_hours
    anomaly_intraday_noise_exponent: float = IntradayConfig().partial_noise_exponent

    # Cost-allocation tag keys that get series of their own, comma-separated (for
    # example "team,env,cost-center"; empty: none), and how many values per key and
    # account get one (later values share the key's "other" series; cost/tags.py).
    anomaly_tag_keys: str = ""
    anomaly_tag_values_per_key: int = TagConfig().max_values_per_key

    # Metric detector class as "module:Class" (constructed with no arguments);
    # empty means services.anomaly.metric's MetricDetector(MetricDetectorConfig()).
    anomaly_metric_detector: str = ""
    # Metric detection: alert threshold on the detector's score (empty: the
    # detector's own calibrated ``config.threshold``, else 0.99), and the
    # normal points that resolve an incident.
    anomaly_metric_threshold: float | None = None
    anomaly_metric_resolve_after: int = 3
    # How far an episode reaches (metric/tracker.py): elevated while the smoothed
    # level is this many week-scale spreads from the baseline; a level held this
    # many hours is the new normal.
    anomaly_metric_hold_sigmas: float = MetricTrackerConfig.hold_sigmas
    anomaly_metric_accept_hours: float = 24.0
    # Burst memory (metric/tracker.py): an incident is a candidate only once it moved
    # more than the ``rank``-th largest of the stream's daily largest excursions over
    # its last ``days`` days (rank 0 = off).
    anomaly_metric_routine_days: int = MetricTrackerConfig.routine_days
    anomaly_metric_routine_rank: int = MetricTrackerConfig.routine_rank
    # Fleet noise control (fleet/): episodes of one resource this close are one
    # incident; the alert budget per 100 resources a day and its dollar floor;
    # the hourly price assumed for an instance the inventory has not described.
    anomaly_metric_merge_gap_minutes: float = 30.0
    anomaly_metric_alerts_per_100_per_day: float = BudgetConfig.alerts_per_100_per_day
    anomaly_metric_min_impact_usd: float = BudgetConfig.min_impact_usd
    anomaly_metric_default_price_usd: float = FleetConfig.default_price_usd

    # State horizons (data time, so replays and restores evict the same state).
    # An ingest attempt without its completion marker after this many hours of
    # the account's delivery markers is dropped: one CUR file takes minutes to an
    # hour, and AWS redelivers several times a day.
    anomaly_pending_attempt_hours: float = 48.0
    # A metric stream with no point for this many days (of its partition's
    # newest point) is forgotten, its open incident resolved: instances churn,
    # and a stopped one that comes back simply warms up again.
    anomaly_metric_idle_days: float = 7.0

    # Feedback: a false positive widens (or suppresses) the series for this long.
    anomaly_fp_days: float = 7.0
    anomaly_fp_widen: float = 2.0
    anomaly_fp_mode: Literal["widen", "suppress"] = "widen"

    def cost_config(self) -> CostStateConfig:
        """The pure cores' configuration from these settings."""
        detector = CostDetectorConfig(
            warmup_days=self.anomaly_warmup_days,
            k_sigma=self.anomaly_k_sigma,
            min_impact_usd=self.anomaly_min_impact_usd,
            min_pct=self.anomaly_min_pct,
            level_shift_days=self.anomaly_level_shift_days,
        )
        return CostStateConfig(
            engine=CostEngineConfig(
                detector=detector,
                group_share=self.anomaly_group_share,
                intraday=IntradayConfig(
                    enabled=self.anomaly_intraday,
                    profile_days=self.anomaly_intraday_profile_days,
                    settle_hours=self.anomaly_intraday_settle_hours,
                    partial_noise_exponent=self.anomaly_intraday_noise_exponent,
                ),
            ),
            restatement_min_usd=self.anomaly_restatement_min_usd,
            restatement_min_pct=self.anomaly_restatement_min_pct,
            pending_horizon=timedelta(hours=self.anomaly_pending_attempt_hours),
            tags=TagConfig(
                keys=tuple(k.strip() for k in self.anomaly_tag_keys.split(",") if k.strip()),
                max_values_per_key=self.anomaly_tag_values_per_key,
            ),
        )

    def usage_config(self) -> UsageDetectorConfig:
        """The usage-metric detector's tuning (validated defaults, the cost dollar floor)."""
        return UsageDetectorConfig(
            min_usd_per_day=self.anomaly_min_impact_usd,
            warm_steps=int(self.anomaly_usage_warmup_days * STEPS_PER_DAY),
        )

    def metric_config(self, detector_threshold: float | None = None) -> FleetConfig:
        """Metric alerting: streams, resources, budget (the detector's own threshold given)."""
        threshold = self.anomaly_metric_threshold
        if threshold is None:
            threshold = detector_threshold if detector_threshold is not None else DEFAULT_THRESHOLD
        points_per_hour = 12  # 5-minute CloudWatch periods
        stream = MetricTrackerConfig(
            threshold=threshold,
            resolve_after=self.anomaly_metric_resolve_after,
            hold_sigmas=self.anomaly_metric_hold_sigmas,
            accept_after=max(1, round(self.anomaly_metric_accept_hours * points_per_hour)),
            routine_days=self.anomaly_metric_routine_days,
            routine_rank=self.anomaly_metric_routine_rank,
        )
        budget = BudgetConfig(
            alerts_per_100_per_day=self.anomaly_metric_alerts_per_100_per_day,
            min_impact_usd=self.anomaly_metric_min_impact_usd,
        )
        return FleetConfig(
            stream=stream,
            budget=budget,
            merge_gap=timedelta(minutes=self.anomaly_metric_merge_gap_minutes),
            default_price_usd=self.anomaly_metric_default_price_usd,
        )

    def metric_idle_horizon(self) -> timedelta:
        """How long a silent metric stream is kept."""
        return timedelta(days=self.anomaly_metric_idle_days)

    def feedback_config(self) -> FeedbackConfig:
        """What a false positive does."""
        return FeedbackConfig(
            fp_days=self.anomaly_fp_days,
            fp_widen=self.anomaly_fp_widen,
            fp_mode=self.anomaly_fp_mode,
        )
