"""Model names -> factories, so settings and reports can name models as strings."""

from __future__ import annotations

from services.forecast.exceptions import UnknownModelError
from services.forecast.models.base import Model
from services.forecast.models.damped_holt import DampedHolt
from services.forecast.models.prophet_model import ProphetModel
from services.forecast.models.seasonal_naive import SeasonalNaive

MODEL_NAMES: tuple[str, ...] = ("seasonal_naive", "damped_holt", "prophet")


def build_model(name: str, prophet_uncertainty_samples: int = 200, seed: int = 0) -> Model:
    """A model factory by name.

    >>> build_model("seasonal_naive").name
    'seasonal_naive'
    """
    if name == "seasonal_naive":
        return SeasonalNaive()
    if name == "damped_holt":
        return DampedHolt()
    if name == "prophet":
        return ProphetModel(uncertainty_samples=prophet_uncertainty_samples, seed=seed)
    raise UnknownModelError(f"unknown model {name!r}; choose from {', '.join(MODEL_NAMES)}")
