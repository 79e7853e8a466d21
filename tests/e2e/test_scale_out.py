"""Two replicas each of anomaly and gateway; one of each dies mid-stream.

Every result must still arrive in the store exactly once: each anomaly
lifecycle event on the topic is stored once, no cause opens two incidents, and
recommendations and forecasts are all there.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg

from demo.pipeline import Pipeline, create_api_key, ingest_argv, running_system, simulate
from shared import topics
from shared.codec import decode
from shared.kafka import make_consumer
from shared.settings import SpendstreamSettings
from tests.e2e.conftest import E2E_MARKS, SMALL, Budget
from tests.harness.wait import wait_for

# The survivors wait out the dead members' sessions (Tansu: ~1.5 session
# timeouts) and then replay from the last commit: every wait below takes what
# is left of the test's one budget (E2E_TIMEOUT_S).
pytestmark = E2E_MARKS
REPLICAS = {"anomaly": 2, "gateway": 2}


def _topic_anomaly_ids(pipeline: Pipeline) -> set[str]:
    """Every distinct anomaly event id on the topic, read to its end."""
    settings = SpendstreamSettings(
        kafka_bootstrap_servers=pipeline.env["SPENDSTREAM_KAFKA_BOOTSTRAP_SERVERS"]
    )

    async def read() -> set[str]:
        consumer = make_consumer(settings, None, topics.ANOMALIES.full_name())
        await consumer.start()
        try:
            ids: set[str] = set()
            partitions = consumer.assignment()
            end = await consumer.end_offsets(list(partitions))
            while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    ids.update(decode(r.value, r.headers).id for r in records)
            return ids
        finally:
            await consumer.stop()

    return asyncio.run(read())


def _store(pipeline: Pipeline, query: str) -> list[tuple[Any, ...]]:
    dsn = pipeline.env["SPENDSTREAM_POSTGRES_DSN"]
    with psycopg.connect(dsn, options="-c search_path=gateway") as conn:
        return conn.execute(query).fetchall()


def test_results_exactly_once_after_losing_a_replica_of_each(
    stack_dir: Path, budget: Budget
) -> None:
    with running_system(stack_dir, replicas=REPLICAS) as pipeline:
        simulate(pipeline, SMALL)
        create_api_key(pipeline)
        cur, inventory, datapoints = ingest_argv(pipeline)
        feed = subprocess.Popen([sys.executable, "-m", "cli", *cur], env=pipeline.env)
        # Kill once results are flowing: some anomaly events already stored.
        wait_for(
            lambda: _store(pipeline, "select count(*) from anomaly_events")[0][0] > 0,
            timeout=budget.remaining(),
            interval=0.5,
            ignore=(psycopg.Error,),
            description="first anomaly events in the store",
        )
        pipeline.supervisor.kill("anomaly-1", signal.SIGKILL)
        pipeline.supervisor.kill("gateway-1", signal.SIGKILL)
        assert feed.wait(timeout=budget.remaining()) == 0
        for argv in (inventory, datapoints):
            subprocess.run(
                [sys.executable, "-m", "cli", *argv],
                env=pipeline.env,
                check=True,
                timeout=budget.remaining(),
            )

        def store_matches_topic() -> bool:
            for name in ("anomaly-2", "gateway-2"):
                child = pipeline.supervisor.children[name]
                assert child.alive(), f"{name} died; last log lines:\n{child.tail()}"
            on_topic = _topic_anomaly_ids(pipeline)
            stored = {row[0] for row in _store(pipeline, "select id from anomaly_events")}
            return bool(on_topic) and stored == on_topic

        wait_for(
            store_matches_topic,
            timeout=budget.remaining(),
            interval=2.0,
            description="every anomaly event on the topic stored",
        )
        reopened = _store(
            pipeline,
            "select series_id, window_start, count(*) from anomalies "
            "group by 1, 2 having count(*) > 1",
        )
        assert reopened == [], f"one cause opened several incidents: {reopened}"
        wait_for(
            lambda: (
                _store(pipeline, "select count(*) from recommendations")[0][0] > 0
                and _store(pipeline, "select count(*) from forecasts")[0][0] > 0
            ),
            timeout=budget.remaining(),
            interval=2.0,
            ignore=(psycopg.Error,),
            description="recommendations and forecasts stored",
        )
