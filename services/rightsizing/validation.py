"""Semantic checks on datapoints that decoded fine but cannot be utilisation (pure).

>>> from datetime import UTC, datetime
>>> from shared.events import MetricDatapoint
>>> dp = MetricDatapoint(id="x", resource_id="i-1", account_id="1", region="us-east-1",
...                      metric="CPUUtilization", timestamp=datetime(2026, 1, 1, tzinfo=UTC),
...                      value=140.0)
>>> try:
...     check_datapoint(dp)
... except BadDatapointError as exc:
...     print(exc)
CPUUtilization is a percentage but the value is 140.0 (> 100); fix the producer's units
"""

from __future__ import annotations

import math

from services.rightsizing.exceptions import BadDatapointError
from services.rightsizing.sketches.state import CPU_METRICS, MEMORY_METRICS
from shared.events import MetricDatapoint

# A little slack above 100%: CloudWatch reports 100.0000x on saturated hosts.
PERCENT_SLACK = 1e-6


def check_datapoint(dp: MetricDatapoint) -> None:
    """Raise ``BadDatapointError`` with a reason when ``dp`` cannot be a utilisation sample."""
    if not math.isfinite(dp.value):
        raise BadDatapointError(f"{dp.metric} value is {dp.value}; expected a finite number")
    if dp.value < 0:
        raise BadDatapointError(f"{dp.metric} value is negative ({dp.value}); expected >= 0")
    if dp.metric in CPU_METRICS | MEMORY_METRICS and dp.value > 100 + PERCENT_SLACK:
        raise BadDatapointError(
            f"{dp.metric} is a percentage but the value is {dp.value} (> 100); "
            "fix the producer's units"
        )
    if dp.period_s <= 0:
        raise BadDatapointError(f"period_s is {dp.period_s}; expected a positive number of seconds")
    if not dp.resource_id:
        raise BadDatapointError("resource_id is empty; a datapoint must name its instance")
