"""Streaming anomaly detector for one metric of one resource (pure; its state is plain data)."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime
from typing import NamedTuple

from river import stats

from services.anomaly.exceptions import InvalidDatapointError
from services.anomaly.metric.config import MetricDetectorConfig
from services.anomaly.metric.likelihood import AnomalyLikelihood, LikelihoodAssessment
from services.anomaly.metric.pattern import PatternMemory, quantise
from services.anomaly.metric.seasonal import SeasonalExpert
from services.anomaly.plain_stats import EWMean


class DetectionResult(NamedTuple):
    """Outcome of scoring one datapoint (scored before learning it); a cheap immutable tuple."""

    score: float
    expected: float
    lower: float
    upper: float
    is_anomaly: bool


class _Assessment(NamedTuple):
    raw: float
    level: int
    contexts: list[int]
    likelihood: LikelihoodAssessment
    result: DetectionResult
    season_raw: float = 0.0
    season_likelihood: LikelihoodAssessment | None = None


class MetricDetector:
    """Scores each datapoint in [0, 1] by how unexpected it is, then learns it.

    Stages, each cheap and O(1) per point:

    1. *Raw surprise*: an EWMA (River ``EWMean``) predicts the next value; the absolute
       error, relative to a slow EWMA of past errors, is squashed into [0, 1]; optionally
       (``pattern_weight``) mixed with the contextual pattern surprise (:mod:`.pattern`,
       after CAD OSE), so a shape the stream has repeated stops being surprising.
    2. *Anomaly likelihood* (Numenta-style): the mean surprise of the last few points is compared
       with the long-run distribution of such means; the Gaussian tail probability is
       log-scaled, and only the first point of a run of very improbable ones keeps a high score.
       Optionally (``season_points``) a seasonal-naive expert (:mod:`.seasonal`: "like this
       time yesterday") has its own surprise and likelihood and the larger score counts, so
       a missing daily ramp is caught. Both options are off by default: see docs/nab-eval.md.
    3. *Spatial anomaly*: a value outside every value seen so far, reached by a surprising
       jump, scores 1.0.

    Scores are 0.0 during the first ``learning_points`` points, and during the
    ``rest_points`` points after a score reached ``threshold``: one alert per incident. During
    an incident the prediction keeps following the data, but the error scale and the
    surprise distribution do not learn, so the incident does not mask the next one.

    Example:
        >>> from datetime import datetime, timedelta
        >>> d = MetricDetector(MetricDetectorConfig(learning_points=20))
        >>> t0 = datetime(2024, 1, 1)
        >>> for i in range(200):
        ...     _ = d.update(t0 + timedelta(minutes=5 * i), 10.0 + (i % 7) * 0.1)
        >>> round(d.score_one(t0 + timedelta(minutes=1000), 10.3), 3)
        0.003
        >>> round(d.score_one(t0 + timedelta(minutes=1000), 25.0), 3)
        1.0
        >>> r = d.update(t0 + timedelta(minutes=1000), 10.45)
        >>> round(r.score, 3), r.is_anomaly
        (0.005, False)
    """

    def __init__(self, config: MetricDetectorConfig | None = None) -> None:
        self.config = config or MetricDetectorConfig()
        self._level = EWMean(fading_factor=self.config.level_alpha)
        self._scale = EWMean(fading_factor=self.config.scale_alpha)
        self._min = stats.Min()
        self._max = stats.Max()
        self._likelihood = AnomalyLikelihood(self.config)
        self._pattern = (
            PatternMemory(
                self.config.pattern_levels,
                self.config.pattern_order,
                self.config.pattern_max_count,
                self.config.pattern_max_counters,
            )
            if self.config.pattern_weight > 0.0
            else None
        )
        self._season = (
            SeasonalExpert(self.config.season_points, self.config.scale_alpha)
            if self.config.season_points > 0
            else None
        )
        self._season_likelihood = (
            AnomalyLikelihood(replace(self.config, long_window=self.config.season_long_window))
            if self._season is not None
            else None
        )
        self._seen = 0
        self._resting = 0  # points left in the quiet period after an alert

    def score_one(self, timestamp: datetime, value: float) -> float:
        """Anomaly score of ``value`` given everything learned so far; does not learn it."""
        return self._assess(value).result.score

    def learn_one(self, timestamp: datetime, value: float) -> None:
        """Learn ``value`` (call after :meth:`score_one` for the same point)."""
        self._commit(value, self._assess(value))

    def update(self, timestamp: datetime, value: float) -> DetectionResult:
        """Score then learn one datapoint; cheaper than ``score_one`` + ``learn_one``."""
        assessment = self._assess(value)
        self._commit(value, assessment)
        return assessment.result

    def _assess(self, value: float) -> _Assessment:
        if not math.isfinite(value):
            raise InvalidDatapointError(
                f"metric value {value!r} is not finite; dead-letter the datapoint"
            )
        cfg = self.config
        if self._seen == 0:
            expected, scale = value, 0.0
        else:
            expected, scale = self._level.get(), self._scale.get()
        error = abs(value - expected)
        if scale > 0.0:
            raw = 1.0 - math.exp(-error / (cfg.error_scale_k * scale))
        else:
            raw = 0.0 if error == 0.0 else 1.0
        level, combined, contexts = -1, raw, []
        if self._pattern is not None and self._seen > 0:
            level = quantise(value, self._min.get(), self._max.get(), cfg.pattern_levels)
            contexts = self._pattern.contexts()
            combined = self._combine(raw, self._pattern.surprise(level, contexts))
        likelihood = self._likelihood.assess(combined)
        probability_score = likelihood.score
        season_raw, season_likelihood = 0.0, None
        if (
            self._season is not None
            and self._season_likelihood is not None
            and self._season.ready()
        ):
            season_raw = self._season.surprise(value, cfg.error_scale_k)
            season_likelihood = self._season_likelihood.assess(season_raw)
            # Like the detector itself, the seasonal likelihood learns before it may score.
            if self._season_likelihood.learned >= cfg.learning_points:
                probability_score = max(probability_score, season_likelihood.score)
        score = 0.0
        if self._seen >= cfg.learning_points and self._resting == 0:
            spatial = raw >= cfg.spatial_min_surprise and self._is_spatial_anomaly(value)
            score = 1.0 if spatial else probability_score
        band = cfg.band_scales * scale
        result = DetectionResult(
            score=score,
            expected=expected,
            lower=expected - band,
            upper=expected + band,
            is_anomaly=score >= cfg.threshold,
        )
        return _Assessment(
            combined,
            level,
            contexts,
            likelihood,
            result,
            season_raw,
            season_likelihood,
        )

    def _combine(self, error_surprise: float, pattern_surprise: float) -> float:
        cfg = self.config
        w = cfg.pattern_weight
        if cfg.pattern_combine == "max":
            return max(error_surprise, pattern_surprise)
        if cfg.pattern_combine == "product":
            return error_surprise ** (1.0 - w) * pattern_surprise**w
        return (1.0 - w) * error_surprise + w * pattern_surprise

    def _is_spatial_anomaly(self, value: float) -> bool:
        low, high = self._min.get(), self._max.get()
        if high <= low:
            return False
        tolerance = (high - low) * self.config.spatial_tolerance
        return value > high + tolerance or value < low - tolerance

    def _commit(self, value: float, assessment: _Assessment) -> None:
        error = abs(value - self._level.get())  # the EWMA's own error, whoever judged
        # An alert and its quiet period are an incident: the error scale and the surprise
        # distribution learn only from normal data, so a second incident still stands out.
        normal = self._resting == 0 and not assessment.result.is_anomaly
        self._level.update(value)
        if self._seen > 0 and normal:
            self._scale.update(error)
        self._min.update(value)
        self._max.update(value)
        if self._season is not None:
            self._season.learn(value, normal=normal)
        if self._season_likelihood is not None and assessment.season_likelihood is not None:
            self._season_likelihood.commit(
                assessment.season_raw, assessment.season_likelihood, normal=normal
            )
        self._likelihood.commit(assessment.raw, assessment.likelihood, normal=normal)
        if self._pattern is not None and assessment.level >= 0:
            self._pattern.learn(assessment.level, assessment.contexts)
        self._seen += 1
        if self._resting > 0:
            self._resting -= 1
        elif assessment.result.is_anomaly:
            self._resting = self.config.rest_points
