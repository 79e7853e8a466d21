"""Streaming metric anomaly detector: EWMA prediction error -> anomaly likelihood -> score."""

from services.anomaly.detectors.metric.config import MetricDetectorConfig
from services.anomaly.detectors.metric.detector import DetectionResult, MetricDetector
from services.anomaly.detectors.metric.errors import InvalidDatapointError, MetricDetectorError

__all__ = [
    "DetectionResult",
    "InvalidDatapointError",
    "MetricDetector",
    "MetricDetectorConfig",
    "MetricDetectorError",
]
