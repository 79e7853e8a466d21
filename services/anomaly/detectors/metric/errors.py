"""Exceptions of the metric detector, all under one root."""


class MetricDetectorError(Exception):
    """Root of metric-detector errors; the message says what to fix."""


class InvalidDatapointError(MetricDetectorError, ValueError):
    """A datapoint value is NaN or infinite: drop it (dead-letter) instead of scoring it."""
