"""Hostile records on every topic the gateway consumes: dead-lettered, and nothing stops.

Anything that can write to Kafka can put any bytes on a result topic. Each test
produces hostile records of one kind (an integer storage cannot hold, NUL in
text, a key that is not UTF-8, a value of the wrong type) onto each consumed
topic, then a good record behind them on the same partition. Every hostile
record must reach the dead-letter topic with a reason (the gateway consumes
the dead-letter topics, so it shows up in ``dead_letters``), and every good
record must still be stored: the consumer neither retries forever nor skips.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from services.gateway.settings import GatewaySettings
from shared import topics
from shared.codec import encode
from shared.events import Event
from tests.harness.wait import wait_for_async
from tests.integration.gateway.helpers import RunningGateway, running_gateway
from tests.unit.gateway import factories as f

pytestmark = pytest.mark.integration

Body = dict[str, Any]
# Consumer-group join plus isolation of a rejected batch, on a loaded CI machine.
STORED_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Case:
    """One consumed topic: a good event per tag, and the table and key column it lands in."""

    topic: topics.Topic
    make: Callable[[str], Event]
    table: str
    column: str  # also the event's attribute holding that key


CASES = (
    Case(topics.ANOMALIES, lambda t: f.anomaly(f"inc-{t}"), "anomalies", "incident_id"),
    Case(topics.RECOMMENDATIONS, lambda t: f.recommendation(f"i-{t}"), "recommendations",
         "resource_id"),
    Case(topics.FORECASTS, lambda t: f.forecast(f"daily/{t}"), "forecasts", "series_id"),
    Case(topics.COSTS_DAILY, lambda t: f.cost(account=t), "costs_daily", "series_id"),
    Case(topics.BUDGET_ALERTS, lambda t: f.budget_alert(f"ba-{t}"), "budget_alerts",
         "incident_id"),
)  # fmt: skip


def _set(path: str, value: object) -> Callable[[Body], None]:
    """A mutation of the JSON body: ``a.0.b`` walks dicts and lists."""

    def mutate(body: Body) -> None:
        *parents, last = path.split(".")
        node: Any = body
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[int(last) if isinstance(node, list) else last] = value

    return mutate


@dataclass(frozen=True)
class Hostile:
    """What to do to a good record of a topic, and what its dead letter must say."""

    mutate: Callable[[Body], None] | None
    key: bytes | None
    reason: str


async def _produce(settings: GatewaySettings, records: list[tuple[str, bytes, Any, bytes]]) -> None:
    """Raw ``(topic, value, headers, key)`` records, all on partition 0 in this order."""
    producer = AIOKafkaProducer(**settings.kafka_client_kwargs())
    await producer.start()
    try:
        for topic, value, headers, key in records:
            await producer.send_and_wait(topic, value, key=key, headers=headers, partition=0)
    finally:
        await producer.stop()


def _record(settings: GatewaySettings, event: Event, hostile: Hostile | None, key: bytes) -> Any:
    body = event.model_dump(mode="json")
    if hostile is not None and hostile.mutate is not None:
        hostile.mutate(body)
    _, headers = encode(event, "hostile-producer")
    topic = topics.by_name(_topic_of(event)).full_name(settings.topic_prefix)
    # json, not orjson: orjson cannot even write an integer beyond 64 bits.
    return topic, json.dumps(body).encode(), headers, key


def _topic_of(event: Event) -> str:
    return next(c.topic.name for c in CASES if isinstance(event, c.topic.values))


async def _dead_letters(gw: RunningGateway) -> dict[str, list[str]]:
    async with gw.state.pool.acquire() as conn:
        rows = await conn.fetch("SELECT source_topic, reason FROM dead_letters")
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row["source_topic"], []).append(row["reason"])
    return found


async def _stored(gw: RunningGateway, case: Case, event: Event) -> bool:
    async with gw.state.pool.acquire() as conn:
        query = f"SELECT count(*) FROM {case.table} WHERE {case.column} = $1"  # names: constants
        return bool(await conn.fetchval(query, getattr(event, case.column)))


async def _assert_rejected_and_delivered(
    make_settings: Callable[..., GatewaySettings], hostile: dict[topics.Topic, Hostile]
) -> None:
    settings = make_settings(gateway_run_consumer=True)
    async with running_gateway(settings) as gw:
        records, good = [], []
        for case in CASES:
            bad = case.make("hostile")
            key = hostile[case.topic].key or b"111111111111"
            records.append(_record(settings, bad, hostile[case.topic], key))
            good.append((case, case.make("good")))
            records.append(_record(settings, good[-1][1], None, b"111111111111"))
        await _produce(settings, records)
        for case, event in good:
            await wait_for_async(
                lambda c=case, e=event: _stored(gw, c, e),
                timeout=STORED_TIMEOUT_S,
                description=f"the good record behind the hostile one on {case.topic.name}",
            )
        letters = await wait_for_async(
            lambda: _all_letters(gw, settings, hostile),
            timeout=STORED_TIMEOUT_S,
            description="a dead letter for every hostile record",
        )
    for topic, expected in hostile.items():
        reasons = letters[topic.full_name(settings.topic_prefix)]
        assert len(reasons) == 1, (topic.name, reasons)
        assert expected.reason in reasons[0], (topic.name, reasons)


async def _all_letters(
    gw: RunningGateway, settings: GatewaySettings, hostile: dict[topics.Topic, Hostile]
) -> dict[str, list[str]] | None:
    letters = await _dead_letters(gw)
    wanted = [t.full_name(settings.topic_prefix) for t in hostile]
    return letters if all(name in letters for name in wanted) else None


async def test_integers_storage_cannot_hold_are_dead_lettered(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    """An int column overflow used to be retried forever, stopping every tenant's results."""
    await _assert_rejected_and_delivered(
        make_settings,
        {
            topics.ANOMALIES: Hostile(_set("revision", 2**31), None, "revision"),
            topics.RECOMMENDATIONS: Hostile(_set("options.0.rank", 2**64), None, "rank"),
            topics.FORECASTS: Hostile(_set("history_days", 2**64), None, "history_days"),
            topics.COSTS_DAILY: Hostile(_set("line_items", 2**70), None, "line_items"),
            topics.BUDGET_ALERTS: Hostile(_set("revision", 2**62), None, "revision"),
        },
    )


