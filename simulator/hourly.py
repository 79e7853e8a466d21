"""How a series' daily cost spreads over the 24 UTC hours of the day.

Office-driven usage (``diurnal`` templates) follows a daytime hump centred on the
account's office afternoon; always-on and storage usage is flat; charges posted once
(tax, fees, monthly charges) sit in the first hour, as the CUR dates them.
"""

from __future__ import annotations

import numpy as np

from simulator.catalogue import REGION_TZ_OFFSET_H
from simulator.series import Series

ONE_SHOT_KINDS = ("tax", "fee", "monthly")
#: Night-time floor of office-driven usage, as a share of the daytime peak.
NIGHT_FLOOR = 0.35


def hour_weights(series: list[Series]) -> np.ndarray:
    """(series x 24) weights, each row summing to 1."""
    hours = np.arange(24)
    out = np.full((len(series), 24), 1.0 / 24)
    for i, s in enumerate(series):
        if s.kind in ONE_SHOT_KINDS:
            out[i] = 0.0
            out[i, 0] = 1.0
        elif s.diurnal:
            local = (hours + REGION_TZ_OFFSET_H.get(s.region, -5)) % 24
            hump = NIGHT_FLOOR + (1 - NIGHT_FLOOR) * (
                0.5 - 0.5 * np.cos(2 * np.pi * (local - 4) / 24)
            )
            out[i] = hump / hump.sum()
    return out
