"""Pick the model with the lowest backtest MASE, simplest first on ties.

Prophet is used only where it wins: on a tie, or when no model has a MASE,
the order of ``preference`` (simplest first) decides.

>>> from shared.events.forecasts import BacktestScore
>>> s = lambda m, v: BacktestScore(model=m, folds=3, horizon_days=30, mape=None,
...     mase=v, coverage80=None, coverage95=None)
>>> choose([s("prophet", 0.8), s("seasonal_naive", 0.9)], 30, ("seasonal_naive", "prophet"))
'prophet'
>>> choose([s("prophet", 0.9), s("seasonal_naive", 0.9)], 30, ("seasonal_naive", "prophet"))
'seasonal_naive'
"""

from __future__ import annotations

from collections.abc import Sequence

from services.forecast.exceptions import ForecastError
from shared.events.forecasts import BacktestScore

# Relative MASE improvement a more complex model needs to displace a simpler one;
# below it the difference is fold noise and the simpler, cheaper model wins.
MIN_RELATIVE_GAIN = 0.0


def selection_horizon(scores: Sequence[BacktestScore], wanted: int) -> int | None:
    """The scored horizon closest to ``wanted`` from below (else the smallest)."""
    hs = sorted({s.horizon_days for s in scores})
    if not hs:
        return None
    below = [h for h in hs if h <= wanted]
    return below[-1] if below else hs[0]


def choose(scores: Sequence[BacktestScore], wanted_horizon: int, preference: Sequence[str]) -> str:
    """The chosen model's name among those in ``preference`` that have scores."""
    horizon = selection_horizon(scores, wanted_horizon)
    by_model = {s.model: s.mase for s in scores if s.horizon_days == horizon}
    candidates = [m for m in preference if m in by_model]
    if not candidates:
        raise ForecastError("no model produced a backtest score; check the fit errors logged")
    best = candidates[0]
    for model in candidates[1:]:
        current, challenger = by_model[best], by_model[model]
        if challenger is None:
            continue
        if current is None or challenger < current * (1 - MIN_RELATIVE_GAIN):
            best = model
    return best
