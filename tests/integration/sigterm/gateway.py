"""Gateway: result topics in, PostgreSQL rows (and alert outbox entries) out.

The direct check of "nothing committed that was not processed": every
anomaly record below the consumer group's committed offsets must be a row.
After the restart every event is a row, and every lifecycle change is in the
alert outbox exactly once.
"""

from __future__ import annotations

import asyncio

import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared import topics
from shared.codec import decode
from shared.events import Event
from tests.harness.wait import wait_for
from tests.integration.gateway.helpers import SECRETS_KEY, publish
from tests.integration.sigterm.process import ServiceProcess
from tests.integration.sigterm.scenario import Context, Scenario
from tests.unit.gateway import factories as f

INCIDENTS = 1_000
ACTIONS = (("open", 0), ("update", 1), ("resolve", 1))
# The gateway's default consumer group; make_consumer prefixes it with the topic prefix.
GROUP = "gateway"


def workload() -> list[tuple[str, Event, str]]:
    """Three lifecycle events per incident, spread over accounts (and so partitions)."""
    events: list[tuple[str, Event, str]] = []
    for i in range(INCIDENTS):
        for step, (action, rev) in enumerate(ACTIONS):
            e = f.anomaly(f"inc-{i}", action, rev, account=f"{i % 7:012d}", minute=i * 10 + step)
            events.append((topics.ANOMALIES.name, e, e.series_id))
    return events


async def committed_ids(ctx: Context) -> set[str]:
    """Ids of the anomaly records below the gateway group's committed offsets."""
    name = topics.ANOMALIES.full_name(ctx.prefix)
    consumer = AIOKafkaConsumer(
        **ctx.settings().kafka_client_kwargs(),
        group_id=f"{ctx.prefix}{GROUP}",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        tps = [TopicPartition(name, p) for p in range(topics.ANOMALIES.partitions)]
        consumer.assign(tps)
        ends = {tp: (await consumer.committed(tp)) or 0 for tp in tps}
        await consumer.seek_to_beginning(*tps)
        ids: set[str] = set()
        remaining = {tp for tp in tps if ends[tp] > 0}
        while remaining:
            for tp, records in (await consumer.getmany(*remaining, timeout_ms=200)).items():
                for r in records:
                    if r.offset < ends[tp]:
                        ids.add(decode(r.value, r.headers, topics.ANOMALIES.values).id)
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        return ids
    finally:
        await consumer.stop()


class GatewaySigterm(Scenario):
    """3,000 anomaly lifecycle events waiting when the gateway starts consuming."""

    service = "gateway"
    needs_postgres = True

    def __init__(self) -> None:
        self.expected: set[str] = set()

    def _query(self, ctx: Context, sql: str) -> list[tuple[object, ...]]:
        assert ctx.schema is not None
        with psycopg.connect(ctx.schema.dsn, autocommit=True) as conn:
            return list(conn.execute(sql).fetchall())  # type: ignore[arg-type]  # fixed SQL

    def _stored(self, ctx: Context) -> set[str]:
        return {str(r[0]) for r in self._query(ctx, "SELECT id FROM anomaly_events")}

    def prepare(self, ctx: Context) -> dict[str, str]:
        events = workload()
        self.expected = {e.id for _, e, _ in events}
        asyncio.run(publish(ctx.settings(), events))  # type: ignore[arg-type]  # any settings
        return {"SPENDSTREAM_GATEWAY_SECRETS_KEY": SECRETS_KEY}

    def busy(self, ctx: Context) -> bool:
        try:
            return bool(self._stored(ctx))
        except psycopg.errors.UndefinedTable:
            return False  # migrations not applied yet

    def stopped(self, ctx: Context) -> None:
        lost = asyncio.run(committed_ids(ctx)) - self._stored(ctx)
        assert not lost, f"{len(lost)} anomaly events committed but not stored"
        print(f"gateway: {len(self._stored(ctx))} of {len(self.expected)} events stored at stop")

    def finished(self, ctx: Context, service: ServiceProcess) -> None:
        def all_stored() -> bool:
            service.alive()
            return self._stored(ctx) == self.expected

        wait_for(
            all_stored,
            timeout=self.finish_timeout_s,
            interval=0.5,
            description="every anomaly event stored",
        )
        statuses = self._query(ctx, "SELECT status, count(*) FROM anomalies GROUP BY status")
        assert statuses == [("resolved", INCIDENTS)]
        # event_id is unique in the outbox: one entry per lifecycle change, none missing.
        assert self._query(ctx, "SELECT count(*) FROM alert_outbox") == [(len(self.expected),)]
