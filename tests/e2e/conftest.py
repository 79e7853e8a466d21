"""End-to-end fixtures: the demo's own pipeline on a small simulated organisation.

Each e2e test runs its own embedded stack and the services as separate
processes, exactly as ``make demo`` does, with a scenario small enough for CI.
"""

from __future__ import annotations

from demo.pipeline import Scenario

# 75 days: forecasts need 63 days of history, anomaly detectors 21 days of
# warm-up; 3 CloudWatch days give right-sizing more than its 30-hour minimum.
SMALL = Scenario(seed=11, days=75, accounts=2, instances=12, cloudwatch_days=3)
