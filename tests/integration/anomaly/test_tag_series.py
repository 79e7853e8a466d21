"""A spike in one team's spend alerts on that team's tag series, the tag named as root cause.

A real worker (``SPENDSTREAM_ANOMALY_TAG_KEYS=team``) reads tagged month-to-date
deliveries from the embedded broker; the payments team's EC2 spend triples on one day.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from shared.topics import ANOMALIES
from tests.harness.wait import wait_for
from tests.integration.anomaly import helpers as h
from tests.unit.anomaly.cur_events import tagged_month

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ACCOUNT = "310987654321"
SPIKE_DAY = 18
PAYMENTS = f"daily/{ACCOUNT}#team=payments"


def _tag_events(bootstrap: str, prefix: str) -> list | None:
    events = [
        e
        for e in h.anomalies(bootstrap, prefix, ANOMALIES)
        if e.account_id == ACCOUNT and "#" in e.series_id
    ]
    return events or None


def test_a_team_spike_alerts_on_the_team_series_with_the_tag_as_root_cause(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    batches = tagged_month(SPIKE_DAY, SPIKE_DAY + 2, account=ACCOUNT)
    asyncio.run(h.produce(kafka_bootstrap, topic_prefix, batches))
    worker = h.start_worker(
        kafka_bootstrap, topic_prefix, tmp_path, "tags", {"SPENDSTREAM_ANOMALY_TAG_KEYS": "team"}
    )
    try:
        events = wait_for(
            lambda: _tag_events(kafka_bootstrap, topic_prefix),
            timeout=120,
            interval=1.0,
            description="an anomaly on a tag series",
        )
    finally:
        h.stop(worker)
    assert [(e.action, e.series_id) for e in events] == [("open", PAYMENTS)]
    causes = events[0].root_cause
    assert (causes[0].dimension, causes[0].value) == ("tag", "team=payments")
    assert next(c.value for c in causes if c.dimension == "service") == "AmazonEC2"
    assert events[0].window_start.day == SPIKE_DAY + 1  # data day 18 is 2024-01-19
