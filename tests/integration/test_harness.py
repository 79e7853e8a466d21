"""The session backends and the isolation fixtures every integration test relies on."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import asyncpg
import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.harness.backends import BackendProvider
from tests.harness.isolation import PgSchema
from tests.harness.wait import wait_for, wait_for_async

pytestmark = pytest.mark.integration

# Tansu (the embedded broker) completes a group join in about half the session
# timeout; 6 s is the smallest value Apache Kafka accepts by default.
SESSION_TIMEOUT_MS = 6_000
HEARTBEAT_INTERVAL_MS = 1_000
MESSAGES = 30


async def create_topic(bootstrap: str, name: str, partitions: int = 3) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        await admin.close()


async def test_aiokafka_round_trip_in_a_consumer_group(
    kafka_bootstrap: str, unique_topic: Callable[[str], str]
) -> None:
    topic = unique_topic("round-trip")
    await create_topic(kafka_bootstrap, topic)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(MESSAGES):
            await producer.send(topic, key=f"k{i % 5}".encode(), value=f"{i}".encode())
        await producer.flush()
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"{topic}-group",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=SESSION_TIMEOUT_MS,
        heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
    )
    received: list[tuple[bytes, int]] = []

    async def drained() -> bool:
        batches = await consumer.getmany(timeout_ms=200)
        received.extend((m.key, int(m.value)) for records in batches.values() for m in records)
        return len(received) >= MESSAGES

    await consumer.start()
    try:
        await wait_for_async(drained, description=f"{MESSAGES} records from {topic}")
        await consumer.commit()
    finally:
        await consumer.stop()

    assert sorted(v for _, v in received) == list(range(MESSAGES))
    for key in {k for k, _ in received}:
        values = [v for k, v in received if k == key]
        assert values == sorted(values), f"order within key {key!r} not kept"


def test_idempotence_probe_matches_the_broker(
    kafka_bootstrap: str, kafka_enable_idempotence: bool, backend_provider: BackendProvider
) -> None:
    # Tansu rejects aiokafka's InitProducerId; Apache Kafka accepts it. An
    # endpoint from the environment may be either, so it is not checked.
    expected = {"embedded": False, "testcontainers": True}.get(backend_provider.sources["kafka"])
    assert expected in (None, kafka_enable_idempotence)


def test_unique_topic_names_are_private_to_the_test(
    unique_topic: Callable[[str], str], topic_prefix: str
) -> None:
    name = unique_topic("orders")
    assert name.startswith(topic_prefix)
    assert name.endswith(".orders")
    assert name.startswith("test_unique_topic_names")


async def test_pg_schema_isolates_tables(postgres_dsn: str, pg_schema: PgSchema) -> None:
    conn = await asyncpg.connect(pg_schema.dsn)
    try:
        assert await conn.fetchval("select current_schema()") == pg_schema.name
        await conn.execute("create table items (id int primary key)")
        await conn.execute("insert into items values (1), (2)")
        assert await conn.fetchval("select count(*) from items") == 2
    finally:
        await conn.close()

    default = await asyncpg.connect(postgres_dsn)
    try:
        schema = await default.fetchval(
            "select table_schema from information_schema.tables where table_name = 'items'"
        )
    finally:
        await default.close()
    assert schema == pg_schema.name


def test_pg_schema_dsn_works_with_psycopg(pg_schema: PgSchema) -> None:
    with psycopg.connect(pg_schema.dsn) as conn:
        row = conn.execute("select current_schema()").fetchone()
    assert row == (pg_schema.name,)


def test_pg_schema_is_dropped_afterwards(postgres_dsn: str) -> None:
    from tests.harness.isolation import temporary_schema

    with temporary_schema(postgres_dsn, "dropped") as schema:
        pass
    with psycopg.connect(postgres_dsn) as conn:
        row = conn.execute(
            "select count(*) from pg_namespace where nspname = %s", (schema.name,)
        ).fetchone()
    assert row == (0,)


def test_wait_for_returns_the_first_truthy_value() -> None:
    answers = iter([None, 0, "ready"])
    assert wait_for(lambda: next(answers), interval=0) == "ready"


def test_wait_for_retries_ignored_errors() -> None:
    attempts = iter([KeyError("not yet"), KeyError("still not"), 7])

    def flaky() -> int:
        value = next(attempts)
        if isinstance(value, Exception):
            raise value
        return value

    assert wait_for(flaky, interval=0, ignore=(KeyError,)) == 7


def test_wait_for_timeout_says_what_it_waited_for() -> None:
    with pytest.raises(AssertionError, match=r"waiting for the moon; last value: False"):
        wait_for(lambda: False, timeout=0.1, interval=0.01, description="the moon")


async def test_wait_for_async_accepts_sync_and_async_predicates() -> None:
    token = uuid.uuid4().hex

    async def later() -> str:
        return token

    assert await wait_for_async(later) == token
    assert await wait_for_async(lambda: token) == token

    def broken() -> bool:
        raise ValueError("boom")

    with pytest.raises(AssertionError, match="last error: ValueError"):
        await wait_for_async(broken, timeout=0.1, interval=0.01, ignore=(ValueError,))
