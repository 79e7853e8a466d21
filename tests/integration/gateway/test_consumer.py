"""The consumer: everything lands, replaying from the beginning changes nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaProducer

from services.gateway.settings import GatewaySettings
from shared import topics
from shared.events import Event
from tests.harness.wait import wait_for_async
from tests.integration.gateway.helpers import (
    publish,
    records_consumed,
    running_gateway,
    snapshot,
)
from tests.unit.gateway import factories as f

pytestmark = pytest.mark.integration


def workload() -> list[tuple[str, Event, str]]:
    events: list[tuple[str, Event, str]] = []
    for i in range(20):
        inc = f"inc-{i}"
        for step, (action, rev) in enumerate((("open", 0), ("update", 1), ("resolve", 1))):
            e = f.anomaly(inc, action, rev, minute=i * 10 + step)
            events.append((topics.ANOMALIES.name, e, e.series_id))
        rec = f.recommendation(f"i-{i}", savings=float(i), regression=i % 7 == 0)
        events.append((topics.RECOMMENDATIONS.name, rec, rec.resource_id))
        cost = f.cost(day=i)
        events.append((topics.COSTS_DAILY.name, cost, f"{cost.series_id}@{cost.period_start}"))
    # A newer recommendation for i-0 supersedes the first one.
    newer = f.recommendation("i-0", savings=99.0, minute=5)
    events.append((topics.RECOMMENDATIONS.name, newer, newer.resource_id))
    fc = f.forecast("daily/111111111111")
    events.append((topics.FORECASTS.name, fc, fc.series_id))
    ba = f.budget_alert("ba-1")
    events.append((topics.BUDGET_ALERTS.name, ba, ba.series_id))
    for day, new in ((0, 380.0), (1, 900.0)):  # a late credit and late charges
        restated = f.restatement(new=new, day=day)
        events.append((topics.COSTS_RESTATEMENTS.name, restated, restated.series_id))
    # Redelivered by the producer: one row, one alert.
    events.append((topics.COSTS_RESTATEMENTS.name, restated, restated.series_id))
    dl = f.dead_letter(7)
    events.append((topics.COSTS_DAILY.dlq.name, dl, dl.id))
    return events


async def _send_garbage(settings: GatewaySettings) -> None:
    """A record without the codec's headers: the consumer must dead-letter it, not stall."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(
            topics.ANOMALIES.full_name(settings.topic_prefix), b"{not json", key=b"x"
        )
    finally:
        await producer.stop()


async def test_replay_from_the_beginning_leaves_tables_identical(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    events = workload()
    first = make_settings(gateway_run_consumer=True)
    # Stored: every event, plus the garbage record's dead letter (consumed from the DLQ).
    expected = len(events) + 1
    async with running_gateway(first) as gw:
        await publish(first, events)
        await _send_garbage(first)
        await wait_for_async(
            lambda: records_consumed(gw) >= expected, timeout=60, description="all events stored"
        )
        before = await snapshot(gw)
    assert len(before["anomalies"]) == 20
    assert {r[3] for r in before["anomalies"]} == {"resolved"}
    assert len(before["anomaly_events"]) == 60
    assert len(before["dead_letters"]) == 2  # the produced one and the garbage record
    assert len(before["restatements"]) == 2
    # 60 anomaly lifecycle changes + 3 regressions (i-0, i-7, i-14) + 1 budget alert
    # + 2 restatements.
    assert len(before["alert_outbox"]) == 66
    savings = {r[0]: r[6] for r in before["recommendations"]}
    assert savings["i-0"] == 99.0

    replay = make_settings(
        gateway_run_consumer=True, gateway_consumer_group=first.gateway_consumer_group + "-replay"
    )
    async with running_gateway(replay) as gw:
        await wait_for_async(
            lambda: records_consumed(gw) >= expected, timeout=60, description="replay done"
        )
        after = await snapshot(gw)
    assert after == before
