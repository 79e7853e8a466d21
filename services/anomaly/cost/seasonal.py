"""Robust weekly-seasonal cost detector: one instance per daily cost series.

Daily cost has a weekly rhythm (weekday batch jobs, quiet weekends), a slow
trend (growth) and occasional level shifts (a new workload). The model is a
multiplicative Holt-Winters baseline whose updates are *winsorised* at the
band, so a spike does not drag the baseline up, plus River's rolling quantile
of relative residuals for the band width. After ``level_shift_days``
consecutive days outside the band in the same direction the model re-bases on
the new level instead of alerting for weeks.

>>> from datetime import date, timedelta
>>> det = CostSeriesDetector(CostDetectorConfig(min_impact_usd=5.0))
>>> start = date(2024, 1, 1)
>>> for i in range(28):
...     v = det.observe(start + timedelta(days=i), 100.0 + (20.0 if i % 7 < 5 else 0.0))
>>> v = det.observe(start + timedelta(days=28), 300.0)
>>> v.anomalous, round(v.expected)
(True, 120)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.anomaly.plain_stats import RollingQuantile

DAYS_PER_WEEK = 7


@dataclass(frozen=True)
class CostDetectorConfig:
    """Tuning for the daily cost detector; every number says why it is what it is."""

    # Three full weeks: every weekday seen three times before its factor and the
    # band width are trusted (two weeks left the first alerts mostly noise).
    warmup_days: int = 21
    # Band half-width in robust standard deviations of relative residuals: 5
    # absorbs the heavier-than-Gaussian tails of real billing noise (4 raised
    # about one false alarm per account-month on the development seeds).
    k_sigma: float = 5.0
    # AWS-style floors (users set both): alert only if the excess is at least
    # this many dollars a day; smaller excesses are not worth a person's look ...
    min_impact_usd: float = 25.0
    # ... and at least this fraction of the expected cost.
    min_pct: float = 0.10
    # Consecutive out-of-band days that confirm a level shift (then re-base).
    level_shift_days: int = 3
    # Holt-Winters smoothing: level, trend, weekday factors. Small values keep the
    # baseline stable across a week of noise while following growth.
    alpha: float = 0.3
    beta: float = 0.05
    gamma: float = 0.1
    # Four weeks of residuals set the band width: long enough to be stable,
    # short enough to follow a change in volatility within a month.
    residual_window: int = 28
    # Which quantile of |relative residual| sets the band, and the factor that
    # turns it into a Gaussian sigma (0.5 -> 1.4826, the MAD; 0.9 -> 1/1.645).
    # The 90th percentile widens the band for bursty, heavy-tailed usage types
    # (data transfer, NAT bytes, scanned TB) where the median understated it.
    residual_quantile: float = 0.9
    residual_to_sigma: float = 1 / 1.645
    # A band estimated from n residuals is itself uncertain: widen it by
    # (1 + boost / n), i.e. x1.67 right after warm-up, fading within weeks.
    young_band_boost: float = 14.0
    # Billing data is never noise-free in relative terms; a 2% floor stops a
    # perfectly flat series from alerting on cents.
    noise_floor_pct: float = 0.02
    # CUSUM on in-band residuals catches slow ramps (a leak) that never leave the
    # band on any single day: slack in robust sigmas per day, and the alarm level.
    cusum_slack: float = 1.0
    cusum_alarm: float = 5.0


@dataclass(frozen=True)
class CostVerdict:
    """What the detector thinks of one day's cost."""

    day: date
    actual: float
    expected: float
    lower: float
    upper: float
    score: float
    anomalous: bool
    level_shift: bool = False
    warming_up: bool = False


def _score(z: float, k: float) -> float:
    """Map a positive z to [0, 1): 0.5 at the band edge, 0.75 at twice the band."""
    if z <= 0.0:
        return 0.0
    return 1.0 - 0.5 ** (z / k)


