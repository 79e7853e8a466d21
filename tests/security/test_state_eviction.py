"""Churning or forged metric streams cannot grow the anomaly service's state forever.

Anything that can write to the datapoint topic can invent resource ids, and
real fleets replace instances all the time. Trackers of streams silent past the
horizon (data time) are evicted and tombstoned on the real changelog topic, so
a restore after a restart does not bring them back; the live stream stays.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.anomaly.agents import MetricAgent
from services.anomaly.feedback.rules import FeedbackBook, FeedbackConfig
from services.anomaly.fleet.resource_tracker import FleetConfig
from services.anomaly.metric import MetricDetector, MetricDetectorConfig
from services.anomaly.state_codec import metric_state_codec
from services.anomaly.topics import METRIC_STATE
from shared.changelog import ChangelogStore
from shared.events import MetricDatapoint
from shared.kafka import make_producer
from tests.integration.anomaly.helpers import settings_for

pytestmark = pytest.mark.integration

NOW = datetime(2025, 3, 10, tzinfo=UTC)
PARTITION = 0


def _point(resource: str, at: datetime) -> MetricDatapoint:
    return MetricDatapoint(
        id=f"{resource}@{at.isoformat()}",
        resource_id=resource,
        account_id="111111111111",
        region="us-east-1",
        metric="CPUUtilization",
        timestamp=at,
        value=10.0,
    )


async def test_idle_streams_are_evicted_and_stay_evicted_after_restore(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    settings = settings_for(kafka_bootstrap, topic_prefix)
    raw = make_producer(settings)
    await raw.start()
    try:
        codec = metric_state_codec(MetricDetector(MetricDetectorConfig()))
        store = ChangelogStore(METRIC_STATE, settings, raw, codec)
        await store.ensure_topic()
        agent = MetricAgent(
            store,
            FleetConfig(),
            FeedbackBook(FeedbackConfig()),
            lambda: MetricDetector(MetricDetectorConfig()),
            idle_horizon=timedelta(days=7),
        )
        agent.now = NOW
        points = [_point(f"i-churned-{i}", NOW - timedelta(days=8)) for i in range(40)]
        points += [_point("i-forged", NOW + timedelta(days=3650)), _point("i-live", NOW)]
        for point in points:
            key = agent.state_key(point)
            state = agent.new_state(key, point)
            agent.apply(state, point)
            store.put(key, PARTITION, state)
        await store.flush()
        agent.pending()  # the loop calls this once per poll: the sweep runs here
        await store.flush()
        kept = {key for _, key, _ in store.items()}
        restored = ChangelogStore(METRIC_STATE, settings, raw, codec)
        await restored.restore([PARTITION])
    finally:
        await raw.stop()
    live, forged = "i-live", "i-forged"
    # The forged future point does not count as "now", so the live stream survives.
    assert kept == {live, forged}
    assert {key for _, key, _ in restored.items()} == {live, forged}
