"""Streaming metric anomaly detector: EWMA prediction error -> anomaly likelihood -> score."""

from services.anomaly.exceptions import InvalidDatapointError, MetricDetectorError
from services.anomaly.metric.config import MetricDetectorConfig
from services.anomaly.metric.detector import DetectionResult, MetricDetector

__all__ = [
    "DetectionResult",
    "InvalidDatapointError",
    "MetricDetector",
    "MetricDetectorConfig",
    "MetricDetectorError",
]
