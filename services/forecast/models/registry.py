"""Model names -> factories, so settings and reports can name models as strings.

The statsforecast models and ``damped_holt_ms`` carry the month-start term
(``models.month_start``); Prophet has its own month-start regressor.
"""

from __future__ import annotations

from services.forecast.exceptions import UnknownModelError
from services.forecast.models.base import Model
from services.forecast.models.damped_holt import DampedHolt
from services.forecast.models.month_start import MonthStart
from services.forecast.models.prophet_model import ProphetModel
from services.forecast.models.seasonal_naive import SeasonalNaive
from services.forecast.models.statsforecast_models import FACTORIES, StatsForecastModel

# Simplest (and cheapest) first: the order selection breaks ties in.
MODEL_NAMES: tuple[str, ...] = (
    "seasonal_naive",
    "damped_holt",
    "damped_holt_ms",
    *FACTORIES,
    "prophet",
)


def build_model(name: str, prophet_uncertainty_samples: int = 200, seed: int = 0) -> Model:
    """A model factory by name.

    >>> build_model("seasonal_naive").name, build_model("autoets").name
    ('seasonal_naive', 'autoets')
    """
    if name == "seasonal_naive":
        return SeasonalNaive()
    if name == "damped_holt":
        return DampedHolt()
    if name == "damped_holt_ms":
        return MonthStart(DampedHolt(), name)
    if name in FACTORIES:
        return MonthStart(StatsForecastModel(name), name)
    if name == "prophet":
        return ProphetModel(uncertainty_samples=prophet_uncertainty_samples, seed=seed)
    raise UnknownModelError(f"unknown model {name!r}; choose from {', '.join(MODEL_NAMES)}")
