"""A spike that starts mid-day opens an incident from the partial-day delivery, and the
next delivery (more hours of the same day) updates that same incident."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.topics import ANOMALIES
from tests.harness.wait import wait_for
from tests.integration.anomaly import helpers as h
from tests.unit.anomaly.cur_events import BILLING, hourly_delivery, spike_hours

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ACCOUNT = "210987654321"
WARMUP_DAYS = 14
HISTORY_DAYS = 22  # warm-up plus a week of daily deliveries: every weekday's profile twice
SPIKE_HOUR = 6
EXTRA_PER_HOUR = 40.0
SERIES = f"daily/{ACCOUNT}/AmazonEC2/BoxUsage"


def _batches() -> tuple[list[list], list, list]:
    start = datetime.combine(BILLING, datetime.min.time(), UTC)
    history = [
        hourly_delivery(
            ACCOUNT, f"day-{d}", spike_hours(d, 0, 0, 0.0), start + timedelta(days=d, hours=9)
        )
        for d in range(WARMUP_DAYS, HISTORY_DAYS + 1)
    ]
    spike_day = start + timedelta(days=HISTORY_DAYS)
    partial = hourly_delivery(
        ACCOUNT,
        "partial-12h",
        spike_hours(HISTORY_DAYS, 12, SPIKE_HOUR, EXTRA_PER_HOUR),
        spike_day + timedelta(hours=22),
    )
    later = hourly_delivery(
        ACCOUNT,
        "partial-20h",
        spike_hours(HISTORY_DAYS, 20, SPIKE_HOUR, EXTRA_PER_HOUR),
        spike_day + timedelta(hours=30),
    )
    return history, partial, later


def _events(bootstrap: str, prefix: str, want: int) -> list | None:
    events = [e for e in h.anomalies(bootstrap, prefix, ANOMALIES) if e.account_id == ACCOUNT]
    return events if len(events) >= want else None


def test_a_partial_day_delivery_opens_and_the_next_updates_the_same_incident(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    history, partial, later = _batches()
    asyncio.run(h.produce(kafka_bootstrap, topic_prefix, [*history, partial]))
    worker = h.start_worker(
        kafka_bootstrap,
        topic_prefix,
        tmp_path,
        "intraday",
        {"SPENDSTREAM_ANOMALY_INTRADAY_PROFILE_DAYS": "7"},
    )
    try:
        opened = wait_for(
            lambda: _events(kafka_bootstrap, topic_prefix, 1),
            timeout=120,
            interval=1.0,
            description="an incident opened from the partial-day delivery",
        )
        assert [(e.action, e.series_id) for e in opened] == [("open", SERIES)]
        spike_day = datetime.combine(BILLING, datetime.min.time(), UTC) + timedelta(
            days=HISTORY_DAYS
        )
        assert opened[0].window_start == spike_day
        assert opened[0].window_end == spike_day + timedelta(hours=12)  # the hours it had
        assert opened[0].actual - opened[0].expected >= 25.0  # the daily dollar floor

        asyncio.run(h.produce(kafka_bootstrap, topic_prefix, [later]))
        events = wait_for(
            lambda: _events(kafka_bootstrap, topic_prefix, 2),
            timeout=120,
            interval=1.0,
            description="the next delivery's update",
        )
        assert [(e.action, e.incident_id) for e in events] == [
            ("open", opened[0].incident_id),
            ("update", opened[0].incident_id),
        ]
        assert events[1].window_end == spike_day + timedelta(hours=20)
        assert events[1].actual > opened[0].actual
    finally:
        h.stop(worker)
