"""The forecast service's exceptions: one root so callers can catch the family."""

from __future__ import annotations


class ForecastError(Exception):
    """Root of every error the forecast service raises on purpose."""


class InsufficientHistoryError(ForecastError):
    """A series is too short to fit or backtest; publish the explicit state instead."""


class UnknownModelError(ForecastError):
    """A model name in settings is not registered; use one of the names listed in the message."""


class ModelFitError(ForecastError):
    """A model failed to fit one series; the other models still compete for it."""
