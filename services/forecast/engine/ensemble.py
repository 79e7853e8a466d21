"""Equal-weight ensembles of models, built from their members' own fits.

``ensemble_fast`` (opt-in, ``engine.config.FAST_MODELS``) is the mean of
seasonal naive, damped Holt and damped Holt with the month-start term.
On the validation families A-C (135 series, with the recent backtest fold) it
scored MASE@30 < 1 on 74.8% of series, 80% / 95% coverage at 30 days 80.4% /
96.0% and month-end 80% / 95% coverage 80.7% / 90.4%, against 79.3 / 73.2 /
94.3 / 74.1 / 80.7 for per-series selection among today's three models. The
statsforecast models and Prophet, alone, selected or averaged in, gained at
most 2-6 points of MASE@30 < 1 for 2.5-10x the refresh cost, and most
under-covered (docs/forecast-eval.md). Its members fit in milliseconds
(no Prophet), which is where the refresh's speed-up comes from. The three err
differently: seasonal naive keeps last week's shape and level, damped Holt
follows the level and damps trends, and its month-start variant carries the
fees on the 1st that the plain one smears; their mean is steadier than any.
It is not the default: on the held-out families and the original simulator
its means were worse than per-series selection with Prophet, and on the
original simulator its month-end 80% interval covered 38% (the fee on the 1st
is averaged with two members that smear it).

``ensemble`` (opt-in) is the mean of damped Holt and Prophet:

On the validation cost families (issue 19: A-C, 135 series) the backtest winner
among single models was right on the mean but its intervals under-covered
(80%: 71.6% at 30 days; the model that looked best on three folds had been
partly lucky there, so its calibration was too narrow). The mean of damped
Holt's and Prophet's paths and bounds, calibrated on its own backtest folds,
covered 81.8% (95%: 94.5%), put the month-end total inside its 80% interval
for 81.5% and beat seasonal naive at 30 days on 79.3% of series (selection:
77.8%). The two err differently (Prophet extrapolates trend and catches
month-start fees; damped Holt follows level shifts and damps growth), so
their mean is steadier than either. Its folds are combined from the members'
folds: no extra backtest fits. Opt-in (``RefreshConfig.models`` must list it):
on the original simulator its month-end 80% interval covered 50.6% (selection
80.0%), since damped Holt has no month-start term to carry tax and support spikes.

>>> import numpy as np
>>> a = Prediction(*(np.full(2, v) for v in (10.0, 8, 12, 6, 14)))
>>> b = Prediction(*(np.full(2, v) for v in (20.0, 18, 22, 16, 24)))
>>> combine([a, b]).mean.tolist(), combine([a, b]).lo95.tolist()
([15.0, 15.0], [11.0, 11.0])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from services.forecast.backtest.rolling import Fold, ModelBacktest
from services.forecast.models.base import Prediction

ENSEMBLE = "ensemble"
FAST_ENSEMBLE = "ensemble_fast"
#: Ensemble name -> its members, which must be listed before it in the models.
ENSEMBLES: dict[str, tuple[str, ...]] = {
    ENSEMBLE: ("damped_holt", "prophet"),
    FAST_ENSEMBLE: ("seasonal_naive", "damped_holt", "damped_holt_ms"),
}


def combine(predictions: Sequence[Prediction]) -> Prediction:
    """Equal-weight mean of the paths and of each bound (calibration rescales widths)."""
    parts = ("mean", "lo80", "hi80", "lo95", "hi95")
    return Prediction(*(np.mean([getattr(p, k) for p in predictions], axis=0) for k in parts))


def ensemble_backtest(name: str, members: Sequence[ModelBacktest]) -> ModelBacktest | None:
    """The ensemble's folds from its members' (None unless every member has every fold)."""
    if not members or any(m.error is not None or not m.folds for m in members):
        return None
    if len({len(m.folds) for m in members}) != 1:
        return None
    folds = tuple(
        Fold(
            f[0].origin,
            f[0].start,
            f[0].actual,
            combine([x.prediction for x in f]),
            f[0].scale,
            f[0].recent,
        )
        for f in zip(*(m.folds for m in members), strict=True)
    )
    return ModelBacktest(name, folds)
