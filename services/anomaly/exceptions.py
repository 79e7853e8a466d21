"""The anomaly service's exceptions: one root, messages that say what to do."""

from __future__ import annotations


class AnomalyError(Exception):
    """Root of every error this service raises on purpose."""


class BadRecordError(AnomalyError, ValueError):
    """A record decoded but cannot be processed; it goes to the dead-letter topic."""


class MetricDetectorMissingError(AnomalyError):
    """The metric detector package is not installed in this build."""


class MetricDetectorError(AnomalyError):
    """Root of metric-detector errors; the message says what to fix."""


class InvalidDatapointError(MetricDetectorError, ValueError):
    """A datapoint value is NaN or infinite: drop it (dead-letter) instead of scoring it."""
