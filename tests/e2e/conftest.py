"""End-to-end fixtures: the demo's own pipeline on a small simulated organisation.

Each e2e test runs its own embedded stack and the services as separate
processes, exactly as ``make demo`` does, with a scenario small enough for CI.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.pipeline import Scenario

# 75 days: forecasts need 63 days of history, anomaly detectors 21 days of
# warm-up; 3 CloudWatch days give right-sizing more than its 30-hour minimum.
SMALL = Scenario(seed=11, days=75, accounts=2, instances=12, cloudwatch_days=3)


@pytest.fixture
def stack_dir() -> Iterator[Path]:
    """A state dir PostgreSQL's unprivileged user can enter (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="spendstream-e2e-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