async def test_nul_in_text_is_dead_lettered(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    """PostgreSQL text and jsonb refuse NUL: the record, and its dead letter, must not stall."""
    nul_key = b"111111111111\x00"
    rejected = "database rejected the record"
    await _assert_rejected_and_delivered(
        make_settings,
        {
            topics.ANOMALIES: Hostile(_set("service", "Amazon\x00EC2"), nul_key, rejected),
            topics.RECOMMENDATIONS: Hostile(_set("region", "us-east-1\x00"), nul_key, rejected),
            topics.FORECASTS: Hostile(_set("model", "pro\x00phet"), nul_key, rejected),
            topics.COSTS_DAILY: Hostile(_set("currency", "US\x00D"), nul_key, rejected),
            topics.BUDGET_ALERTS: Hostile(_set("reason", "over\x00budget"), nul_key, rejected),
        },
    )


async def test_keys_that_are_not_utf8_are_dead_lettered(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    """A bad key used to raise after the position moved: records behind it were skipped."""
    bad = Hostile(None, b"\xff\xfe-not-utf8", "record key is not UTF-8")
    await _assert_rejected_and_delivered(make_settings, {c.topic: bad for c in CASES})


async def test_values_of_the_wrong_type_are_dead_lettered(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    """The schema is the first wall: a string where a number belongs never reaches SQL."""
    await _assert_rejected_and_delivered(
        make_settings,
        {
            topics.ANOMALIES: Hostile(_set("revision", "two"), None, "revision"),
            topics.RECOMMENDATIONS: Hostile(
                _set("estimated_monthly_savings", "lots"), None, "estimated_monthly_savings"
            ),
            topics.FORECASTS: Hostile(_set("generated_at", "yesterday"), None, "generated_at"),
            topics.COSTS_DAILY: Hostile(_set("cost", {"usd": 1}), None, "cost"),
            topics.BUDGET_ALERTS: Hostile(_set("month", [2025, 3]), None, "month"),
        },
    )
