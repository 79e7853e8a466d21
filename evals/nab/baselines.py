"""Baseline streaming detectors run through the same NAB runner as ours, for honest comparison."""

from __future__ import annotations

import math
from datetime import datetime

from river import anomaly, preprocessing, stats, utils

#: Rolling window of the z-score baseline: one day of 5-minute points, like NAB's
#: windowed-Gaussian detector uses a fixed trailing window.
ZSCORE_WINDOW = 288
#: Half-space trees settings: River's defaults, with a window of one day of 5-minute points.
HST_TREES = 10
HST_HEIGHT = 8
HST_WINDOW = 288
#: Fixed seed so the baseline is reproducible.
HST_SEED = 42


class RollingZScore:
    """Score = Gaussian two-sided tail mass of the value's z-score over a trailing window."""

    def __init__(self, window: int = ZSCORE_WINDOW) -> None:
        self._var = utils.Rolling(stats.Var, window_size=window, ddof=0)

    def update(self, timestamp: datetime, value: float) -> float:
        """Score then learn one value."""
        var = self._var.obj
        std = math.sqrt(max(var.get(), 0.0))
        score = 0.0
        if std > 0.0:
            z = abs(value - var.mean.get()) / std
            score = 1.0 - math.erfc(z / math.sqrt(2.0))
        self._var.update(value)
        return score


class HalfSpaceTreesBaseline:
    """River ``HalfSpaceTrees`` on the raw value, scaled online to [0, 1]."""

    def __init__(self) -> None:
        self._scaler = preprocessing.MinMaxScaler()
        self._model = anomaly.HalfSpaceTrees(
            n_trees=HST_TREES, height=HST_HEIGHT, window_size=HST_WINDOW, seed=HST_SEED
        )

    def update(self, timestamp: datetime, value: float) -> float:
        """Score then learn one value."""
        # River's anomaly/preprocessing classes are untyped.
        self._scaler.learn_one({"x": value})  # type: ignore[no-untyped-call]
        x = self._scaler.transform_one({"x": value})  # type: ignore[no-untyped-call]
        score = float(self._model.score_one(x))  # type: ignore[no-untyped-call]
        self._model.learn_one(x)  # type: ignore[no-untyped-call]
        return score
