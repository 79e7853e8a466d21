"""One CloudWatch metric stream: score before learn, and how far its episode reaches.

Each resource x metric x statistic has its own detector (anything with
``score_one(ts, value) -> [0, 1]`` and ``learn_one(ts, value)``). A point is
scored *before* it is learned; a detector that also offers ``update(ts, value)``
(score then learn in one call, returning a result with ``.score``) is used
through it, which assesses each point once instead of twice. A point at or
before the last one seen is a replay and is skipped, so redelivery after a
crash changes nothing.

A score at or above the threshold starts an *episode*. The detector itself goes
quiet for a day after an alert, so the episode's extent comes from the stream's
own week-scale baseline, frozen at the start (hysteresis): an exponentially
weighted mean and spread of its values (``baseline_alpha``, about a week; a
running mean until a week has been seen), which learn only outside episodes.
The stream stays elevated while its smoothed level (``hold_alpha``, about half
an hour) is more than ``hold_sigmas`` spreads from the frozen mean;
``resolve_after`` consecutive points back inside end it, and a level held for
``accept_after`` points is the new normal (the episode ends and the baseline
restarts from that level). A noisy host's bursts stay within its wide spread; a
steady host pinned at 98% does not. So a 3-hour saturation or a day-long leak is
one episode covering it, and a one-point
blip is a one-point episode. The resource incident around the episodes lives in
:mod:`services.anomaly.fleet.resource_tracker`.

>>> from datetime import datetime, timedelta, UTC
>>> class Flat:
...     def score_one(self, ts, value): return 1.0 if value > 50 else 0.0
...     def learn_one(self, ts, value): pass
>>> tr = MetricTracker("i-1|CPUUtilization|Average", Flat(), MetricTrackerConfig())
>>> t0 = datetime(2024, 1, 1, tzinfo=UTC)
>>> tr.observe(t0, 90.0).opened
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol


class ScoringDetector(Protocol):
    """The metric detector contract (``services.anomaly.metric``)."""

    def score_one(self, ts: datetime, value: float) -> float:
        """Anomaly score of ``value`` at ``ts`` in [0, 1], before learning it."""

    def learn_one(self, ts: datetime, value: float) -> None:
        """Update the model with ``value`` at ``ts``."""


@dataclass(frozen=True)
class MetricTrackerConfig:
    """Alerting policy on top of the detector's score."""

    # Scores are anomaly likelihoods: 0.99 is NAB's usual alert threshold, rare
    # enough that a stream of 5-minute points pages about once a day at most.
    threshold: float = 0.99
    # Three normal 5-minute points (15 min) before calling an episode over, so a
    # flapping metric does not open and close every other point.
    resolve_after: int = 3
    detector_name: str = "metric-likelihood-v1"
    # Elevated while the smoothed level is more than this many baseline spreads
    # from the baseline mean: chosen on validation seeds 101-103 (docs/anomaly-eval.md;
    # 3.0 cut leaks and level shifts short, 1.5 let busy hosts' days run on).
    hold_sigmas: float = 2.0
    # Weight of the newest value in the baseline: 1/2016 ~ one week of 5-minute points,
    # so a weekend or a night does not become the baseline a Monday morning is judged
    # against (one day, 1/288, and three days, 1/864, scored lower on validation).
    baseline_alpha: float = 1.0 / 2016.0
    # A level held this many points (1 day at 5 min) is the new normal.
    accept_after: int = 288
    # Weight of the newest value in the episode's smoothed level, which the hold
    # test compares with the baseline: a noisy host's single points cross any
    # band, its level over half an hour does not (0.3 ~ 6 points).
    hold_alpha: float = 0.3
    # Burst memory: the stream keeps, for each of its last ``routine_days`` UTC days,
    # the largest excursion it made (share of capacity x points, summed over a run of
    # points whose smoothed level was beyond the hold band, as an episode counts them,
    # whether or not the detector alerted). The
    # ``routine_rank``-th largest of them is what this host does routinely: an
    # incident is worth a person only once it moved more than that (0 = off).
    routine_days: int = 14
    routine_rank: int = 3

    def __post_init__(self) -> None:
        if not 0 <= self.routine_rank <= self.routine_days:
            raise ValueError(
                f"routine_rank {self.routine_rank} must be within 0..routine_days "
                f"({self.routine_days})"
            )


ACCEPTED = "new level accepted"
#: Metric names that are a percentage of the instance's capacity.
CAPACITY_SUFFIXES = ("Utilization", "_percent")


class StreamStep(NamedTuple):
    """What one point did to a stream that is (or just was) in an episode."""

    opened: bool  # this point started the episode
    active: bool  # the stream is still in its episode after this point
    score: float
    value: float
    baseline: float
    share: float  # |value - baseline| as a share of capacity (utilisation metrics), else 0
    reason: str = ""  # why the episode ended, when it did


def capacity_share(metric: str, value: float, baseline: float) -> float:
    """Share of the instance's capacity that moved: percentage points / 100 of a utilisation.

    Only utilisation metrics (CPU, memory) measure capacity; bytes or counts have
    no capacity without the instance's limits, so they are evidence, not impact (0).
    """
    if metric.endswith(CAPACITY_SUFFIXES):
        return min(1.0, abs(value - baseline) / 100.0)
    return 0.0


