"""Anomaly likelihood: how improbable the recent surprise is against its longer-run distribution.

After Numenta's ``anomaly_likelihood`` (NuPIC, AGPL; re-implemented from its published
description): average the last few raw surprise values, compare that mean with the mean
and standard deviation of such averages over a long history, take the Gaussian tail
probability, keep only the first "red" point of a run, and log-scale so that the useful
range (probabilities 1e-3 .. 1e-10) spreads over [0, 1].
"""

from __future__ import annotations

import math
from collections import deque
from typing import NamedTuple

from services.anomaly.metric.config import MetricDetectorConfig
from services.anomaly.plain_stats import RollingVar

_SQRT2 = math.sqrt(2.0)


class LikelihoodAssessment(NamedTuple):
    """What committing one raw surprise value would do (computed without changing state)."""

    average: float
    probability: float
    is_red: bool
    score: float


class AnomalyLikelihood:
    """Turns a stream of raw surprise values in [0, 1] into log-likelihood scores in [0, 1]."""

    def __init__(self, config: MetricDetectorConfig) -> None:
        self._config = config
        self._recent: deque[float] = deque(maxlen=config.short_window)
        self._recent_sum = 0.0
        self._history = RollingVar(window_size=config.long_window, ddof=0)
        self._prev_red = False

    @property
    def learned(self) -> int:
        """How many averages the long-run distribution holds (it needs some to mean anything)."""
        return len(self._history.window)

    def assess(self, raw: float) -> LikelihoodAssessment:
        """Score ``raw`` as the next value, against the history before it (no state change)."""
        cfg = self._config
        total, count = self._recent_sum + raw, len(self._recent) + 1
        if count > cfg.short_window:
            total -= self._recent[0]
            count -= 1
        average = total / count
        var = self._history.var
        mean = max(var.mean.get(), cfg.min_surprise_mean)
        std = max(math.sqrt(max(var.get(), 0.0)), cfg.min_surprise_std)
        probability = 0.5 * math.erfc((average - mean) / std / _SQRT2)
        is_red = probability <= cfg.red_probability
        if is_red and self._prev_red:
            probability = max(probability, cfg.yellow_probability)
        score = math.log(probability + cfg.probability_floor) / math.log(cfg.probability_floor)
        return LikelihoodAssessment(average, probability, is_red, min(max(score, 0.0), 1.0))

    def commit(self, raw: float, assessment: LikelihoodAssessment, *, normal: bool = True) -> None:
        """Learn ``raw`` (with the assessment ``assess(raw)`` returned).

        ``normal=False`` (during an incident) keeps the recent window moving but leaves the
        long-run distribution alone, so an incident's surprise does not make the next one
        look ordinary.
        """
        if len(self._recent) == self._recent.maxlen:
            self._recent_sum -= self._recent[0]
        self._recent.append(raw)
        self._recent_sum += raw
        if normal:
            self._history.update(assessment.average)
        self._prev_red = assessment.is_red
