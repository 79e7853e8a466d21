"""A producer inventing metric names cannot grow one resource's state without bound.

State is keyed by resource, so every metric name sent for one instance id adds a
detector to that one state; past ``max_streams`` the point is refused with a
reason (a ValueError, which the loop dead-letters) and the state stays as it was.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.anomaly.fleet.resource_tracker import (
    FleetConfig,
    ResourceTracker,
    TooManyStreamsError,
)
from services.anomaly.metric import MetricDetector, MetricDetectorConfig

NOW = datetime(2026, 7, 1, tzinfo=UTC)


def test_metric_names_past_the_cap_are_refused_and_the_state_stops_growing() -> None:
    tracker = ResourceTracker("i-1", FleetConfig(max_streams=8))
    for n in range(8):
        tracker.observe(f"Forged{n}", "Average", NOW, 1.0, "111", NOW, MetricDetector)
    with pytest.raises(TooManyStreamsError, match="at most 8"):
        tracker.observe("Forged8", "Average", NOW, 1.0, "111", NOW, MetricDetector)
    assert isinstance(TooManyStreamsError("x"), ValueError)  # the loop dead-letters these
    assert len(tracker.streams) == 8
    tracker.observe(
        "Forged0", "Average", NOW, 2.0, "111", NOW, lambda: MetricDetector(MetricDetectorConfig())
    )