class CostSeriesDetector:
    """Online detector for one daily cost series (its state is plain data)."""

    def __init__(self, config: CostDetectorConfig | None = None, born_late: bool = False) -> None:
        """``born_late``: the series appeared after its account's warm-up (a new cost)."""
        self.config = config or CostDetectorConfig()
        self.born_late = born_late
        self._cusum = 0.0
        self._cusum_base: float | None = None
        self._warm: list[tuple[date, float]] = []
        self._level = 0.0
        self._trend = 0.0
        self._season = [1.0] * DAYS_PER_WEEK
        self._abs_rel_resid = RollingQuantile(
            q=self.config.residual_quantile, window_size=self.config.residual_window
        )
        self._n_resid = 0
        self._streak: list[tuple[date, float]] = []
        self._streak_sign = 0
        self.last_day: date | None = None
        self.n_seen = 0

    @property
    def ready(self) -> bool:
        """True once the warm-up is over and the detector may alert."""
        return not self._warm and self.n_seen >= self.config.warmup_days

    def expected_for(self, day: date) -> float:
        """The baseline for ``day`` (the mean so far while warming up, 0 if unseen)."""
        if not self.ready:
            values = [v for _, v in self._warm]
            return sum(values) / len(values) if values else 0.0
        steps = (day - self.last_day).days if self.last_day else 1
        return max(0.0, (self._level + steps * self._trend) * self._season[day.weekday()])

    def _band(self, expected: float, widen: float) -> tuple[float, float, float]:
        """Lower, upper and the relative scale used for them."""
        raw = self._abs_rel_resid.get()
        cfg = self.config
        scale = max(cfg.noise_floor_pct, cfg.residual_to_sigma * raw if raw is not None else 0.0)
        scale *= 1.0 + cfg.young_band_boost / max(1, self._n_resid)
        half = self.config.k_sigma * scale * widen * max(expected, self.config.min_impact_usd)
        return max(0.0, expected - half), expected + half, scale

    def assess(self, day: date, actual: float, widen: float = 1.0) -> CostVerdict:
        """Score ``actual`` for ``day`` without learning it."""
        expected = self.expected_for(day)
        cfg = self.config
        if not self.ready:
            # A cost that did not exist before is itself the anomaly (a new service).
            new = self.born_late and not self._warm and actual >= cfg.min_impact_usd * widen
            return CostVerdict(
                day,
                actual,
                expected,
                0.0,
                cfg.min_impact_usd,
                0.75 if new else 0.0,
                new,
                warming_up=True,
            )
        lower, upper, scale = self._band(expected, widen)
        denominator = max(expected, cfg.min_impact_usd)
        z = (actual - expected) / (scale * denominator * widen)
        if actual > upper:
            return CostVerdict(
                day,
                actual,
                expected,
                lower,
                upper,
                _score(z, cfg.k_sigma),
                self._above_floors(actual, expected),
            )
        cusum = max(0.0, self._cusum + z - cfg.cusum_slack)
        base = self._cusum_base if self._cusum_base is not None else expected
        if cusum >= cfg.cusum_alarm and self._above_floors(actual, base):
            # Drift: report against the level before it began, then accept it.
            return CostVerdict(
                day,
                actual,
                base,
                lower,
                max(upper, base),
                0.5 + 0.5 * _score(cusum - cfg.cusum_alarm, cfg.cusum_alarm),
                True,
                level_shift=True,
            )
        return CostVerdict(day, actual, expected, lower, upper, _score(z, cfg.k_sigma), False)

    def assess_partial(
        self,
        day: date,
        actual: float,
        share: float,
        widen: float = 1.0,
        noise_exponent: float = 0.5,
    ) -> CostVerdict:
        """Score the cost of the first hours of ``day``, expected to hold ``share`` of it.

        Excess only: an incomplete day shows less than it will, so it is never a drop
        or a level shift, and it is never learned. The band widens by
        ``share ** -noise_exponent`` (a part of a day is relatively noisier); the
        floors are the daily ones, applied to the excess so far.
        """
        if not self.ready:  # a cost that did not exist before is anomalous from its first hours
            return self.assess(day, actual, widen)
        cfg = self.config
        share = min(1.0, max(share, 1.0 / 24))
        expected = self.expected_for(day) * share
        lower, upper, scale = self._band(expected, widen * share**-noise_exponent)
        z = (actual - expected) / (scale * max(expected, cfg.min_impact_usd) * widen)
        above = actual > upper
        return CostVerdict(
            day,
            actual,
            expected,
            lower,
            upper,
            _score(z * share**noise_exponent, cfg.k_sigma),
            above and self._above_floors(actual, expected),
        )

    def _above_floors(self, actual: float, expected: float) -> bool:
        excess = actual - expected
        return excess >= self.config.min_impact_usd and excess >= self.config.min_pct * max(
            expected, 1e-9
        )

    def observe(
        self, day: date, actual: float, widen: float = 1.0, learn: bool = True
    ) -> CostVerdict:
        """Score ``actual`` for ``day``, then learn it (winsorised at the band)."""
        verdict = self.assess(day, actual, widen)
        if not learn or (self.last_day is not None and day <= self.last_day):
            return verdict
        if verdict.warming_up:
            self._learn_warmup(day, actual)
            return verdict
        if verdict.level_shift:  # CUSUM drift confirmed
            self._rebase([(day, actual)])
            return verdict
        self._track_cusum(verdict)
        shifted = self._track_streak(day, verdict)
        if shifted:
            return CostVerdict(**{**verdict.__dict__, "level_shift": True})
        clipped = min(max(actual, verdict.lower), verdict.upper)
        self._learn(day, clipped, verdict.expected)
        return verdict

    def accept_level(self, day: date, actual: float) -> None:
        """Re-base on ``actual`` as the new normal (a person said the change is expected)."""
        self._rebase([(day, actual)])

    def _learn_warmup(self, day: date, actual: float) -> None:
        self._warm.append((day, actual))
        self.last_day = day
        self.n_seen += 1
        if len(self._warm) < self.config.warmup_days:
            return
        values = [v for _, v in self._warm]
        mean = sum(values) / len(values)
        if mean > 0:
            for dow in range(DAYS_PER_WEEK):
                same = [v for d, v in self._warm if d.weekday() == dow]
                if same:
                    self._season[dow] = max(0.05, (sum(same) / len(same)) / mean)
        week = DAYS_PER_WEEK
        recent = [v / self._season[d.weekday()] for d, v in self._warm[-week:]]
        older = [v / self._season[d.weekday()] for d, v in self._warm[:week]]
        self._level = sum(recent) / len(recent)
        self._trend = (self._level - sum(older) / len(older)) / max(1, len(values) - week)
        last = self._warm[-1][0]
        for d, v in self._warm:
            exp = (self._level - self._trend * (last - d).days) * self._season[d.weekday()]
            self._abs_rel_resid.update(abs(v - exp) / max(exp, self.config.min_impact_usd))
            self._n_resid += 1
        self._warm = []

    def _learn(self, day: date, value: float, expected: float) -> None:
        cfg = self.config
        s = self._season[day.weekday()]
        prev_level = self._level
        self._level = cfg.alpha * (value / s) + (1 - cfg.alpha) * (self._level + self._trend)
        self._trend = cfg.beta * (self._level - prev_level) + (1 - cfg.beta) * self._trend
        if self._level > 0:
            new_s = cfg.gamma * (value / self._level) + (1 - cfg.gamma) * s
            self._season[day.weekday()] = max(0.05, new_s)
        denominator = max(expected, cfg.min_impact_usd)
        self._abs_rel_resid.update(abs(value - expected) / denominator)
        self._n_resid += 1
        self.last_day = day
        self.n_seen += 1

    def _track_cusum(self, verdict: CostVerdict) -> None:
        if verdict.actual > verdict.upper or verdict.actual < verdict.lower:
            return  # out-of-band days belong to the spike and level-shift rules
        half = verdict.upper - verdict.expected
        z = (verdict.actual - verdict.expected) * self.config.k_sigma / half if half > 0 else 0.0
        if self._cusum == 0.0:
            self._cusum_base = verdict.expected
        self._cusum = max(0.0, self._cusum + z - self.config.cusum_slack)
        if self._cusum == 0.0:
            self._cusum_base = None

    def _track_streak(self, day: date, verdict: CostVerdict) -> bool:
        sign = 1 if verdict.actual > verdict.upper else -1 if verdict.actual < verdict.lower else 0
        if sign == 0 or sign != self._streak_sign:
            self._streak = []
        self._streak_sign = sign
        if sign == 0:
            return False
        self._streak.append((day, verdict.actual))
        if len(self._streak) < self.config.level_shift_days:
            return False
        self._rebase(self._streak)
        return True

    def _rebase(self, points: list[tuple[date, float]]) -> None:
        deseasonalised = [v / self._season[d.weekday()] for d, v in points]
        self._level = sum(deseasonalised) / len(deseasonalised)
        self._trend = 0.0
        self._cusum = 0.0
        self._cusum_base = None
        self._streak = []
        self._streak_sign = 0
        self.last_day = max(d for d, _ in points)
        self.n_seen = max(self.n_seen, self.config.warmup_days)