class MetricTracker:
    """State of one metric stream (plain data: the changelog codec writes it)."""

    # Burst memory (``routine_days``): the smoothed value at every point, the open
    # excursion's capacity-points (share x points) and its points back inside, today's
    # largest, the last days' largest and their ``routine_rank``-th largest (the
    # routine excursion). Class-level defaults, so a state written before the burst
    # memory existed decodes into a stream that starts with an empty one.
    smooth = 0.0
    run_mass = 0.0
    run_tail = 0
    day_max = 0.0
    day = -1
    daily: tuple[float, ...] = ()
    routine = 0.0
    capacity: bool | None = None  # a utilisation metric (None: not yet looked at)

    def __init__(self, key: str, detector: ScoringDetector, config: MetricTrackerConfig) -> None:
        self.key = key
        self.detector = detector
        self.config = config
        self.last_ts: datetime | None = None
        self.last_value = 0.0
        self.n_seen = 0
        # Day-scale baseline of the values (learned outside episodes only).
        self.mean = 0.0
        self.var = 0.0
        # The open episode: frozen baseline and spread, points so far, consecutive
        # points back inside, peak score, smoothed level.
        self.active: bool = False
        self.baseline = 0.0
        self.spread = 0.0
        self.points = 0
        self.normal_streak = 0
        self.peak = 0.0
        self.level = 0.0  # the episode's smoothed value
        self.capacity = self.metric.endswith(CAPACITY_SUFFIXES)

    @property
    def metric(self) -> str:
        """The metric name of the stream key ``resource|metric|stat``."""
        return [*self.key.split("|"), ""][1]

    def observe(
        self,
        ts: datetime,
        value: float,
        suppressed: bool = False,
        learn: bool = True,
        threshold: float | None = None,
    ) -> StreamStep | None:
        """Score then learn one point; the episode step, or None when nothing is going on.

        ``threshold`` overrides the configured one (feedback raises it after a
        false positive); ``suppressed`` (a planned window) starts nothing.
        """
        if self.last_ts is not None and ts <= self.last_ts:
            return None
        update = getattr(self.detector, "update", None) if learn else None
        if update is not None:
            raw = update(ts, value).score  # scores before it learns, in one assessment
        else:
            raw = self.detector.score_one(ts, value)
            if learn:
                self.detector.learn_one(ts, value)
        score = min(1.0, max(0.0, float(raw)))
        self.last_ts, self.last_value = ts, value
        limit = self.config.threshold if threshold is None else threshold
        anomalous = score >= limit and not suppressed
        capacity = self.capacity
        if capacity is None:
            capacity = self.capacity = self.metric.endswith(CAPACITY_SUFFIXES)
        if capacity and self.config.routine_rank > 0:
            self._remember(ts, value)
        if not self.active:
            if self.n_seen == 0:
                self.mean = value
            if not anomalous:
                self.n_seen += 1
                delta = value - self.mean  # the common case: learn the baseline, say nothing
                # A plain running mean until the EW horizon is filled, so a young stream's
                # baseline is its history so far rather than its first value.
                alpha = max(self.config.baseline_alpha, 1.0 / self.n_seen)
                self.mean += alpha * delta
                self.var = (1.0 - alpha) * (self.var + alpha * delta * delta)
                return None
            self.n_seen += 1
            self.active, self.points, self.normal_streak, self.peak = True, 0, 0, score
            self.level, self.baseline, self.spread = value, self.mean, math.sqrt(self.var)
            return self._step(True, score, value, "")
        self.n_seen += 1
        self.peak = max(self.peak, score)
        alpha = self.config.hold_alpha
        self.level += alpha * (value - self.level)
        elevated = anomalous or (
            abs(self.level - self.baseline) > self.config.hold_sigmas * self.spread
        )
        self.normal_streak = 0 if elevated else self.normal_streak + 1
        if suppressed:
            return self._end(score, value, "planned window")
        if self.normal_streak >= self.config.resolve_after:
            return self._end(score, value, "back to normal")
        if self.points >= self.config.accept_after:
            return self._end(score, value, ACCEPTED)
        return self._step(False, score, value, "")

    def _remember(self, ts: datetime, value: float) -> None:
        """Grow the burst memory by one point (excursions against the week's baseline)."""
        if ts.day != self.day:
            if self.day >= 0:
                days = self.config.routine_days
                self.daily = (*self.daily, max(self.day_max, self.run_mass))[-days:]
                rank = self.config.routine_rank
                self.routine = sorted(self.daily)[-rank] if len(self.daily) >= rank else 0.0
            self.day, self.day_max = ts.day, 0.0
            if self.n_seen == 0:
                self.smooth = value
        self.smooth += self.config.hold_alpha * (value - self.smooth)
        delta = self.smooth - self.mean
        if delta * delta > self.config.hold_sigmas**2 * self.var:
            self.run_tail = 0
        else:
            if self.run_mass == 0.0:
                return
            # Counted as an episode counts its points: until ``resolve_after`` are back.
            self.run_tail += 1
        self.run_mass += abs(value - self.mean) / 100.0
        if self.run_tail >= self.config.resolve_after:
            self.day_max = max(self.day_max, self.run_mass)
            self.run_mass, self.run_tail = 0.0, 0

    def close(self) -> None:
        """End the episode without a point (feedback or eviction closed the incident)."""
        self.active = False

    def _step(self, opened: bool, score: float, value: float, reason: str) -> StreamStep:
        self.points += 1
        share = capacity_share(self.metric, value, self.baseline) if self.active else 0.0
        return StreamStep(opened, self.active, score, value, self.baseline, share, reason)

    def _end(self, score: float, value: float, reason: str) -> StreamStep:
        self.active = False
        if reason == ACCEPTED:  # the held level is the new normal
            self.mean = self.level
        return self._step(False, score, value, reason)
