"""Accuracy metrics: MAPE, MASE and interval coverage.

MASE divides the mean absolute error by the in-sample MAE of the weekly
seasonal naive forecast on the training window (Hyndman & Koehler 2006, with
m = 7), so MASE < 1 means "better than last week's same weekday".

>>> import numpy as np
>>> mape(np.array([100.0, 0.0, 50.0]), np.array([110.0, 5.0, 50.0]))
5.0
>>> seasonal_naive_mae(np.tile([1.0, 2, 3, 4, 5, 6, 7], 3))
0.0
"""

from __future__ import annotations

import numpy as np

WEEK = 7


def mape(actual: np.ndarray, predicted: np.ndarray) -> float | None:
    """Mean absolute percentage error in percent, over days with non-zero actuals."""
    mask = actual != 0
    if not mask.any():
        return None
    return float(np.mean(np.abs((actual[mask] - predicted[mask]) / actual[mask])) * 100)


def seasonal_naive_mae(train: np.ndarray, season: int = WEEK) -> float:
    """In-sample MAE of the seasonal naive forecast: the MASE denominator."""
    if train.shape[0] <= season:
        return 0.0
    return float(np.mean(np.abs(train[season:] - train[:-season])))


def mase(actual: np.ndarray, predicted: np.ndarray, scale: float) -> float | None:
    """Mean absolute scaled error; None when the training series is perfectly periodic."""
    if scale <= 0:
        return None
    return float(np.mean(np.abs(actual - predicted)) / scale)


def coverage(actual: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """Share of actuals inside ``[lo, hi]``."""
    return float(np.mean((actual >= lo) & (actual <= hi)))


def mean_or_none(values: list[float | None]) -> float | None:
    """Mean of the values that exist, or None when none do."""
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None
