"""Seasonal-naive expert: predict the value one season ago, and track how wrong that is.

A daily shape is the commonest pattern in CloudWatch metrics (traffic, batch jobs). The
EWMA predicts "like the last few points", so every normal daily ramp surprises it and a
missing ramp does not; "like this time yesterday" has the opposite failure. The detector
gives this expert's surprise its own anomaly likelihood and keeps the larger of the two
scores, so each surprise is judged against its own history: on a stream with no daily
shape the seasonal surprise is always high and its likelihood stays quiet. State:
``season`` floats and one running mean.
"""

from __future__ import annotations

import math
from collections import deque

from services.anomaly.plain_stats import EWMean


class SeasonalExpert:
    """The value ``season`` points ago as the prediction, with an EWMA of its absolute error.

    >>> e = SeasonalExpert(season=3, fading_factor=0.5)
    >>> for x in [1.0, 5.0, 9.0, 1.5, 5.0, 9.5, 1.0]:
    ...     e.learn(x)
    >>> e.expected(), e.scale.get(), e.surprise(5.0, k=2.0), round(e.surprise(25.0, k=2.0), 3)
    (5.0, 0.4375, 0.0, 1.0)
    """

    __slots__ = ("past", "scale")

    def __init__(self, season: int, fading_factor: float) -> None:
        self.past: deque[float] = deque(maxlen=season)
        self.scale = EWMean(fading_factor=fading_factor)

    def ready(self) -> bool:
        """True once a full season is held and its error has been measured."""
        return len(self.past) == self.past.maxlen and self.scale.started

    def expected(self) -> float:
        """The value one season before the next point."""
        return self.past[0]

    def surprise(self, value: float, k: float) -> float:
        """1 - exp(-error / (k * scale)), as the detector squashes the EWMA's error."""
        error = abs(value - self.past[0])
        scale = self.scale.get()
        if scale > 0.0:
            return 1.0 - math.exp(-error / (k * scale))
        return 0.0 if error == 0.0 else 1.0

    def learn(self, value: float, *, normal: bool = True) -> None:
        """Measure the error on ``value`` (normal points only), then remember ``value``."""
        if len(self.past) == self.past.maxlen and normal:
            self.scale.update(abs(value - self.past[0]))
        self.past.append(value)
