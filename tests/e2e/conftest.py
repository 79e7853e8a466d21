"""End-to-end fixtures: the demo's own pipeline on a small simulated organisation.

Each e2e test runs its own embedded stack and the services as separate
processes, exactly as ``make demo`` does, with a scenario small enough for CI.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from demo.pipeline import Scenario

# 75 days: forecasts need 63 days of history, anomaly detectors 21 days of
# warm-up; 3 CloudWatch days give right-sizing more than its 30-hour minimum.
SMALL = Scenario(seed=11, days=75, accounts=2, instances=12, cloudwatch_days=3)
# The one time budget of an e2e test: pytest's timeout (the marker below) and
# every wait inside the test come from it, so a wait can never outlast the
# test. Results trail ingest by forecast fits and right-sizing's evaluation
# interval: a few minutes on a loaded 2-core CI machine.
E2E_TIMEOUT_S = 600.0
# What the waits leave for stopping the services (15 s grace, in parallel)
# and the stack (PostgreSQL's 30 s fast shutdown at worst).
TEARDOWN_S = 60.0
E2E_MARKS = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(E2E_TIMEOUT_S)]


@dataclass(frozen=True)
class Budget:
    """Time left for the waits of one e2e test."""

    deadline: float

    def remaining(self) -> float:
        """Seconds until the waits must give up (never negative)."""
        return max(0.0, self.deadline - time.monotonic())


@pytest.fixture
def budget() -> Budget:
    """The test's wait budget: its pytest timeout minus the teardown's share."""
    return Budget(time.monotonic() + E2E_TIMEOUT_S - TEARDOWN_S)


@pytest.fixture
def stack_dir() -> Iterator[Path]:
    """A state dir PostgreSQL's unprivileged user can enter (pytest's tmp_path is 0700).

    Reachable, the stack keeps PostgreSQL's data inside it, so removing the dir
    removes everything the test made.
    """
    path = Path(tempfile.mkdtemp(prefix="spendstream-e2e-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
